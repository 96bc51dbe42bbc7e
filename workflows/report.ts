// Job 2: one run of a report definition — generate the CSV (saved for 30 days), package it (ZIP, PGP) when
// asked, deliver it to every destination and e-mail recipient — and the daily removal of expired saved
// reports. The run's time (what an Incremental run covers up to) is the schedule's time for a scheduled run
// and the start time for a manual one; it is fixed once, so retries and replays cover the same window.
import {
  ActivityCancellationType, ApplicationFailure, CancellationScope, isCancellation, patched, proxyActivities, proxyLocalActivities, workflowInfo,
} from '@temporalio/workflow';
import type { ReportActivities } from '../activities/report.js';
import type { createRunActivities } from '../activities/runs.js';
import { trackRunStatus } from './shared/run-status.js';
import { failureMessage } from '../shared/error-message.js';
import { JOB_KINDS } from '../contracts/search-attributes.js';
import { SCHEDULED_START_TIME, type DeliveredFile, type ReportRunInput, type ReportRunResult } from '../contracts/report.js';

const runs = proxyActivities<ReturnType<typeof createRunActivities>>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 10 },
});
// Business failures are non-retryable (ApplicationFailure.nonRetryable in the activities); everything else is
// infrastructure — PostgreSQL restarting, a dropped connection — and is retried for about two and a half minutes,
// like the other jobs' short steps (five attempts gave up after 15 s of a database restart).
const QUICK_RETRY = { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 } as const;
const quick = proxyActivities<ReportActivities>({
  startToCloseTimeout: '1m',
  retry: QUICK_RETRY,
});
// The run's short database steps (reading the plan, writing the run record) as local activities: they run in
// the worker that runs the workflow task, so a run costs two workflow tasks and one activity task instead of
// five and four (each a round trip through the Temporal server). Same timeouts and attempts as above.
const localRuns = proxyLocalActivities<ReturnType<typeof createRunActivities>>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 10 },
});
const localQuick = proxyLocalActivities<ReportActivities>({
  startToCloseTimeout: '1m',
  retry: QUICK_RETRY,
});
/** Runs started before the local activities replay the activities they recorded. */
const LOCAL_RUN_STEPS = 'report-run-local-steps';

const LONG = {
  startToCloseTimeout: '2h',
  // Activities heartbeat every 3 s: a worker that dies is noticed, and its work retried, within 10 s.
  heartbeatTimeout: '10s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 8 },
} as const;
const long = proxyActivities<ReportActivities>(LONG);
// Generating commits the window (moves the watermark). A cancelled run waits until the activity has
// stopped (it sees the cancel on its next heartbeat and rolls back) before it records itself `cancelled`,
// so a run shown cancelled never commits its window afterwards. Runs started before this waited for nothing.
const generating = proxyActivities<ReportActivities>({ ...LONG, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED });
const GENERATE_WAITS_FOR_CANCEL = 'report-generate-waits-for-cancel';

function runTimeOf(input: ReportRunInput): string {
  if (input.runTime) return input.runTime;
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(SCHEDULED_START_TIME);
  return (scheduled ?? info.startTime).toISOString();
}

export async function reportRun(input: ReportRunInput): Promise<ReportRunResult> {
  const runId = workflowInfo().workflowId;
  const status = trackRunStatus({ step: 'planning' });
  const runTime = runTimeOf(input);
  const local = patched(LOCAL_RUN_STEPS);
  const steps = local ? localQuick : quick;
  const record = local ? localRuns : runs;
  const plan = await steps.planReportRun({ definitionId: input.definitionId });
  await record.recordRunStart({
    runId, type: JOB_KINDS.report, name: plan.name, objectName: plan.campaignName, definitionId: input.definitionId,
    campaignId: plan.campaignId, actingUser: input.triggeredBy ?? null, scheduledAt: runTime,
  });
  try {
    status.setStep('generating');
    const generate = patched(GENERATE_WAITS_FOR_CANCEL) ? generating : long;
    const report = await generate.generateReport({ runId, definitionId: input.definitionId, runTime });
    status.counts = { rows: report.rows, attempts: report.attempts, contacts: report.contacts };
    status.sizeBytes = report.sizeBytes;
    const result: ReportRunResult = {
      skipped: report.skipped, fileName: report.fileName, savedReportId: report.fileId, rows: report.rows, attempts: report.attempts,
      contacts: report.contacts, sizeBytes: report.sizeBytes, range: { start: report.start, end: report.end, incremental: report.incremental },
      delivered: [],
    };
    if (!report.skipped && report.fileId) result.delivered = await deliver(input.definitionId, runId, report.fileId, plan, status);
    status.setStep(report.skipped ? 'skipped (empty)' : 'done');
    await record.recordRunEnd({ runId, status: 'completed', step: status.step, result, sizeBytes: report.sizeBytes, done: report.rows, total: report.rows });
    return result;
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => record.recordRunEnd({ runId, status: 'cancelled', step: status.step, error: 'cancelled' }));
      throw err;
    }
    await record.recordRunEnd({ runId, status: 'failed', step: status.step, error: failureMessage(err) });
    throw err;
  }
}

type Plan = Awaited<ReturnType<ReportActivities['planReportRun']>>;

/** Every target is tried even when one fails; the run fails afterwards naming the targets that did not get it. */
async function deliver(definitionId: string, runId: string, csvFileId: string, plan: Plan, status: ReturnType<typeof trackRunStatus>): Promise<DeliveredFile[]> {
  let fileId = csvFileId;
  if (plan.packaged) {
    status.setStep('packaging');
    fileId = (await long.packageReport({ runId, definitionId, fileId: csvFileId })).fileId;
  }
  status.setStep('delivering');
  const targets: { name: string; send: () => Promise<DeliveredFile> }[] = [
    ...plan.destinationIds.map((destinationId) => ({ name: `destination ${destinationId}`, send: () => long.deliverReportToDestination({ fileId, destinationId }) })),
    ...(plan.emails.length ? [{ name: 'e-mail', send: () => long.emailReport({ fileId, definitionId }) }] : []),
  ];
  status.progress = { done: 0, total: targets.length };
  const outcomes = await Promise.allSettled(targets.map(async (t) => {
    const delivered = await t.send();
    status.progress.done++;
    return delivered;
  }));
  const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [`${targets[i].name}: ${failureMessage(o.reason)}`] : []));
  failed.forEach((f) => status.addError(f));
  const cancelled = outcomes.find((o) => o.status === 'rejected' && isCancellation(o.reason));
  if (cancelled) throw (cancelled as PromiseRejectedResult).reason;
  if (failed.length) {
    throw ApplicationFailure.nonRetryable(`The report was saved but ${failed.length} of ${targets.length} deliveries failed: ${failed.join('; ')}`, 'ReportDeliveryFailed');
  }
  return outcomes.map((o) => (o as PromiseFulfilledResult<DeliveredFile>).value);
}

/** Removes saved reports older than 30 days (content store objects and rows); run daily by a schedule. */
export async function reportRetention(): Promise<{ removed: number }> {
  const runId = workflowInfo().workflowId;
  await runs.recordRunStart({ runId, type: JOB_KINDS.report, name: 'Saved report retention', objectName: 'saved reports' });
  try {
    const result = await quick.removeExpiredReports();
    await runs.recordRunEnd({ runId, status: 'completed', step: 'done', result, done: result.removed, total: result.removed });
    return result;
  } catch (err) {
    if (!isCancellation(err)) await runs.recordRunEnd({ runId, status: 'failed', error: failureMessage(err) });
    else await CancellationScope.nonCancellable(() => runs.recordRunEnd({ runId, status: 'cancelled', error: 'cancelled' }));
    throw err;
  }
}
