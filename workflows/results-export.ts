// One run of a periodic results export job (seed 000 "Periodic Export Jobs"; task type "Campaign results
// export"): write the file of the results collected since the previous run, then send it (and any earlier file
// of the job that has not reached the destination). The run's time is the schedule's time for a scheduled run
// and the start time for a manual one; fixed once, so retries and replays cover the same window.
import {
  ActivityCancellationType, CancellationScope, isCancellation, proxyActivities, workflowInfo,
} from '@temporalio/workflow';
import type { ResultsActivities } from '../activities/results.js';
import type { createRunActivities } from '../activities/runs.js';
import { SCHEDULED_START_TIME } from '../contracts/report.js';
import { RESULTS_EXPORT_KIND, type ResultsExportInput, type ResultsExportResult } from '../contracts/results.js';
import { trackRunStatus } from './shared/run-status.js';
import { failureMessage } from '../shared/error-message.js';

const runs = proxyActivities<ReturnType<typeof createRunActivities>>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 10 } });
const quick = proxyActivities<ResultsActivities>({ startToCloseTimeout: '1m', retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 } });
const LONG = {
  startToCloseTimeout: '2h',
  heartbeatTimeout: '10s',
  // A destination outage is retried for about an hour before the run fails (the file is then sent by the next run).
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 20 },
} as const;
const generating = proxyActivities<ResultsActivities>({ ...LONG, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED });
const sending = proxyActivities<ResultsActivities>(LONG);

function runTimeOf(input: ResultsExportInput): string {
  if (input.runTime) return input.runTime;
  const info = workflowInfo();
  return (info.typedSearchAttributes.get(SCHEDULED_START_TIME) ?? info.startTime).toISOString();
}

export async function resultsExport(input: ResultsExportInput): Promise<ResultsExportResult> {
  const runId = workflowInfo().workflowId;
  const runTime = runTimeOf(input);
  const status = trackRunStatus({ step: 'planning' });
  const plan = await quick.planResultsExport({ jobId: input.jobId });
  await runs.recordRunStart({
    runId, type: RESULTS_EXPORT_KIND, name: plan.name, objectName: plan.campaignName, definitionId: input.jobId,
    campaignId: plan.campaignId, actingUser: input.triggeredBy ?? null, scheduledAt: runTime,
  });
  try {
    status.setStep('generating');
    const file = await generating.generateResultsExport({ runId, jobId: input.jobId, runTime });
    if (file) {
      status.sizeBytes = file.sizeBytes;
      status.counts = { rows: file.rows, records: file.records };
      status.progress = { done: file.rows, total: file.rows };
    }
    status.setStep('sending');
    const sent = await sending.sendResultsExportFiles({ jobId: input.jobId });
    const result: ResultsExportResult = { ...(file ?? {}), exported: file !== null, sent };
    status.setStep(file ? 'done' : 'done (nothing new)');
    await runs.recordRunEnd({ runId, status: 'completed', step: status.step, result, sizeBytes: file?.sizeBytes ?? 0, done: file?.rows ?? 0, total: file?.rows ?? 0 });
    return result;
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => runs.recordRunEnd({ runId, status: 'cancelled', step: status.step, error: 'cancelled' }));
      throw err;
    }
    await runs.recordRunEnd({ runId, status: 'failed', step: status.step, error: failureMessage(err) });
    throw err;
  }
}
