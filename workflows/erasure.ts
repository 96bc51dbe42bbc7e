// Job 4: erase the content of a confirmed preview, batch by batch, then read every erased item back.
// The audit log gets one entry when the erasure starts and one when it ends, whatever retries, worker
// crashes or cancellations happen in between. Cancelling stops between batches (a batch in flight
// finishes), and the end entry counts exactly what was erased.
import {
  CancellationScope, CancelledFailure, ContinueAsNew, continueAsNew, isCancellation, proxyActivities, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { ERASURE_FAILURES, type ErasureCounts, type ErasureInput, type ErasureOutcome, type ErasureResult } from './erasure-shared.js';
import { trackRunStatus } from './shared/run-status.js';
import { JOB_KINDS } from './shared/search-attributes.js';

const NON_RETRYABLE = Object.values(ERASURE_FAILURES);

const work = proxyActivities<Activities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', nonRetryableErrorTypes: NON_RETRYABLE },
});

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE },
});

// A long erasure continues as new before its history grows too big; the run record and the audit
// entries are keyed by the workflow id, which stays the same.
const BATCHES_PER_EXECUTION = 500;

const keepGoing = <T>(fn: () => Promise<T>) => CancellationScope.nonCancellable(fn);

export async function erasure(input: ErasureInput): Promise<ErasureResult> {
  const runId = workflowInfo().workflowId;
  const run = { runId, previewId: input.previewId, actor: input.actor, reason: input.reason, scope: input.scope };
  const resumed = input.resume;
  const status = trackRunStatus({
    step: resumed ? 'erasing' : 'starting', progress: { done: resumed?.done ?? 0, total: input.preview.items },
    counts: resumed?.counts ?? { erased: 0 }, sizeBytes: resumed?.sizeBytes ?? 0,
  });

  if (!resumed) {
    await keepGoing(() => bookkeeping.recordRunStart({
      runId, type: JOB_KINDS.erasure, name: 'Erase interaction content', objectName: input.campaignName,
      campaignId: input.scope.campaignId, actingUser: input.actor,
    }));
  }
  try {
    if (!resumed) {
      // Written before anything is destroyed, so the log always says an erasure was asked for.
      await keepGoing(() => bookkeeping.recordErasureRequested({ ...run, counts: { ...input.preview } }));
      await keepGoing(() => bookkeeping.checkErasurePreview({ runId, previewId: input.previewId }));
    }
    status.setStep('erasing');
    await eraseAllBatches(input, runId, status);
    status.setStep('verifying');
    await keepGoing(() => work.verifyErasure({ runId, previewId: input.previewId, requireAll: true }));
    const counts = await keepGoing(() => finish(run, 'completed', status));
    return { counts, verified: true };
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    const cancelled = isCancellation(err);
    await keepGoing(async () => {
      let outcome: ErasureOutcome = cancelled ? 'cancelled' : 'failed';
      let error = cancelled ? null : messageOf(err);
      if (cancelled) {
        // What was erased before the cancel must be gone for good too.
        try {
          await work.verifyErasure({ runId, previewId: input.previewId, requireAll: false });
        } catch (verifyErr) {
          outcome = 'failed';
          error = messageOf(verifyErr);
        }
      }
      if (error) status.addError(error);
      await finish(run, outcome, status, error);
    });
    throw err;
  }
}

type Status = ReturnType<typeof trackRunStatus>;

async function eraseAllBatches(input: ErasureInput, runId: string, status: Status): Promise<void> {
  let after = input.resume?.afterContentId ?? '0';
  for (let batches = 1; ; batches++) {
    // A batch runs to its end even when a cancel arrives; the cancel is honoured right after it.
    const batch = await keepGoing(() => work.eraseBatch({
      runId, previewId: input.previewId, actor: input.actor, afterContentId: after, limit: input.batchSize,
    }));
    if (batch.lastContentId === null) return;
    after = batch.lastContentId;
    status.progress.done += batch.processed;
    status.sizeBytes += batch.bytes;
    status.counts.erased += batch.erased;
    for (const [kind, n] of Object.entries(batch.erasedByKind)) status.counts[kind] = (status.counts[kind] ?? 0) + n;
    batch.problems.forEach((p) => status.addError(p));
    await keepGoing(() => bookkeeping.recordRunProgress({
      runId, step: 'erasing', done: status.progress.done, total: status.progress.total, sizeBytes: status.sizeBytes,
    }));
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('Erasure cancelled between batches');
    if (batches >= (input.batchesPerExecution ?? BATCHES_PER_EXECUTION) || workflowInfo().continueAsNewSuggested) {
      const resume = { afterContentId: after, done: status.progress.done, sizeBytes: status.sizeBytes, counts: status.counts };
      await continueAsNew<typeof erasure>({ ...input, resume });
    }
  }
}

/** Counts what the run erased (from the journal, so retried batches never count twice), then records
 *  the end in the audit log and in the run record. */
async function finish(
  run: { runId: string; previewId: string; actor: string; reason: string; scope: ErasureInput['scope'] },
  outcome: ErasureOutcome, status: Status, error: string | null = null,
): Promise<ErasureCounts> {
  status.setStep(outcome === 'completed' ? 'done' : outcome);
  const counts = await bookkeeping.countErased({ runId: run.runId });
  // A cancel before the first step: the requested entry still comes first in the log.
  await bookkeeping.recordErasureRequested({ ...run, counts: {} });
  await bookkeeping.recordErasureEnded({ ...run, outcome, counts, error });
  await bookkeeping.recordRunEnd({
    runId: run.runId, status: outcome, step: status.step, error, result: { counts, verified: outcome === 'completed' },
    sizeBytes: counts.bytes, done: status.progress.done, total: status.progress.total,
  });
  return counts;
}

function messageOf(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  return e?.cause?.message ?? e?.message ?? String(err);
}
