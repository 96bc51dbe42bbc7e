// Job 1, periodic recording export (SPEC "Job 1"). One run: wait for the provider's window, then export the
// job's recordings after its watermark in batches (each batch one activity that advances the watermark in
// the same transaction as its record), stop when nothing is left or the window closes, upload the manifest.
// Long runs continue as new every few batches, carrying their totals, so the history stays small.
import {
  ApplicationFailure, CancellationScope, ContinueAsNew, continueAsNew, isCancellation, proxyActivities, sleep, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  EXPORT_FAILURES, type CarriedTotals, type RecordingExportInput, type RecordingExportResult,
} from './recording-export-shared.js';
import { trackRunStatus } from './shared/run-status.js';
import { JOB_KINDS } from './shared/search-attributes.js';

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

const transfer = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  // A batch heartbeats as bytes flow; a worker that dies mid-batch is noticed this quickly and the batch
  // is retried from the watermark (same names, so a file sent twice is overwritten, never duplicated).
  heartbeatTimeout: '15 seconds',
  retry: {
    initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 8,
    nonRetryableErrorTypes: Object.values(EXPORT_FAILURES),
  },
});

const DEFAULTS = { batchSize: 100, parallelism: 4, batchesPerExecution: 50 };

export async function recordingExport(input: RecordingExportInput): Promise<RecordingExportResult> {
  const runId = workflowInfo().workflowId;
  const options = { ...DEFAULTS, ...stripUndefined(input) };
  const totals: CarriedTotals = input.carried ?? { exported: 0, failed: 0, sizeBytes: 0, batches: 0, errors: [], total: null };
  const status = trackRunStatus({
    step: 'starting', progress: { done: totals.exported + totals.failed, total: totals.total },
    counts: { exported: totals.exported, failed: totals.failed }, sizeBytes: totals.sizeBytes, errors: [...totals.errors],
  });
  try {
    if (!input.carried) {
      const job = await quick.describeExportJob(input.definitionId);
      totals.total = job.pending;
      status.progress.total = job.pending;
      await quick.recordRunStart({
        runId, type: JOB_KINDS.recordingExport, name: job.name, objectName: job.campaignName,
        definitionId: input.definitionId, campaignId: job.campaignId, actingUser: input.triggeredBy ?? null,
      });
    }
    await waitForWindow(status);
    let stoppedBy: RecordingExportResult['stoppedBy'] = 'drained';
    let periodEnd: string | null = null;
    for (let batchesHere = 0; ; batchesHere++) {
      if (batchesHere >= options.batchesPerExecution || workflowInfo().continueAsNewSuggested) {
        return await continueAsNew<typeof recordingExport>({ ...input, carried: totals });
      }
      status.setStep('exporting');
      const batch = await transfer.exportRecordingBatch({
        definitionId: input.definitionId, runId, batchSize: options.batchSize, parallelism: options.parallelism,
      });
      addBatch(totals, status, batch);
      periodEnd = batch.lastCompletedAt ?? periodEnd;
      await quick.recordRunProgress({ runId, step: 'exporting', done: totals.exported + totals.failed, total: totals.total, sizeBytes: totals.sizeBytes });
      if (batch.windowClosed) { stoppedBy = 'window-closed'; break; }
      if (batch.drained) break;
    }
    status.setStep('uploading manifest');
    const manifest = await transfer.uploadExportManifest({
      definitionId: input.definitionId, runId, at: new Date().toISOString(), periodEnd,
    });
    const result: RecordingExportResult = {
      exported: totals.exported, failed: totals.failed, sizeBytes: totals.sizeBytes + manifest.sizeBytes,
      manifest: manifest.path, stoppedBy, errors: totals.errors,
    };
    status.setStep('done');
    await quick.recordRunEnd({
      runId, status: 'completed', step: stoppedBy === 'drained' ? 'done' : 'window closed', result,
      sizeBytes: result.sizeBytes, done: totals.exported + totals.failed, total: totals.exported + totals.failed,
      error: totals.failed ? `${totals.failed} recording(s) could not be exported; see the manifest` : null,
    });
    return result;
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    await recordFailure(runId, err, totals);
    throw err;
  }
}

/** Durably waits (a timer, no worker needed) until the provider's window is open. */
async function waitForWindow(status: ReturnType<typeof trackRunStatus>): Promise<void> {
  for (;;) {
    const window = await quick.checkExportWindow();
    if (window.open) return;
    status.setStep(`waiting for the export window (${window.window})`);
    await sleep(Math.max(1000, window.opensInMs));
  }
}

function addBatch(totals: CarriedTotals, status: ReturnType<typeof trackRunStatus>, batch: { exported: number; failed: number; sizeBytes: number; errors: string[] }) {
  totals.exported += batch.exported;
  totals.failed += batch.failed;
  totals.sizeBytes += batch.sizeBytes;
  totals.batches += 1;
  totals.errors = [...totals.errors, ...batch.errors].slice(-20);
  status.progress.done = totals.exported + totals.failed;
  status.counts.exported = totals.exported;
  status.counts.failed = totals.failed;
  status.sizeBytes = totals.sizeBytes;
  batch.errors.forEach((e) => status.addError(e));
}

async function recordFailure(runId: string, err: unknown, totals: CarriedTotals): Promise<void> {
  const cancelled = isCancellation(err);
  const message = cancelled ? 'cancelled' : errorText(err);
  // The run's end is recorded even while the workflow is being cancelled.
  await CancellationScope.nonCancellable(() => quick.recordRunEnd({
    runId, status: cancelled ? 'cancelled' : 'failed', error: message, sizeBytes: totals.sizeBytes,
    done: totals.exported + totals.failed, result: { exported: totals.exported, failed: totals.failed, errors: totals.errors },
  })).catch(() => undefined);
}

function errorText(err: unknown): string {
  if (err instanceof ApplicationFailure) return err.message;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
