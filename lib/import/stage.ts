// Source bytes → detected encoding → text → rows → COPY into list_import_rows, streaming end to end on a
// dedicated connection (COPY holds its connection for the whole load). Good and rejected rows go to the
// same table; nothing is applied to contacts here, so a failed or cancelled load changes no contact.
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sql } from '../../db/sql.js';
import { copyLine } from '../generator/copy.js';
import { createTextDecoder, detectEncoding, NotUtf8Error, SAMPLE_BYTES, type DetectedEncoding } from './encoding.js';
import { createRowParser, type ParseOptions } from './parse.js';
import type { StagedRow } from './rows.js';

export interface StageProgress { bytesRead: number; rowsRead: number; rejected: number }
export interface StageResult extends StageProgress { encoding: string }

export interface StageOptions extends ParseOptions {
  runId: string;
  /** Opens the source from its start (called again when a file first taken for UTF-8 turns out not to be). */
  open: () => Promise<Readable>;
  onProgress?: (progress: StageProgress) => void;
  signal?: AbortSignal;
}

/** Reads up to `bytes` from the stream's start and returns them with a stream that replays everything. */
async function peek(source: Readable, bytes: number): Promise<{ sample: Buffer; complete: boolean; stream: Readable }> {
  const chunks: Buffer[] = [];
  let length = 0;
  const iterator = source[Symbol.asyncIterator]();
  let complete = false;
  while (length < bytes) {
    const next = await iterator.next();
    if (next.done) { complete = true; break; }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    chunks.push(chunk);
    length += chunk.length;
  }
  const sample = Buffer.concat(chunks);
  async function* replay() {
    yield sample;
    if (complete) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value as Buffer;
  }
  return { sample: sample.subarray(0, bytes), complete, stream: Readable.from(replay(), { objectMode: false }) };
}

/** Rows as COPY text in ~256 KB strings: one socket write per batch rather than per row (a write per row
 *  costs a native write request and a protocol message each, and was what made memory grow with the file). */
const COPY_BATCH_CHARS = 256 * 1024;

function toCopyLines(runId: string, progress: StageProgress, report: () => void): Transform {
  let batch = '';
  return new Transform({
    writableObjectMode: true,
    transform(row: StagedRow, _enc, done: TransformCallback) {
      progress.rowsRead++;
      if (row.rejectReason) progress.rejected++;
      report();
      batch += copyLine([
        runId, row.line, row.clientId, row.name, row.email, row.phones[0], row.phones[1], row.phones[2],
        row.custom ? JSON.stringify(row.custom) : null, row.rejectReason,
      ]);
      if (batch.length < COPY_BATCH_CHARS) return done();
      const full = batch;
      batch = '';
      done(null, full);
    },
    flush(done: TransformCallback) {
      done(null, batch || undefined);
    },
  });
}

function countBytes(progress: StageProgress): Transform {
  return new PassThrough({
    transform(chunk: Buffer, _enc, done) {
      progress.bytesRead += chunk.length;
      done(null, chunk);
    },
  });
}

async function loadOnce(copySql: Sql, options: StageOptions, forced?: DetectedEncoding): Promise<StageResult> {
  const { sample, complete, stream } = await peek(await options.open(), SAMPLE_BYTES);
  const detected = forced ?? detectEncoding(sample, { complete });
  const progress: StageProgress = { bytesRead: 0, rowsRead: 0, rejected: 0 };
  let lastReport = 0;
  const report = () => {
    const now = Date.now();
    if (now - lastReport < 1000) return;
    lastReport = now;
    options.onProgress?.({ ...progress });
  };
  await copySql`delete from list_import_rows where run_id = ${options.runId}`;
  const { parser, rows } = createRowParser(options);
  const copy = await copySql`
    copy list_import_rows (run_id, line, client_id, name, email, phone1, phone2, phone3, custom, reject_reason)
    from stdin`.writable();
  await pipeline(stream, countBytes(progress), createTextDecoder(detected), parser, rows, toCopyLines(options.runId, progress, report), copy,
    { signal: options.signal });
  options.onProgress?.({ ...progress });
  const name = detected.encoding === 'utf-8' && detected.bom ? 'utf-8 (BOM)' : detected.encoding;
  return { ...progress, encoding: name };
}

/** Stages the whole file; a file that looked like UTF-8 but is not is read again as Windows-1252. Each
 *  attempt has its own connection, so an aborted COPY never leaves a connection in an odd state. */
export async function stageImportFile(databaseUrl: string, options: StageOptions, connect: (url: string) => Sql): Promise<StageResult> {
  const attempt = async (forced?: DetectedEncoding) => {
    const copySql = connect(databaseUrl);
    try {
      return await loadOnce(copySql, options, forced);
    } finally {
      await copySql.end({ timeout: 5 });
    }
  };
  try {
    return await attempt();
  } catch (err) {
    if (!(err instanceof NotUtf8Error)) throw err;
    return attempt({ encoding: 'windows-1252', bom: false });
  }
}
