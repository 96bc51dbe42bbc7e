// Content expiry (storage time): started by the `content-expiry` schedule. Plans the run (the cutoff is fixed
// once, so a resumed or continued run removes exactly the same set), then expires batch after batch: each batch
// one activity that removes, reads back and clears (lib/lifecycle/expiry.ts). A worker killed mid-batch is
// noticed by the heartbeat timeout and the batch is retried from the last cursor the workflow saw. The counts at
// the end are read from the rows (exact). Cancelling stops between batches. No audit entry: expiry is not erasure.
import { CancellationScope, CancelledFailure, ContinueAsNew, continueAsNew, isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { errorMessage } from '../shared/error-message.js';
import type { ContentExpiryInput, ContentExpiryResult, ExpiryCursorInput } from '../contracts/content-expiry.js';
import { trackRunStatus } from './shared/run-status.js';
import { JOB_KINDS } from '../contracts/search-attributes.js';

const work = proxyActivities<Activities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 20 },
});

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

const DEFAULTS = { batchSize: 500, batchesPerExecution: 200 };
const START: ExpiryCursorInput = { completedAt: '-infinity', id: '0' };

export async function contentExpiry(input: ContentExpiryInput = {}): Promise<ContentExpiryResult> {
  const runId = workflowInfo().workflowId;
  const batchSize = input.batchSize ?? DEFAULTS.batchSize;
  const status = trackRunStatus({ step: 'starting', progress: { done: input.resume?.done ?? 0, total: input.resume?.total ?? null }, counts: {} });
  let cutoff = input.resume?.cutoff ?? null;
  let storageDays: number | null = input.resume?.storageDays ?? null;
  if (!input.resume) {
    await bookkeeping.recordRunStart({ runId, type: JOB_KINDS.contentExpiry, name: 'Remove content past its storage time', objectName: 'Interaction content' });
  }
  try {
    if (!input.resume) {
      const plan = await bookkeeping.planContentExpiry();
      cutoff = plan.cutoff;
      storageDays = plan.storageDays;
      status.progress.total = plan.pending;
    }
    if (cutoff !== null) {
      status.setStep('expiring');
      let after = input.resume?.after ?? START;
      for (let batches = 0; ; batches++) {
        if (batches >= (input.batchesPerExecution ?? DEFAULTS.batchesPerExecution) || workflowInfo().continueAsNewSuggested) {
          await continueAsNew<typeof contentExpiry>({ ...input, resume: { cutoff, storageDays, after, done: status.progress.done, total: status.progress.total ?? 0 } });
        }
        // A batch in flight finishes even when a cancel arrives; the cancel is honoured right after it.
        const from = after;
        const batch = await CancellationScope.nonCancellable(() => work.expireContentBatch({ runId, cutoff: cutoff!, after: from, limit: batchSize }));
        if (batch.last === null) break;
        after = batch.last;
        status.progress.done += batch.processed;
        status.sizeBytes += batch.bytes;
        await CancellationScope.nonCancellable(() => bookkeeping.recordRunProgress({
          runId, step: 'expiring', done: status.progress.done, total: status.progress.total, sizeBytes: status.sizeBytes,
        }));
        if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('Content expiry cancelled between batches');
        if (batch.processed < batchSize) break;
      }
    }
    const counted = await bookkeeping.countContentExpired({ runId });
    const result: ContentExpiryResult = { cutoff, storageDays, ...counted };
    status.setStep('done');
    await bookkeeping.recordRunEnd({
      runId, status: 'completed', step: cutoff === null ? 'storage time not set: content is kept' : 'done', result,
      sizeBytes: counted.bytes, done: counted.expired, total: counted.expired,
    });
    return result;
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    const cancelled = isCancellation(err);
    await CancellationScope.nonCancellable(async () => {
      const counted = await bookkeeping.countContentExpired({ runId }).catch(() => undefined);
      await bookkeeping.recordRunEnd({
        runId, status: cancelled ? 'cancelled' : 'failed', error: cancelled ? 'cancelled' : errorMessage(err),
        result: { cutoff, ...counted }, sizeBytes: counted?.bytes, done: counted?.expired,
      }).catch(() => undefined);
    });
    throw err;
  }
}
