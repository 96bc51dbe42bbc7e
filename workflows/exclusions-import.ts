// The exclusions import (seed 000 task type "Import exclusions by account"): a file of blacklist entries read into
// the account's blacklist, bad lines reported and skipped. Account level: no campaign lock (entries reach locked
// campaigns as a single POST /blacklist does, see lib/blacklist/apply.ts). Recorded in runs like every job.
import { CancellationScope, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { createExclusionsImportActivities } from '../activities/exclusions-import.js';
import type { createRunActivities } from '../activities/runs.js';
import type { ExclusionsImportInput, ExclusionsImportResult } from '../contracts/exclusions-import.js';
import { trackRunStatus } from './shared/run-status.js';
import { failureMessage } from '../shared/error-message.js';
import { listProcessActivities } from './shared/activity-options.js';

type Activities = ReturnType<typeof createExclusionsImportActivities> & ReturnType<typeof createRunActivities>;

const { quick, long } = listProcessActivities<Activities>();

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
      status.addError(failureMessage(err));
      await quick.recordRunEnd({ runId, status: isCancellation(err) ? 'cancelled' : 'failed', step: status.step, error: failureMessage(err) });
      throw err;
    });
  }
}
