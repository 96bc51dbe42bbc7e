// Whether a lock's holder (or a requester) is still open: the one question the whole campaign lock asks
// Temporal. A run that continued as new is followed to its latest execution; a run Temporal no longer knows is
// closed. The activities pass their own client (activity context), the API and the worker theirs.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';

/** Whether the run with this workflow id is still open in Temporal. */
export type IsRunOpen = (runId: string) => Promise<boolean>;

export function runOpenIn(client: Client): IsRunOpen {
  return async (runId) => {
    try {
      return (await client.workflow.getHandle(runId).describe()).status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  };
}

/** For callers that refuse work on a locked campaign: Temporal unreachable counts as open (refusing is safe). */
export function runOpenOrUnknownIn(client: Client): IsRunOpen {
  const isRunOpen = runOpenIn(client);
  return (runId) => isRunOpen(runId).catch(() => true);
}
