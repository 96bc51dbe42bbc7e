// The exclusions import (seed 000 task type "Import exclusions by account"): a file of blacklist entries read into
// the account's blacklist, bad lines reported and skipped. Account level: no campaign lock (entries reach locked
// campaigns as a single POST /blacklist does, see lib/blacklist/apply.ts). Recorded in runs like every job.
import { ActivityCancellationType, CancellationScope, isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createExclusionsImportActivities } from '../activities/exclusions-import.js';
import type { createRunActivities } from '../activities/runs.js';
import type { ExclusionsImportInput, ExclusionsImportResult } from '../contracts/exclusions-import.js';
import { trackRunStatus } from './shared/run-status.js';

type Activities = ReturnType<typeof createExclusionsImportActivities> & ReturnType<typeof createRunActivities>;

const quick = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '1s', maximumInterval: '30s' } });
const long = proxyActivities<Activities>({
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '20s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 20 },
});

const message = (err: unknown) => (err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err));

export async function exclusionsImport(input: ExclusionsImportInput): Promise<ExclusionsImportResult> {
  const runId = workflowInfo().workflowId;
  const status = trackRunStatus({ step: 'reading', counts: {} });
  await quick.recordExclusionsImportStart(runId, input);
  try {
    const result = await long.importExclusions(runId, input);
    const { linesRead, added, duplicates, rejected, phonesExcluded } = result;
    Object.assign(status.counts, { linesRead, added, duplicates, rejected, phonesExcluded });
    await quick.recordRunEnd({ runId, status: 'completed', step: 'finished', result, done: result.linesRead, total: result.linesRead });
    return result;
  } catch (err) {
    return await CancellationScope.nonCancellable(async () => {
      status.addError(message(err));
      await quick.recordRunEnd({ runId, status: isCancellation(err) ? 'cancelled' : 'failed', step: status.step, error: message(err) });
      throw err;
    });
  }
}
