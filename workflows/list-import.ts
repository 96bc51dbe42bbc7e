// Job 3: import a calling list into a campaign under the campaign lock (seed 001 "Scheduled Contact List
// Import", "Manual Importing of Contact Records"). Waits for the scheduled time, then for the lock, stages
// the file, applies the rules in one transaction, writes the statistics log. The lock is released in a
// non-cancellable finally on success, failure and cancel; if the run is terminated (no code runs), the
// campaign's lock workflow sees the holder closed and frees it.
import {
  CancellationScope, isCancellation, patched, setHandler, sleep, workflowInfo,
} from '@temporalio/workflow';
import type { createListImportActivities, StageSummary } from '../activities/list-import.js';
import type { createRunActivities } from '../activities/runs.js';
import { campaignLockRequester } from './campaign-lock-requester.js';
import { importProgressSignal, type ImportCounts, type ListImportInput, type ListImportResult } from '../contracts/list-import.js';
import { trackRunStatus } from './shared/run-status.js';
import { failureMessage } from '../shared/error-message.js';
import { listProcessActivities } from './shared/activity-options.js';

type Activities = ReturnType<typeof createListImportActivities> & ReturnType<typeof createRunActivities>;

const { quick, long } = listProcessActivities<Activities>();

// Since this patch (issue 12) a list import is not signalled with its progress: a long import's history no
// longer grows by one event a second toward Temporal's 50k-event limit.
const NO_PROGRESS_SIGNALS = 'list-import-no-progress-signals';

export async function listImport(input: ListImportInput): Promise<ListImportResult> {
  const runId = workflowInfo().workflowId;
  const status = trackRunStatus({ step: input.scheduledAt ? 'scheduled' : 'waiting for campaign lock', counts: { rowsRead: 0, rejected: 0 } });
  const lock = campaignLockRequester(input.campaignId, { runId, type: 'import', actingUser: input.actingUser, wait: input.wait });
  // Runs started before NO_PROGRESS_SIGNALS were sent an importProgress signal up to once a second while
  // reading (their histories hold them); they keep the handler so they replay as they ran. The stage
  // activity sends none any more: progress is in the runs row and the activity's heartbeats.
  if (!patched(NO_PROGRESS_SIGNALS)) {
    setHandler(importProgressSignal, (progress) => {
      if (status.step !== 'reading') return;
      status.progress = { done: progress.bytesRead, total: progress.totalBytes };
      status.sizeBytes = progress.bytesRead;
      Object.assign(status.counts, { rowsRead: progress.rowsRead, rejected: progress.rejected });
    });
  }

  const step = async (name: string) => {
    status.setStep(name);
    await quick.markImportStep(runId, name);
  };

  let staged: StageSummary | null = null;
  await quick.recordImportStart(runId, input);
  try {
    const wait = input.scheduledAt ? Date.parse(input.scheduledAt) - Date.now() : 0;
    if (wait > 0) await sleep(wait);

    await step('waiting for campaign lock');
    await lock.acquire();

    await step('reading');
    staged = await long.stageImport(runId, input);
    status.progress = { done: staged.bytesRead, total: staged.totalBytes };
    Object.assign(status.counts, { rowsRead: staged.rowsRead, rejected: staged.rejected });

    await step('applying');
    const counts = await long.applyImport(runId, input);
    Object.assign(status.counts, counts);

    await step('writing the statistics log');
    const result = await quick.writeImportLog(runId, input, staged, counts);
    await quick.recordRunEnd({ runId, status: 'completed', step: 'finished', result, done: staged.totalBytes ?? staged.bytesRead, total: staged.totalBytes });
    return result;
  } catch (err) {
    return await CancellationScope.nonCancellable(async () => {
      // A cancel that arrives after the rules were committed does not undo them: report what happened.
      const applied = isCancellation(err) ? await quick.importOutcome(runId) : null;
      if (applied) {
        // The import is complete: its statistics log is written as for any completed import.
        const result = staged && patched('log-after-late-cancel')
          ? await quick.writeImportLog(runId, input, staged, applied)
          : lateResult(applied, status.counts.rowsRead ?? 0);
        await quick.recordRunEnd({ runId, status: 'completed', step: 'finished', result });
        return result;
      }
      status.addError(failureMessage(err));
      await quick.recordRunEnd({ runId, status: isCancellation(err) ? 'cancelled' : 'failed', step: status.step, error: failureMessage(err) });
      throw err;
    });
  } finally {
    await CancellationScope.nonCancellable(async () => {
      await quick.cleanupImport(runId);
      await lock.release();
    });
  }
}

function lateResult(counts: Omit<ImportCounts, 'rowsRead'>, rowsRead: number): ListImportResult {
  return {
    ...counts, rowsRead, file: '', encoding: '', rejectedRows: [], logKey: null, logLocation: null, startedAt: '', finishedAt: '',
  };
}
