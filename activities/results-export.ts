// Activities of the periodic results export: plan a run, write its file (claiming its window), send the job's
// files to its destination. The I/O lives in lib/results/.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { DestinationNotFoundError, openDestination } from '../lib/destinations.js';
import { isPermanentFailure } from '../lib/failures.js';
import { heartbeating } from '../lib/heartbeat.js';
import { RunClosedError } from '../lib/reports/run-guard.js';
import { loadResultsExportJob, type ResultsExportJob } from '../lib/results/export-jobs.js';
import { generateExportFile, sendExportFiles, type SentFile } from '../lib/results/exports.js';
import { removeExpiredResultsFiles } from '../lib/results/files.js';
import { TransferError } from '../lib/transfer/index.js';
import { RESULTS_FAILURES, type ResultsFileResult } from '../contracts/results.js';
import type { ActivityDeps } from './deps.js';
import { fileResult, progressRecorder } from './results-progress.js';

export function createResultsExportActivities(deps: ActivityDeps) {
  const { sql, store, databaseUrl, keyring } = deps;

  async function job(jobId: string): Promise<ResultsExportJob> {
    const found = await loadResultsExportJob(sql, jobId);
    if (!found) throw ApplicationFailure.nonRetryable(`Results export job ${jobId} does not exist (deleted?); nothing was exported.`, RESULTS_FAILURES.jobNotFound);
    return found;
  }

  return {
    async planResultsExport({ jobId }: { jobId: string }): Promise<{ name: string; campaignId: string; campaignName: string }> {
      const j = await job(jobId);
      return { name: j.name, campaignId: j.campaignId, campaignName: j.campaignName };
    },

    async generateResultsExport(input: { runId: string; jobId: string; runTime: string }): Promise<ResultsFileResult | null> {
      const j = await job(input.jobId);
      try {
        const file = await heartbeating((report) => generateExportFile({ sql, store, databaseUrl }, {
          runId: input.runId, job: j, runTime: new Date(input.runTime), now: deps.clock(), signal: Context.current().cancellationSignal,
        }, progressRecorder(deps, input.runId, report)));
        return file ? fileResult(file) : null;
      } catch (err) {
        if (err instanceof RunClosedError) throw ApplicationFailure.nonRetryable(err.message, RESULTS_FAILURES.runClosed);
        throw err;
      }
    },

    /** Transient destination faults are thrown as they are (retried with backoff); a refusal fails the run,
     *  and the file waits for the job's next run. */
    async sendResultsExportFiles({ jobId }: { jobId: string }): Promise<SentFile[]> {
      const j = await job(jobId);
      let transfer;
      try {
        transfer = await openDestination(sql, keyring, j.config.destinationId);
      } catch (err) {
        if (err instanceof DestinationNotFoundError) throw ApplicationFailure.nonRetryable(err.message, RESULTS_FAILURES.destinationNotFound);
        throw err;
      }
      try {
        const sent = await heartbeating(() => sendExportFiles({ sql, store }, jobId, transfer));
        await removeExpiredResultsFiles(sql, store, deps.clock()).catch(() => 0);
        return sent;
      } catch (err) {
        if (err instanceof TransferError && isPermanentFailure(err)) {
          throw ApplicationFailure.nonRetryable(`Destination ${j.config.destinationId} refused the results file (${err.stage}): ${err.message}; the next run sends it again`, RESULTS_FAILURES.deliveryRefused);
        }
        throw err;
      } finally {
        await transfer.close().catch(() => {});
      }
    },
  };
}
