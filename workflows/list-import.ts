// Job 3: import a calling list into a campaign under the campaign lock (seed 001 "Scheduled Contact List
// Import", "Manual Importing of Contact Records"). Waits for the scheduled time, then for the lock, stages
// the file, applies the rules in one transaction, writes the statistics log. The lock is released in a
// non-cancellable finally on success, failure and cancel; if the run is terminated (no code runs), the
// campaign's lock workflow sees the holder closed and frees it.
import {
  ActivityCancellationType, CancellationScope, isCancellation, patched, proxyActivities, setHandler, sleep, workflowInfo,
} from '@temporalio/workflow';
import type { createListImportActivities, StageSummary } from '../activities/list-import.js';
import type { createRunActivities } from '../activities/runs.js';
import { campaignLockRequester } from './campaign-lock-requester.js';
import { importProgressSignal, type ImportCounts, type ListImportInput, type ListImportResult } from '../contracts/list-import.js';
import { trackRunStatus } from './shared/run-status.js';

type Activities = ReturnType<typeof createListImportActivities> & ReturnType<typeof createRunActivities>;

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});
const long = proxyActivities<Activities>({
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '20s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 20 },
});

const message = (err: unknown) => (err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err));

export async function listImport(input: ListImportInput): Promise<ListImportResult> {
  const runId = workflowInfo().workflowId;
  const status = trackRunStatus({ step: input.scheduledAt ? 'scheduled' : 'waiting for campaign lock', counts: { rowsRead: 0, rejected: 0 } });
  const lock = campaignLockRequester(input.campaignId, { runId, type: 'import', actingUser: input.actingUser, wait: input.wait });
  setHandler(importProgressSignal, (progress) => {
    if (status.step !== 'reading') return;
    status.progress = { done: progress.bytesRead, total: progress.totalBytes };
    status.sizeBytes = progress.bytesRead;
    Object.assign(status.counts, { rowsRead: progress.rowsRead, rejected: progress.rejected });
  });

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
      status.addError(message(err));
      await quick.recordRunEnd({ runId, status: isCancellation(err) ? 'cancelled' : 'failed', step: status.step, error: message(err) });
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
