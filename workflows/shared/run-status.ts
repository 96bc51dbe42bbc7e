// What every run exposes while it works: a `runStatus` query (read by GET /runs/{runId} and the task
// views) and the shape of the run record the workflow keeps in the database through activities.
import { defineQuery, setHandler } from '@temporalio/workflow';

export interface RunProgress { done: number; total: number | null }

export interface RunStatus {
  step: string;
  progress: RunProgress;
  counts: Record<string, number>;
  sizeBytes: number;
  errors: string[];
}

export const runStatusQuery = defineQuery<RunStatus>('runStatus');

/** Registers the runStatus query and returns the live status object the workflow mutates. Keeps at most
 *  the last 20 error messages so the query result stays small. */
export function trackRunStatus(initial: Partial<RunStatus> = {}): RunStatus & {
  setStep(step: string): void;
  addError(message: string): void;
} {
  const status: RunStatus = {
    step: initial.step ?? 'starting',
    progress: initial.progress ?? { done: 0, total: null },
    counts: initial.counts ?? {},
    sizeBytes: initial.sizeBytes ?? 0,
    errors: initial.errors ?? [],
  };
  setHandler(runStatusQuery, () => status);
  return Object.assign(status, {
    setStep(step: string) { status.step = step; },
    addError(message: string) {
      status.errors.push(message);
      if (status.errors.length > 20) status.errors.shift();
    },
  });
}
