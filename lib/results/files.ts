// The files of campaign results runs (downloads and export runs): results_files and results_pending_objects,
// owned here. A run's file goes under a content-store key fixed by its run id, so a retry after a crash
// overwrites what the dead attempt wrote instead of orphaning it; the attempts of one run take turns under a
// transaction-scoped advisory lock; the object is noted pending (committed) before it is written and the note
// goes in the transaction that saves its row, so an object whose row never commits is found by the retention.
import { createHash } from 'node:crypto';
import { PassThrough, pipeline, Transform, type Readable } from 'node:stream';
import type postgres from 'postgres';
import type { Sql } from '../../db/sql.js';
import type { ContentStore } from '../content-store/types.js';
import { zipStream } from '../reports/package.js';
import { resultsCsvHeader, snapshotResults, type ResultsCounts, type ResultsQueryParams } from './query.js';

type Tx = postgres.TransactionSql<Record<string, never>>;

/** Results files (downloads and export files) are kept this long, like saved reports. */
export const RESULTS_FILE_DAYS = 30;

export interface ResultsFile {
  id: string; runId: string; kind: 'download' | 'export'; campaignId: string; jobId: string | null; format: string;
  fileName: string; storeKey: string; sizeBytes: number; sha256: string; rows: number; records: number;
  rangeKind: 'closed' | 'collected'; rangeStart: Date; rangeEnd: Date; createdAt: Date; expiresAt: Date;
  remotePath: string | null; sentAt: Date | null;
}

interface FileRow {
  id: string; run_id: string; kind: 'download' | 'export'; campaign_id: string; job_id: string | null; format: string;
  file_name: string; store_key: string; size_bytes: string; sha256: string; row_count: string; record_count: string;
  range_kind: 'closed' | 'collected'; range_start: Date; range_end: Date; created_at: Date; expires_at: Date;
  remote_path: string | null; sent_at: Date | null;
}

const toFile = (r: FileRow): ResultsFile => ({
  id: r.id, runId: r.run_id, kind: r.kind, campaignId: r.campaign_id, jobId: r.job_id, format: r.format, fileName: r.file_name,
  storeKey: r.store_key, sizeBytes: Number(r.size_bytes), sha256: r.sha256, rows: Number(r.row_count), records: Number(r.record_count),
  rangeKind: r.range_kind, rangeStart: r.range_start, rangeEnd: r.range_end, createdAt: r.created_at, expiresAt: r.expires_at,
  remotePath: r.remote_path, sentAt: r.sent_at,
});

const COLUMNS = 'id::text, run_id, kind, campaign_id::text, job_id::text, format, file_name, store_key, size_bytes, sha256, row_count, record_count, range_kind, range_start, range_end, created_at, expires_at, remote_path, sent_at';

export async function fileOfRun(sql: Sql | Tx, runId: string): Promise<ResultsFile | undefined> {
  const [row] = await sql.unsafe<FileRow[]>(`select ${COLUMNS} from results_files where run_id = $1`, [runId]);
  return row ? toFile(row) : undefined;
}

export async function fileById(sql: Sql, id: string): Promise<ResultsFile | undefined> {
  const [row] = await sql.unsafe<FileRow[]>(`select ${COLUMNS} from results_files where id = $1`, [id]);
  return row ? toFile(row) : undefined;
}

/** A job's export files not yet at the destination, oldest window first. */
export async function unsentExportFiles(sql: Sql, jobId: string): Promise<ResultsFile[]> {
  const rows = await sql.unsafe<FileRow[]>(
    `select ${COLUMNS} from results_files where job_id = $1 and kind = 'export' and sent_at is null order by range_end, id`, [jobId]);
  return rows.map(toFile);
}

export function resultsObjectKey(runId: string): string {
  return `results/runs/${createHash('sha256').update(runId).digest('hex').slice(0, 40)}/file.enc`;
}

/** Waits for (and holds until the transaction ends) the lock of this run's file. */
export async function lockRunFile(tx: Tx, runId: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${`results-run/${runId}`}, 0))`;
}

/** How far a file is: data rows written, of `total`, and bytes stored. */
export interface FileProgress { rows: number; total: number; bytes: number }

/**
 * Counts the rows of PostgreSQL's CSV as it streams by: a line feed ends a row unless it is inside a quoted value
 * (COPY quotes every value holding a line break, a quote or a comma, and doubles the quotes inside, which toggles
 * twice). One pass over the bytes that are streamed anyway: the file's row count needs no query of its own.
 */
export function csvRowCounter(): { count(chunk: Uint8Array): void; readonly rows: number } {
  let rows = 0;
  let quoted = false;
  return {
    count(chunk) {
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i];
        if (b === 34) quoted = !quoted;
        else if (b === 10 && !quoted) rows++;
      }
    },
    get rows() { return rows; },
  };
}

const passThrough = (onChunk: (chunk: Buffer) => void) => new Transform({
  transform(chunk: Buffer, _encoding, callback) { onChunk(chunk); callback(null, chunk); },
});

export interface WrittenFile extends ResultsCounts { storeKey: string; sizeBytes: number; sha256: string }

/**
 * Writes the results of `params` (one snapshot of `tx`, see snapshotResults) as CSV — header, then the rows
 * PostgreSQL formats — optionally zipped with the CSV as its one entry, encrypted into the content store under
 * the run's key. Memory does not grow with the results: the COPY is back-pressured by the store's write.
 */
export async function writeResultsFile(
  deps: { sql: Sql; store: ContentStore; databaseUrl: string },
  tx: Tx,
  input: { runId: string; params: ResultsQueryParams; zip: boolean; csvName: string },
  onProgress: (progress: FileProgress) => void = () => {},
): Promise<WrittenFile> {
  const key = resultsObjectKey(input.runId);
  await deps.sql`insert into results_pending_objects (store_key, run_id) values (${key}, ${input.runId}) on conflict (store_key) do nothing`;
  const snap = await snapshotResults(tx, deps.databaseUrl, input.params);
  const progress: FileProgress = { rows: 0, total: snap.counts.rows, bytes: 0 };
  const counter = csvRowCounter();
  // Plain pass-throughs, not lib/meter.ts: the store hashes what it stores, no second or third SHA-256 here.
  const lines = passThrough((chunk) => { counter.count(chunk); progress.rows = counter.rows; });
  const csv = new PassThrough();
  csv.write(resultsCsvHeader(snap.customFields));
  // pipeline (not pipe): a failing COPY fails the store's write instead of ending the file early.
  pipeline(snap.rows, lines, csv, () => {});
  const body: Readable = input.zip ? zipStream(csv, input.csvName) : csv;
  const meter = passThrough((chunk) => { progress.bytes += chunk.length; onProgress({ ...progress }); });
  pipeline(body, meter, () => {});
  const stored = await deps.store.put(meter, { key });
  // The rows as streamed (exact by construction); the records from the snapshot's pass over the records.
  return { storeKey: stored.key, sizeBytes: stored.sizeBytes, sha256: stored.sha256, rows: counter.rows, records: snap.counts.records };
}

export interface NewResultsFile {
  runId: string; kind: 'download' | 'export'; campaignId: string; jobId?: string | null; format: string; fileName: string;
  written: WrittenFile; rangeKind: 'closed' | 'collected'; rangeStart: Date; rangeEnd: Date; now: Date; remotePath?: string | null;
}

/** Saves the file's row and takes its object's pending note away; in the transaction that wrote it. */
export async function insertResultsFile(tx: Tx, f: NewResultsFile): Promise<string> {
  const expires = new Date(f.now.getTime() + RESULTS_FILE_DAYS * 86_400_000);
  const [row] = await tx<{ id: string }[]>`
    insert into results_files (run_id, kind, campaign_id, job_id, format, file_name, store_key, size_bytes, sha256, row_count, record_count,
                               range_kind, range_start, range_end, created_at, expires_at, remote_path)
    values (${f.runId}, ${f.kind}, ${f.campaignId}, ${f.jobId ?? null}, ${f.format}, ${f.fileName}, ${f.written.storeKey},
            ${f.written.sizeBytes}, ${f.written.sha256}, ${f.written.rows}, ${f.written.records}, ${f.rangeKind}, ${f.rangeStart},
            ${f.rangeEnd}, ${f.now}, ${expires}, ${f.remotePath ?? null})
    returning id::text`;
  await tx`delete from results_pending_objects where store_key = ${f.written.storeKey}`;
  return row.id;
}

/** Removes results files past their 30 days and objects whose row never committed (older than that). */
export async function removeExpiredResultsFiles(sql: Sql, store: ContentStore, now: Date): Promise<number> {
  let removed = 0;
  const expired = await sql<{ id: string; store_key: string }[]>`select id::text, store_key from results_files where expires_at <= ${now} limit 1000`;
  for (const f of expired) {
    await store.remove(f.store_key);
    await sql`delete from results_files where id = ${f.id}`;
    removed++;
  }
  const abandonedBefore = new Date(now.getTime() - RESULTS_FILE_DAYS * 86_400_000);
  const notes = await sql<{ store_key: string }[]>`
    select store_key from results_pending_objects p where created_at < ${abandonedBefore}
      and not exists (select 1 from results_files f where f.store_key = p.store_key) limit 1000`;
  for (const n of notes) {
    await store.remove(n.store_key);
    await sql`delete from results_pending_objects where store_key = ${n.store_key}`;
    removed++;
  }
  return removed;
}
