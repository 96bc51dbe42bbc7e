// One report run's file: resolve the range (the watermark window for Incremental, the timeframe
// otherwise), count what it holds, stream the CSV from PostgreSQL into the content store (encrypted), and
// record the saved file with its counts — for Incremental in the same transaction that moves the watermark.
// The file goes under the run's fixed key (run-objects.ts), so a retry after a crash overwrites what the
// dead attempt wrote instead of orphaning it; and it is noted pending until its row commits, so a run
// that never commits (failed for good, cancelled) leaves it to the retention, not forever.
import { pipeline, Transform, type Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Sql } from '../../db/sql.js';
import type { ContentStore } from '../content-store/types.js';
import { REPORT_TITLES, SAVED_REPORT_DAYS, type ReportDefinition } from './definition.js';
import { renderFileName } from './file-name.js';
import { countReport, hasAttempts, reportRows, setReportParams, streamReportCsv, type RangeColumn } from './queries.js';
import { assertRunStillOpen, cancellableOnAbort } from './run-guard.js';
import { lockRunObject, notePendingObject, ownPendingObject, reportObjectKey } from './run-objects.js';
import { resolveTimeframe } from './timeframes.js';
import { claimWindow, commitWindow, committedWindow, waitForAttemptsCollectedBy, type Window } from './watermarks.js';

export interface GenerateInput {
  runId: string;
  definition: ReportDefinition;
  runTime: Date;
  now: Date;
  accountName: string;
  reportTimezone: string;
  /** Caps how fast the CSV is read and stored (REPORT_GENERATE_KBPS); unset = as fast as it comes. */
  kilobytesPerSecond?: number;
  /** The activity's cancellation: aborts the wait or the COPY, and the window is not committed. */
  signal?: AbortSignal;
}

export interface GeneratedReport {
  skipped: boolean;
  fileId: string | null;
  fileName: string | null;
  sizeBytes: number;
  rows: number;
  attempts: number;
  contacts: number;
  start: string;
  end: string;
  incremental: boolean;
}

interface SavedRow {
  id: string; file_name: string; size_bytes: string; row_count: string; range_start: Date; range_end: Date;
  attempt_count: string | null; contact_count: string | null;
}

/**
 * What an earlier attempt of this run committed, if it did: its saved file, or — an incremental run that
 * skipped an empty window — its window alone (then there were no attempts and no contacts).
 */
async function previousResult(sql: Sql, runId: string, incremental: boolean): Promise<GeneratedReport | undefined> {
  const [saved] = await sql<SavedRow[]>`
    select id, file_name, size_bytes, row_count, range_start, range_end, attempt_count, contact_count
    from saved_reports where run_id = ${runId} and kind = 'report'`;
  const window = incremental ? await committedWindow(sql, runId) : undefined;
  if (!saved && !window) return undefined;
  if (!saved) {
    return {
      skipped: true, fileId: null, fileName: null, sizeBytes: 0, rows: 0, attempts: 0, contacts: 0, incremental,
      start: window!.start.toISOString(), end: window!.end.toISOString(),
    };
  }
  return {
    skipped: false, fileId: saved.id, fileName: saved.file_name, sizeBytes: Number(saved.size_bytes), rows: Number(saved.row_count),
    // -1: a file saved before the counts were kept (migration 0009).
    attempts: Number(saved.attempt_count ?? -1), contacts: Number(saved.contact_count ?? -1), incremental,
    start: saved.range_start.toISOString(), end: saved.range_end.toISOString(),
  };
}

/** The COPY arrives one row per chunk; they go on in chunks of about this size (fewer trips through the
 *  cipher and the file write: a 5M-row report is 5M chunks otherwise). */
const COALESCE_BYTES = 256 * 1024;

/**
 * Gathers the COPY's row-sized chunks into ~256 KiB ones, counts bytes as they pass and, with a rate, holds
 * each gathered chunk until the rate allows it (a transform, so it never switches the stream to flowing on
 * its own, and back-pressure slows the COPY itself).
 */
function meter(onBytes: (total: number) => void, kilobytesPerSecond?: number): Transform {
  let total = 0;
  const started = Date.now();
  let parts: Buffer[] = [];
  let gathered = 0;
  const release = (done: (err?: Error | null, data?: Buffer) => void) => {
    const chunk = parts.length === 1 ? parts[0] : Buffer.concat(parts, gathered);
    parts = [];
    gathered = 0;
    total += chunk.length;
    onBytes(total);
    const due = kilobytesPerSecond ? started + (total / (kilobytesPerSecond * 1024)) * 1000 - Date.now() : 0;
    if (due <= 0) done(null, chunk);
    else delay(due).then(() => done(null, chunk), done);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      parts.push(chunk);
      gathered += chunk.length;
      if (gathered < COALESCE_BYTES) done();
      else release(done);
    },
    flush(done) {
      if (gathered === 0) done();
      else release(done);
    },
  });
}

export async function generateReportFile(
  deps: { sql: Sql; store: ContentStore; databaseUrl: string },
  input: GenerateInput,
  onProgress: (bytes: number) => void = () => {},
): Promise<GeneratedReport> {
  const { definition: def, runId } = input;
  const incremental = def.config.timeframe.kind === 'incremental';
  const previous = await previousResult(deps.sql, runId, incremental);
  if (previous) return previous;
  const { signal } = input;
  if (incremental) await waitForAttemptsCollectedBy(deps.sql, input.runTime, { onWait: () => { signal?.throwIfAborted(); onProgress(0); } });

  const mode = incremental ? 'isolation level read committed' : 'isolation level repeatable read';
  const objectKey = reportObjectKey(runId, 'report');
  return deps.sql.begin(mode, (tx) => cancellableOnAbort(deps.sql, tx, signal, async () => {
    // Another attempt of this run may have committed while this one waited for the lock: read through the
    // pool (the latest committed state, not this transaction's snapshot) and return its result.
    await lockRunObject(tx, runId, 'report');
    const committed = await previousResult(deps.sql, runId, incremental);
    if (committed) return committed;
    const key = { type: def.config.type, campaignId: def.campaignId, runId, runTime: input.runTime };
    let window: Window;
    let by: RangeColumn;
    if (incremental) {
      window = await claimWindow(tx, key);
      by = 'collected';
    } else {
      window = resolveTimeframe(def.config.timeframe, input.runTime, { reportTimezone: input.reportTimezone, campaignCreatedAt: def.campaignCreatedAt });
      by = 'completed';
    }
    const params = { campaignId: def.campaignId, from: window.start, to: window.end, by, timezone: input.reportTimezone };
    await setReportParams(tx, params);
    const range = { start: window.start.toISOString(), end: window.end.toISOString(), incremental };
    if (def.config.output.skipIfEmpty && !(await hasAttempts(tx, by))) {
      // A dead attempt may have written a file for a window that has since become empty (another run
      // committed it first): nothing refers to that object, so it goes.
      await deps.store.remove(objectKey);
      await ownPendingObject(tx, objectKey);
      await assertRunStillOpen(tx, runId);
      if (incremental) await commitWindow(tx, key, window);
      return { ...range, rows: 0, attempts: 0, contacts: 0, skipped: true, fileId: null, fileName: null, sizeBytes: 0 };
    }
    const fileName = renderFileName(def.config.output.fileNameFormat, {
      report: REPORT_TITLES[def.config.type], campaign: def.campaignName, account: input.accountName, reportId: runId,
      start: window.start, end: window.end, date: input.now, timezone: input.reportTimezone,
    });
    await notePendingObject(deps.sql, runId, objectKey);
    const csv: Readable = await streamReportCsv(tx, deps.databaseUrl, def.config.type, by, params);
    // The counts are read on the transaction's own connection while the COPY streams on its dedicated one
    // (the same snapshot, two backends working at once): a separate full pass before the COPY cost about a
    // third of the report's time.
    const counting = countReport(tx, by);
    counting.catch(() => {}); // awaited below; until then a failure (a dropped connection) must not be "unhandled"
    // pipeline (not pipe) so a failing COPY fails the store's write instead of ending the file early.
    const metered = meter(onProgress, input.kilobytesPerSecond);
    pipeline(csv, metered, () => {});
    const stored = await deps.store.put(metered, { key: objectKey }).catch(async (err: unknown) => {
      await counting.catch(() => {});
      throw err;
    });
    const counts = await counting;
    await assertRunStillOpen(tx, runId);
    const rows = reportRows(def.config.type, counts);
    const expires = new Date(input.now.getTime() + SAVED_REPORT_DAYS * 24 * 3600 * 1000);
    const [saved] = await tx<{ id: string }[]>`
      insert into saved_reports (definition_id, run_id, kind, file_name, store_key, size_bytes, sha256, row_count, range_start, range_end,
                                 created_at, expires_at, attempt_count, contact_count)
      values (${def.id}, ${runId}, 'report', ${fileName}, ${stored.key}, ${stored.sizeBytes}, ${stored.sha256}, ${rows},
              ${window.start}, ${window.end}, ${input.now}, ${expires}, ${counts.attempts}, ${counts.contacts})
      returning id`;
    await ownPendingObject(tx, objectKey);
    if (incremental) await commitWindow(tx, key, window);
    return { ...range, rows, attempts: counts.attempts, contacts: counts.contacts, skipped: false, fileId: saved.id, fileName, sizeBytes: stored.sizeBytes };
  }));
}
