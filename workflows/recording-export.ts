// Job 1, periodic recording export (SPEC "Job 1"). One run: wait for the provider's window, then export the
// job's recordings after its watermark in batches (each batch one activity that advances the watermark in
// the same transaction as its record), stop when nothing is left or the window closes, upload the manifest.
// Long runs continue as new every few batches, carrying their totals, so the history stays small.
import {
  ActivityCancellationType, ApplicationFailure, CancellationScope, ContinueAsNew, continueAsNew, isCancellation, patched, proxyActivities,
  sleep, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { errorMessage } from '../shared/error-message.js';
import { stripUndefined } from '../shared/strip-undefined.js';
import {
  EXPORT_FAILURES, type CarriedTotals, type ManifestResult, type RecordingExportInput, type RecordingExportResult,
} from '../contracts/recording-export.js';
import { trackRunStatus } from './shared/run-status.js';
import { JOB_KINDS } from '../contracts/search-attributes.js';

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

const transfer = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  // On cancellation the workflow waits for the batch to stop: it finishes the files in flight and commits
  // them, so the manifest written afterwards lists every file that reached the destination.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  // A batch heartbeats as bytes flow; a worker that dies mid-batch is noticed this quickly and the batch
  // is retried from the watermark (same names, so a file sent twice is overwritten, never duplicated).
  heartbeatTimeout: '15 seconds',
  retry: {
    initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 8,
    nonRetryableErrorTypes: Object.values(EXPORT_FAILURES),
  },
});

/** The manifest of a failed or cancelled run: best effort, a few quick attempts, never blocking the run's end. */
const lastManifest = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3, nonRetryableErrorTypes: Object.values(EXPORT_FAILURES) },
});

const DEFAULTS = { batchSize: 100, parallelism: 4, batchesPerExecution: 50 };

// Since this patch (issue 19, storage time) the run's result counts the recordings that had expired before they
// could be sent (`expired`, from the export records like the other counts). Runs from before it return what
// they returned.
const EXPIRED_COUNT = 'recording-export-expired-count';

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
      definitionId: input.definitionId, runId, at: new Date().toISOString(), periodEnd, skipIfEmpty: false,
    });
    // The counts come from the export records (as the manifest does), not from the batches' results.
    const result: RecordingExportResult = {
      exported: manifest.exported, failed: manifest.failed, sizeBytes: manifest.recordingBytes + manifest.sizeBytes,
      manifest: manifest.path, stoppedBy, errors: totals.errors,
    };
    if (patched(EXPIRED_COUNT)) result.expired = manifest.expired ?? 0;
    status.setStep('done');
    await quick.recordRunEnd({
      runId, status: 'completed', step: stoppedBy === 'drained' ? 'done' : 'window closed', result,
      sizeBytes: result.sizeBytes, done: manifest.rows, total: manifest.rows,
      error: manifest.failed ? `${manifest.failed} recording(s) could not be exported; see the manifest` : null,
    });
    return result;
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    await CancellationScope.nonCancellable(async () => {
      const manifest = await uploadManifestOfUnfinishedRun(input.definitionId, runId);
      await recordFailure(runId, err, totals, manifest);
    });
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

/**
 * A failed or cancelled run still uploads the manifest of what it did export (read from the export records,
 * so files committed by the last, interrupted batch are in it too): no exported file is missing from every
 * manifest. Best effort: a destination that refuses us now gives no manifest, and the run's error says so.
 * Must be called inside a non-cancellable scope.
 */
async function uploadManifestOfUnfinishedRun(definitionId: string, runId: string): Promise<Partial<ManifestResult> & { error?: string }> {
  try {
    return await lastManifest.uploadExportManifest({ definitionId, runId, at: new Date().toISOString(), periodEnd: null, skipIfEmpty: true });
  } catch (err) {
    return { path: null, error: errorText(err) };
  }
}

async function recordFailure(runId: string, err: unknown, totals: CarriedTotals, manifest: Partial<ManifestResult> & { error?: string }): Promise<void> {
  const cancelled = isCancellation(err);
  const message = (cancelled ? 'cancelled' : errorText(err)) + (manifest.error ? `; the manifest could not be uploaded: ${manifest.error}` : '');
  const exported = manifest.exported ?? totals.exported;
  const failed = manifest.failed ?? totals.failed;
  const sizeBytes = manifest.recordingBytes === undefined ? totals.sizeBytes : manifest.recordingBytes + (manifest.sizeBytes ?? 0);
  // The run's end is recorded even while the workflow is being cancelled (the caller's scope is non-cancellable).
  await quick.recordRunEnd({
    runId, status: cancelled ? 'cancelled' : 'failed', error: message, sizeBytes, done: exported + failed,
    result: { exported, failed, errors: totals.errors, manifest: manifest.path ?? null },
  }).catch(() => undefined);
}

function errorText(err: unknown): string {
  if (err instanceof ApplicationFailure) return err.message;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return errorMessage(err);
}
