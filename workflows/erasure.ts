// Job 4: erase the content of a confirmed preview, batch by batch, then read every erased item back.
// The audit log gets one entry when the erasure starts and one when it ends, whatever retries, worker
// crashes or cancellations happen in between. Cancelling stops between batches (a batch in flight
// finishes) or stops the read-back, and the end entry counts exactly what was erased. Every run ends:
// batches and the read-back have bounded attempts, and what could not be reached fails it (ErasureIncomplete).
import {
  ActivityFailure, ApplicationFailure, CancellationScope, CancelledFailure, ContinueAsNew, continueAsNew, isCancellation, patched,
  proxyActivities, TimeoutFailure, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  ERASE_ATTEMPTS, ERASURE_FAILURES, VERIFY_ATTEMPTS, type ErasureCounts, type ErasureInput, type ErasureOutcome, type ErasureResult,
} from '../contracts/erasure.js';
import { trackRunStatus } from './shared/run-status.js';
import { JOB_KINDS } from '../contracts/search-attributes.js';

const NON_RETRYABLE = Object.values(ERASURE_FAILURES);

// Bounded: on its last attempt a batch reports what it could not reach instead of failing (see ERASE_ATTEMPTS).
const work = proxyActivities<Activities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: ERASE_ATTEMPTS, nonRetryableErrorTypes: NON_RETRYABLE },
});

// The read-back heartbeats after every item with where it stands, so a retry resumes there.
const verification = proxyActivities<Activities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: VERIFY_ATTEMPTS, nonRetryableErrorTypes: NON_RETRYABLE },
});

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE },
});

// A long erasure continues as new before its history grows too big; the run record and the audit
// entries are keyed by the workflow id, which stays the same.
const BATCHES_PER_EXECUTION = 500;

// Since this patch fewer steps wait on each other: the requested entry and the preview check run
// together, the run record's progress is written while the next batch runs (not between batches), the
// batch that reaches the end of the preview is known to be the last (no empty batch after it), and the end
// is counted and audited in one activity. Histories from before it replay the old sequence.
const PIPELINED = 'erasure-pipelined-steps';

// Since this patch the verification can be cancelled (it only reads, so stopping it leaves nothing half
// done; the end entry says it was cancelled), its retries are bounded and a verification that cannot
// finish fails the run with ErasureIncomplete. Before it the verification was not cancellable.
const VERIFY_CANCELLABLE = 'erasure-verify-cancellable';

const keepGoing = <T>(fn: () => Promise<T>) => CancellationScope.nonCancellable(fn);

export async function erasure(input: ErasureInput): Promise<ErasureResult> {
  const runId = workflowInfo().workflowId;
  const run = { runId, previewId: input.previewId, actor: input.actor, reason: input.reason, scope: input.scope };
  const resumed = input.resume;
  const pipelined = patched(PIPELINED);
  let verifyCancellable = false;
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
      const requested = keepGoing(() => bookkeeping.recordErasureRequested({ ...run, counts: { ...input.preview } }));
      if (pipelined) {
        // The preview is checked meanwhile; both have ended before a batch starts (or the run fails).
        const ended = await Promise.allSettled([requested, keepGoing(() => bookkeeping.checkErasurePreview({ runId, previewId: input.previewId }))]);
        for (const step of ended) if (step.status === 'rejected') throw step.reason;
      } else {
        await requested;
        await keepGoing(() => bookkeeping.checkErasurePreview({ runId, previewId: input.previewId }));
      }
    }
    status.setStep('erasing');
    await eraseAllBatches(input, runId, status, pipelined);
    status.setStep('verifying');
    if (patched(VERIFY_CANCELLABLE)) {
      verifyCancellable = true;
      await verify({ runId, previewId: input.previewId, requireAll: true });
    } else {
      await keepGoing(() => work.verifyErasure({ runId, previewId: input.previewId, requireAll: true }));
    }
    const counts = await keepGoing(() => finish(run, 'completed', status, pipelined));
    return { counts, verified: true };
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    const cancelled = isCancellation(err);
    await keepGoing(async () => {
      let outcome: ErasureOutcome = cancelled ? 'cancelled' : 'failed';
      let error = cancelled ? null : messageOf(err);
      if (cancelled && verifyCancellable && status.step === 'verifying') {
        // The cancel stopped the read-back itself: everything was erased, not all of it was read back.
        error = 'Cancelled during verification: the erased items were not all read back.';
      } else if (cancelled) {
        // What was erased before the cancel must be gone for good too.
        try {
          const what = { runId, previewId: input.previewId, requireAll: false };
          await (verifyCancellable ? verify(what) : work.verifyErasure(what));
        } catch (verifyErr) {
          outcome = 'failed';
          error = messageOf(verifyErr);
        }
      }
      if (error) status.addError(error);
      await finish(run, outcome, status, pipelined, error);
    });
    throw err;
  }
}

type Status = ReturnType<typeof trackRunStatus>;

/**
 * Reads the erasure back. A verification that cannot finish within its attempts (a destination that
 * stays down or stalls) fails the run with ErasureIncomplete too, saying how far it got: nothing
 * unverified is ever reported as erased.
 */
async function verify(what: { runId: string; previewId: string; requireAll: boolean }): Promise<void> {
  try {
    await verification.verifyErasure(what);
  } catch (err) {
    if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
    const cause = err.cause;
    if (cause instanceof ApplicationFailure && cause.type === ERASURE_FAILURES.incomplete) throw err;
    const reached = cause instanceof TimeoutFailure ? (cause.lastHeartbeatDetails as { afterContentId?: string; remaining?: string[] } | undefined) : undefined;
    const where = reached?.afterContentId ? ` Items up to content id ${reached.afterContentId} were read back; those after it were not.` : '';
    const found = reached?.remaining?.length ? ` Found still holding content: ${reached.remaining.slice(0, 20).join(', ')}.` : '';
    throw ApplicationFailure.create({
      type: ERASURE_FAILURES.incomplete, nonRetryable: true, details: [{ remaining: reached?.remaining ?? [] }],
      message: `Erasure verification could not finish in ${VERIFY_ATTEMPTS} attempts (${faultKind(err)}).${where}${found} `
        + 'Fix the cause (is the destination of the exported copies reachable?), then erase again with a new preview.',
    });
  }
}

async function eraseAllBatches(input: ErasureInput, runId: string, status: Status, pipelined: boolean): Promise<void> {
  let after = input.resume?.afterContentId ?? '0';
  // The progress write of the previous batch, in flight while this one erases. Always awaited before the
  // next write and before leaving, so writes land in order and never after the run's end record.
  let progress: Promise<void> = Promise.resolve();
  try {
    for (let batches = 1; ; batches++) {
      // A batch runs to its end even when a cancel arrives; the cancel is honoured right after it.
      const from = after;
      const batch = await keepGoing(() => work.eraseBatch({
        runId, previewId: input.previewId, actor: input.actor, afterContentId: from, limit: input.batchSize,
      }).catch((err: unknown) => { throw batchGaveUp(err, from); }));
      if (batch.lastContentId === null) return;
      after = batch.lastContentId;
      status.progress.done += batch.processed;
      status.sizeBytes += batch.bytes;
      status.counts.erased += batch.erased;
      for (const [kind, n] of Object.entries(batch.erasedByKind)) status.counts[kind] = (status.counts[kind] ?? 0) + n;
      batch.problems.forEach((p) => status.addError(p));
      await progress;
      const update = { runId, step: 'erasing', done: status.progress.done, total: status.progress.total, sizeBytes: status.sizeBytes };
      progress = keepGoing(() => bookkeeping.recordRunProgress(update));
      if (!pipelined) await progress;
      if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('Erasure cancelled between batches');
      // A short batch reached the end of the preview; so did one that brought the count of items looked
      // at up to the previewed total (the frozen set only ever shrinks).
      if (pipelined && (batch.processed < input.batchSize || status.progress.done >= input.preview.items)) return;
      if (batches >= (input.batchesPerExecution ?? BATCHES_PER_EXECUTION) || workflowInfo().continueAsNewSuggested) {
        await progress;
        const resume = { afterContentId: after, done: status.progress.done, sizeBytes: status.sizeBytes, counts: status.counts };
        await continueAsNew<typeof erasure>({ ...input, resume });
      }
    }
  } finally {
    await progress;
  }
}

/** Counts what the run erased (from the journal, so retried batches never count twice), then records
 *  the end in the audit log and in the run record. */
async function finish(
  run: { runId: string; previewId: string; actor: string; reason: string; scope: ErasureInput['scope'] },
  outcome: ErasureOutcome, status: Status, pipelined: boolean, error: string | null = null,
): Promise<ErasureCounts> {
  status.setStep(outcome === 'completed' ? 'done' : outcome);
  let counts: ErasureCounts;
  if (pipelined) {
    counts = await bookkeeping.recordErasureEnd({ ...run, outcome, error });
  } else {
    counts = await bookkeeping.countErased({ runId: run.runId });
    // A cancel before the first step: the requested entry still comes first in the log.
    await bookkeeping.recordErasureRequested({ ...run, counts: {} });
    await bookkeeping.recordErasureEnded({ ...run, outcome, counts, error });
  }
  await bookkeeping.recordRunEnd({
    runId: run.runId, status: outcome, step: status.step, error, result: { counts, verified: outcome === 'completed' },
    sizeBytes: counts.bytes, done: status.progress.done, total: status.progress.total,
  });
  return counts;
}

/** A batch out of attempts (e.g. a destination that stalls on every one) ends the run as incomplete too:
 *  the failure type says what it means (only the run's failure changes, not its commands). */
function batchGaveUp(err: unknown, after: string): unknown {
  if (isCancellation(err) || !(err instanceof ActivityFailure)) return err;
  if (err.cause instanceof ApplicationFailure && err.cause.type && (NON_RETRYABLE as string[]).includes(err.cause.type)) return err;
  return ApplicationFailure.create({
    type: ERASURE_FAILURES.incomplete, nonRetryable: true,
    message: `Erasure stopped: the batch after content ${after} still failed after ${ERASE_ATTEMPTS} attempts (${faultKind(err)}); `
      + 'it and the rest of the preview still hold content. Fix the cause, then erase again with a new preview.',
  });
}

/** The kind of the last fault of an activity out of attempts (a timeout, an error type), never its message:
 *  an error's message can carry a copy's path, which may hold a phone number, and this goes to the audit log. */
function faultKind(err: ActivityFailure): string {
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) return cause.message;
  return cause instanceof ApplicationFailure && cause.type ? cause.type : cause?.name ?? 'error';
}

function messageOf(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  return e?.cause?.message ?? e?.message ?? String(err);
}
