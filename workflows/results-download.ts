// One-time campaign results download (seed 000): write the file (CSV or ZIP) into the content store and end
// with its id; cancellable — a cancelled run waits until the activity has rolled back, so it never moves the
// "last download" marker after it shows cancelled. The run time (what a download without `between` covers up
// to) is the workflow's start, fixed across retries and replays.
import {
  ActivityCancellationType, CancellationScope, isCancellation, proxyActivities, workflowInfo,
} from '@temporalio/workflow';
import type { ResultsActivities } from '../activities/results.js';
import type { createRunActivities } from '../activities/runs.js';
import { trackRunStatus } from './shared/run-status.js';
import { failureMessage } from '../shared/error-message.js';
import { RESULTS_DOWNLOAD_KIND, type ResultsDownloadInput, type ResultsFileResult } from '../contracts/results.js';

const runs = proxyActivities<ReturnType<typeof createRunActivities>>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 10 } });
const generating = proxyActivities<ResultsActivities>({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 8 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

export async function resultsDownload(input: ResultsDownloadInput): Promise<ResultsFileResult> {
  const info = workflowInfo();
  const runId = info.workflowId;
  const runTime = info.startTime.toISOString();
  const status = trackRunStatus({ step: 'generating' });
  await runs.recordRunStart({
    runId, type: RESULTS_DOWNLOAD_KIND, name: 'Campaign results download', objectName: input.campaignName,
    campaignId: input.request.campaignId, actingUser: input.triggeredBy ?? null, scheduledAt: runTime,
  });
  try {
    const file = await generating.generateResultsDownload({ runId, request: input.request, campaignName: input.campaignName, runTime });
    status.sizeBytes = file.sizeBytes;
    status.counts = { rows: file.rows, records: file.records };
    status.progress = { done: file.rows, total: file.rows };
    status.setStep('done');
    await runs.recordRunEnd({ runId, status: 'completed', step: 'done', result: file, sizeBytes: file.sizeBytes, done: file.rows, total: file.rows });
    return file;
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => runs.recordRunEnd({ runId, status: 'cancelled', step: status.step, error: 'cancelled' }));
      throw err;
    }
    await runs.recordRunEnd({ runId, status: 'failed', step: status.step, error: failureMessage(err) });
    throw err;
  }
}
