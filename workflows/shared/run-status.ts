// The live status every workflow keeps for the `runStatus` query (its contract: contracts/run-status.ts).
import { setHandler } from '@temporalio/workflow';
import { runStatusQuery, type RunStatus } from '../../contracts/run-status.js';

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
