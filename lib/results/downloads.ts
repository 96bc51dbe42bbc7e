// One-time campaign results download (seed 000, "One-time Campaign Results Download"): one run writes one
// file (CSV, or ZIP with the CSV in it) into the content store, downloadable by id for 30 days.
//
// * With `between`: the records closed (or, detailed-in-timeframe, the attempts completed) in [from, to).
// * Without: everything collected since this campaign's last download without `between` — by collection time,
//   (marker, run time], like incremental reports (lib/reports/watermarks.ts), so a record closed with an old
//   completion time but collected late is in the next download, never lost. The marker is locked, read and
//   moved in the transaction that saves the file: it moves only when a download completes, two downloads
//   take turns, and a cancelled or failed one moves nothing. The first such download covers everything.
import type { Sql } from '../../db/sql.js';
import type { ContentStore } from '../content-store/types.js';
import { assertRunStillOpen, cancellableOnAbort } from '../reports/run-guard.js';
import { waitForAttemptsCollectedBy } from '../reports/watermarks.js';
import { fileOfRun, insertResultsFile, lockRunFile, writeResultsFile, type FileProgress, type ResultsFile } from './files.js';
import type { ResultsQueryParams, ResultsRange } from './query.js';
import type { DownloadRequest, ResultsFormat } from '../../contracts/results.js';

/** Where the first download without `between` of a campaign starts: everything. */
export const BEGINNING = new Date('1970-01-01T00:00:00Z');


export interface DownloadInput {
  runId: string;
  request: DownloadRequest;
  campaignName: string;
  /** What a download without `between` covers up to (the run's start; fixed across retries). */
  runTime: Date;
  now: Date;
  signal?: AbortSignal;
}

/** A run's time up to the next whole second, so a range ends where its file name says and two runs started in
 *  the same second share one end (the second finds the range taken). Reading waits until the clock passes it. */
export const wholeSecondAfter = (d: Date) => new Date(Math.ceil(d.getTime() / 1000) * 1000);

export function downloadFileName(campaignName: string, format: ResultsFormat, runTime: Date, zip: boolean): string {
  const stamp = runTime.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const safe = campaignName.replace(/[^A-Za-z0-9 ._-]/g, '_').slice(0, 100);
  return `${safe}_results_${format}_${stamp}.${zip ? 'zip' : 'csv'}`;
}

async function claimMarker(tx: Parameters<typeof lockRunFile>[0], campaignId: string, runTime: Date): Promise<ResultsRange> {
  await tx`insert into results_download_markers (campaign_id, collected_through, last_run_id)
           values (${campaignId}, ${BEGINNING}, '') on conflict (campaign_id) do nothing`;
  const [row] = await tx<{ collected_through: Date }[]>`
    select collected_through from results_download_markers where campaign_id = ${campaignId} for update`;
  const from = row.collected_through;
  return { from, to: runTime > from ? runTime : from, by: 'collected' };
}

export async function generateDownload(
  deps: { sql: Sql; store: ContentStore; databaseUrl: string },
  input: DownloadInput,
  onProgress: (progress: FileProgress) => void = () => {},
): Promise<ResultsFile> {
  const done = await fileOfRun(deps.sql, input.runId);
  if (done) return done;
  const req = input.request;
  const runTime = wholeSecondAfter(input.runTime);
  const { signal } = input;
  if (!req.between) await waitForAttemptsCollectedBy(deps.sql, runTime, { onWait: () => { signal?.throwIfAborted(); } });
  // READ COMMITTED: the marker is locked first and the file's snapshot taken after it (snapshotResults), so a
  // download that waited for another sees that one's marker and nothing it covered.
  await deps.sql.begin('isolation level read committed', (tx) => cancellableOnAbort(deps.sql, tx, signal, async () => {
    await lockRunFile(tx, input.runId);
    if (await fileOfRun(deps.sql, input.runId)) return;
    const range: ResultsRange = req.between
      ? { from: new Date(req.between.from), to: new Date(req.between.to), by: 'closed' }
      : await claimMarker(tx, req.campaignId, runTime);
    const params: ResultsQueryParams = {
      campaignId: req.campaignId, format: req.format, listIds: req.listIds, dispositions: req.dispositions, range, timezone: req.timezone,
    };
    const csvName = downloadFileName(input.campaignName, req.format, runTime, false);
    const written = await writeResultsFile(deps, tx, { runId: input.runId, params, zip: req.zip, csvName }, onProgress);
    await assertRunStillOpen(tx, input.runId);
    await insertResultsFile(tx, {
      runId: input.runId, kind: 'download', campaignId: req.campaignId, format: req.format, written, now: input.now,
      fileName: downloadFileName(input.campaignName, req.format, runTime, req.zip), rangeKind: range.by, rangeStart: range.from, rangeEnd: range.to,
    });
    if (!req.between) {
      await tx`update results_download_markers set collected_through = ${range.to}, last_run_id = ${input.runId}, updated_at = now()
               where campaign_id = ${req.campaignId}`;
    }
  }));
  return (await fileOfRun(deps.sql, input.runId))!;
}
