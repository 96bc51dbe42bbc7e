// Activities of the campaign results jobs: write a one-time download's file, write a results export run's file
// (claiming its window), send export files to the job's destination, remove expired results files. The I/O
// lives in lib/results/.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { heartbeating } from '../lib/heartbeat.js';
import { RunClosedError } from '../lib/reports/run-guard.js';
import { generateDownload } from '../lib/results/downloads.js';
import { removeExpiredResultsFiles } from '../lib/results/files.js';
import { RESULTS_FAILURES, type DownloadRequest, type ResultsFileResult } from '../contracts/results.js';
import { fileResult, progressRecorder } from './results-progress.js';
import type { ActivityDeps } from './deps.js';
import { createResultsExportActivities } from './results-export.js';

export function createResultsActivities(deps: ActivityDeps) {
  const { sql, store, databaseUrl } = deps;
  // Results files are removed 30 days after they were written by the runs that write them: each download and
  // each export run ends by sweeping what has expired (best effort; the next run retries what failed).
  const sweepExpired = () => removeExpiredResultsFiles(sql, store, deps.clock()).catch(() => 0);
  return {
    async generateResultsDownload(input: { runId: string; request: DownloadRequest; campaignName: string; runTime: string }): Promise<ResultsFileResult> {
      try {
        const file = await heartbeating((report) => generateDownload({ sql, store, databaseUrl }, {
          runId: input.runId, request: input.request, campaignName: input.campaignName, runTime: new Date(input.runTime), now: deps.clock(),
          signal: Context.current().cancellationSignal,
        }, progressRecorder(deps, input.runId, report)));
        await sweepExpired();
        return fileResult(file);
      } catch (err) {
        if (err instanceof RunClosedError) throw ApplicationFailure.nonRetryable(err.message, RESULTS_FAILURES.runClosed);
        throw err;
      }
    },

    async removeExpiredResultsFiles(): Promise<{ removed: number }> {
      return { removed: await removeExpiredResultsFiles(sql, store, deps.clock()) };
    },

    ...createResultsExportActivities(deps),
  };
}

export type ResultsActivities = ReturnType<typeof createResultsActivities>;
