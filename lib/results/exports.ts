// One run of a periodic results export job: exactly the results since the previous run — no gap, no overlap,
// nothing twice — across crashes, retries, concurrent runs and late-arriving attempts.
//
// * Windows are by collection time, (watermark, run time], as incremental reports (lib/reports/watermarks.ts):
//   a record belongs to the window in which its closing attempt was collected, an attempt (detailed-in-
//   timeframe) to the window in which it was collected, so an attempt arriving late with an old completion
//   time falls in the next window. Before reading, the run waits for every transaction that was writing
//   attempts once the clock passed its run time (waitForAttemptsCollectedBy).
// * One watermark per job (results_export_watermarks), locked, read and moved in the transaction that saves
//   the run's file (results_files): two runs started together take turns; the second covers (end of the
//   first, its time], or nothing when its time is not past it (then it sends no file). The run time is rounded
//   up to a whole second, so each file name (its window end to the second) is unique within the job.
// * Sending comes after: every saved file of the job not yet at the destination, oldest first, each under a
//   row lock held while it is put (a put writes a temporary name and renames, so a retry after a crash or a
//   second sender overwrites the same name with the same bytes: the destination gets the file once). A file
//   whose sending failed for good is sent by the job's next run.
import type { Sql } from '../../db/sql.js';
import type { ContentStore } from '../content-store/types.js';
import type { Transfer } from '../transfer/types.js';
import { assertRunStillOpen, cancellableOnAbort } from '../reports/run-guard.js';
import { waitForAttemptsCollectedBy } from '../reports/watermarks.js';
import { wholeSecondAfter } from './downloads.js';
import { exportFilePath, type ResultsExportJob } from './export-jobs.js';
import { fileOfRun, insertResultsFile, lockRunFile, writeResultsFile, type FileProgress, type ResultsFile } from './files.js';
import type { ResultsQueryParams } from './query.js';

export interface ExportInput { runId: string; job: ResultsExportJob; runTime: Date; now: Date; signal?: AbortSignal }

/** The run's file, or undefined when another run had already covered up to this run's time. */
export async function generateExportFile(
  deps: { sql: Sql; store: ContentStore; databaseUrl: string },
  input: ExportInput,
  onProgress: (progress: FileProgress) => void = () => {},
): Promise<ResultsFile | undefined> {
  const done = await fileOfRun(deps.sql, input.runId);
  if (done) return done;
  const { job, signal } = input;
  const runTime = wholeSecondAfter(input.runTime);
  await waitForAttemptsCollectedBy(deps.sql, runTime, { onWait: () => signal?.throwIfAborted() });
  await deps.sql.begin('isolation level read committed', (tx) => cancellableOnAbort(deps.sql, tx, signal, async () => {
    await lockRunFile(tx, input.runId);
    if (await fileOfRun(deps.sql, input.runId)) return;
    await tx`insert into results_export_watermarks (job_id, collected_through, last_run_id)
             values (${job.id}, ${new Date(job.config.schedule.startAt)}, '') on conflict (job_id) do nothing`;
    const [mark] = await tx<{ collected_through: Date }[]>`
      select collected_through from results_export_watermarks where job_id = ${job.id} for update`;
    const from = mark.collected_through;
    if (runTime <= from) return; // covered by a run that started with or after this one
    const zone = job.config.timezone ?? job.campaignTimezone;
    const params: ResultsQueryParams = {
      campaignId: job.campaignId, format: job.config.format, listIds: job.config.listIds, dispositions: job.config.dispositions,
      range: { from, to: runTime, by: 'collected' }, timezone: zone,
    };
    const remotePath = exportFilePath(job.config.path, runTime, zone);
    const fileName = remotePath.slice(remotePath.lastIndexOf('/') + 1);
    const written = await writeResultsFile(deps, tx, { runId: input.runId, params, zip: false, csvName: fileName }, onProgress);
    await assertRunStillOpen(tx, input.runId);
    await insertResultsFile(tx, {
      runId: input.runId, kind: 'export', campaignId: job.campaignId, jobId: job.id, format: job.config.format, fileName, written,
      rangeKind: 'collected', rangeStart: from, rangeEnd: runTime, now: input.now, remotePath,
    });
    await tx`update results_export_watermarks set collected_through = ${runTime}, last_run_id = ${input.runId}, updated_at = now()
             where job_id = ${job.id}`;
  }));
  return fileOfRun(deps.sql, input.runId);
}

export interface SentFile { fileName: string; path: string }

/** Sends the job's saved files not yet at the destination, oldest first; returns those this call sent. */
export async function sendExportFiles(deps: { sql: Sql; store: ContentStore }, jobId: string, transfer: Transfer): Promise<SentFile[]> {
  const sent: SentFile[] = [];
  for (;;) {
    const file = await deps.sql.begin(async (tx) => {
      // One file at a time under its row lock; a file another sender holds is skipped (it is being sent).
      const [row] = await tx<{ id: string; store_key: string; file_name: string; remote_path: string; size_bytes: string }[]>`
        select id::text, store_key, file_name, remote_path, size_bytes from results_files
        where job_id = ${jobId} and kind = 'export' and sent_at is null
        order by range_end, id limit 1 for update skip locked`;
      if (!row) return undefined;
      await transfer.put(row.remote_path, await deps.store.get(row.store_key), { sizeBytes: Number(row.size_bytes), contentType: 'text/csv' });
      await tx`update results_files set sent_at = clock_timestamp() where id = ${row.id}`;
      return { fileName: row.file_name, path: row.remote_path };
    });
    if (!file) return sent;
    sent.push(file);
  }
}
