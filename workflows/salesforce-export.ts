// Periodic Salesforce export. One run: record its start, send the job's results not yet sent in slices (each an
// activity sending chunks of ≤200 records and committing each chunk with the watermark), then record the end
// with the counts and every per-record error by its record's key. Long runs continue as new, carrying totals.
import { ApplicationFailure, CancellationScope, ContinueAsNew, continueAsNew, isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { errorMessage } from '../shared/error-message.js';
import {
  MAX_REPORTED_ERRORS, SALESFORCE_EXPORT_KIND, SALESFORCE_FAILURES, type SalesforceExportInput, type SalesforceExportResult,
  type SalesforceExportTotals, type SliceResult,
} from '../contracts/salesforce-export.js';
import { trackRunStatus } from './shared/run-status.js';

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes: Object.values(SALESFORCE_FAILURES) },
});

const sending = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  // A slice heartbeats after every chunk; a worker that dies mid-slice is noticed this quickly and the slice is
  // retried: committed chunks stay sent, the chunk in flight is resolved by the ledger.
  heartbeatTimeout: '30 seconds',
  // Transient Salesforce errors (5xx, REQUEST_LIMIT_EXCEEDED, a session that could not be renewed) back off.
  retry: {
    initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 12,
    nonRetryableErrorTypes: Object.values(SALESFORCE_FAILURES),
  },
});

const DEFAULTS = { chunkSize: 200, sliceMs: 60_000 };
const SLICES_PER_EXECUTION = 100;

export async function salesforceExport(input: SalesforceExportInput): Promise<SalesforceExportResult> {
  const runId = workflowInfo().workflowId;
  const options = { ...DEFAULTS, chunkSize: input.chunkSize ?? DEFAULTS.chunkSize, sliceMs: input.sliceMs ?? DEFAULTS.sliceMs };
  const totals: SalesforceExportTotals & { pending?: number; truncated?: number } = input.carried
    ?? { sent: 0, created: 0, updated: 0, failed: 0, unknown: 0, chunks: 0, errors: [] };
  const status = trackRunStatus({ step: 'starting', progress: { done: totals.sent + totals.failed, total: null }, counts: { sent: totals.sent, failed: totals.failed }, errors: [] });
  let windowEnd = input.windowEnd ?? '';
  try {
    if (!input.carried) {
      const job = await quick.describeSalesforceJob(input.definitionId);
      windowEnd = job.windowEnd;
      await quick.recordRunStart({
        runId, type: SALESFORCE_EXPORT_KIND, name: job.name, objectName: job.campaignName,
        definitionId: input.definitionId, campaignId: job.campaignId, actingUser: input.triggeredBy ?? null,
      });
    }
    for (let slices = 0; ; slices++) {
      if (slices >= SLICES_PER_EXECUTION || workflowInfo().continueAsNewSuggested) {
        return await continueAsNew<typeof salesforceExport>({ ...input, carried: totals, windowEnd });
      }
      status.setStep('sending');
      const slice = await sending.exportSalesforceSlice({ definitionId: input.definitionId, runId, chunkSize: options.chunkSize, sliceMs: options.sliceMs, windowEnd });
      add(totals, slice);
      status.progress.done = totals.sent + totals.failed + totals.unknown;
      status.counts.sent = totals.sent;
      status.counts.failed = totals.failed + totals.unknown;
      await quick.recordRunProgress({ runId, step: 'sending', done: status.progress.done, total: status.progress.total });
      if (slice.drained) break;
    }
    // The counts and errors come from the ledger: exact even when a slice committed chunks and then failed.
    const result = { ...(await quick.summarizeSalesforceRun({ definitionId: input.definitionId, runId })), chunks: totals.chunks };
    const bad = result.failed + result.unknown;
    status.setStep('done');
    await quick.recordRunEnd({
      runId, status: 'completed', step: 'done', result, done: result.sent + bad, total: result.sent + bad,
      error: bad ? `${bad} record(s) were not accepted by Salesforce; see the run's result (errors by record key)` : null,
    });
    return result;
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    await CancellationScope.nonCancellable(async () => {
      const result = await quick.summarizeSalesforceRun({ definitionId: input.definitionId, runId })
        .then((summary) => ({ ...summary, chunks: totals.chunks })).catch(() => resultOf(totals));
      await quick.recordRunEnd({
        runId, status: isCancellation(err) ? 'cancelled' : 'failed', error: isCancellation(err) ? 'cancelled' : errorText(err),
        result, done: result.sent + result.failed + result.unknown,
      }).catch(() => undefined);
    });
    throw err;
  }
}

function add(totals: SalesforceExportTotals & { truncated?: number }, slice: SliceResult): void {
  totals.sent += slice.sent;
  totals.created += slice.created;
  totals.updated += slice.updated;
  totals.failed += slice.failed;
  totals.unknown += slice.unknown;
  totals.chunks += slice.chunks;
  const room = MAX_REPORTED_ERRORS - totals.errors.length;
  totals.errors.push(...slice.errors.slice(0, Math.max(0, room)));
  totals.truncated = (totals.truncated ?? 0) + Math.max(0, slice.errors.length - Math.max(0, room));
}

function resultOf(totals: SalesforceExportTotals & { truncated?: number }): SalesforceExportResult {
  const { sent, created, updated, failed, unknown, chunks, errors } = totals;
  return { sent, created, updated, failed, unknown, chunks, errors, errorsTruncated: totals.truncated ?? 0 };
}

function errorText(err: unknown): string {
  if (err instanceof ApplicationFailure) return err.message;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return errorMessage(err);
}
