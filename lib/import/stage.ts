// Source bytes → detected encoding → text → rows → COPY into list_import_rows, streaming end to end on a
// dedicated connection (COPY holds its connection for the whole load). Good and rejected rows go to the
// same table; nothing is applied to contacts here, so a failed or cancelled load changes no contact. The one
// writer of list_import_rows: the load, the duplicate client_id rejections (run by the apply step) and the cleanup.
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sql } from '../../db/sql.js';
import { copyField } from '../postgres/copy.js';
import { createTextDecoder, detectEncoding, NotUtf8Error, SAMPLE_BYTES, type DetectedEncoding } from './encoding.js';
import { createRowParser, type ParseOptions, type ParsedRecord, type RowBuilder } from './parse.js';
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
export async function peek(source: Readable, bytes: number): Promise<{ sample: Buffer; complete: boolean; stream: Readable }> {
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

/** Rows go to COPY in batches of ~256 KB: one socket write per batch rather than per row (a write per row
 *  costs a native write request and a protocol message each, and was what made memory grow with the file). */
const COPY_BATCH_BYTES = 256 * 1024;

/** A COPY text field (escaped as copyField does) or \N for null. */
const field = (value: string | null) => (value === null ? '\\N' : copyField(value));

/**
 * Parsed records → validated rows → COPY text, written straight into a preallocated Buffer that is passed
 * on when full. Nothing per row outlives the row: no batch string is built up (a string grown row by row
 * survives young-generation collections piece by piece and is then flattened into a large object; both
 * land in the old generation, which is what made RSS grow with the file), and the row objects are dropped
 * as soon as their line is in the buffer.
 */
function toCopyData(runId: string, rows: RowBuilder, progress: StageProgress, report: () => void): Transform {
  const prefix = `${copyField(runId)}\t`;
  let batch = Buffer.allocUnsafeSlow(COPY_BATCH_BYTES);
  let used = 0;
  const passOn = () => {
    if (used === 0) return;
    stream.push(batch.subarray(0, used));
    batch = Buffer.allocUnsafeSlow(COPY_BATCH_BYTES);
    used = 0;
  };
  const add = (row: StagedRow) => {
    if ((++progress.rowsRead & 1023) === 0) report();
    if (row.rejectReason) progress.rejected++;
    const line = `${prefix}${row.line}\t${field(row.clientId)}\t${field(row.name)}\t${field(row.email)}\t${field(row.phones[0])}\t${
      field(row.phones[1])}\t${field(row.phones[2])}\t${row.custom ? copyField(JSON.stringify(row.custom)) : '\\N'}\t${field(row.rejectReason)}\n`;
    // A UTF-16 code unit takes at most 3 bytes in UTF-8, so this much room always holds the line.
    const room = line.length * 3;
    if (used + room > batch.length) passOn();
    if (room > batch.length) stream.push(Buffer.from(line, 'utf8'));   // a row longer than a batch goes alone
    else used += batch.write(line, used, 'utf8');
  };
  const stream: Transform = new Transform({
    writableObjectMode: true,
    transform(item: ParsedRecord, _enc, done: TransformCallback) {
      try {
        rows.push(item, add);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      rows.end(add);
      passOn();
      done();
    },
  });
  return stream;
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
  await pipeline(stream, countBytes(progress), createTextDecoder(detected), parser, toCopyData(options.runId, rows, progress, report), copy,
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

/** Marks later rows with an already-seen client_id as rejected (one aggregate over the whole run). */
export async function rejectDuplicateClientIds(tx: Sql, runId: string): Promise<void> {
  await tx`
    update list_import_rows r set reject_reason = 'duplicate client_id ' || r.client_id || ' (first at line ' || f.first_line || ')'
    from (select client_id, min(line) as first_line from list_import_rows
          where run_id = ${runId} and reject_reason is null group by client_id having count(*) > 1) f
    where r.run_id = ${runId} and r.reject_reason is null and r.client_id = f.client_id and r.line > f.first_line`;
}

/** Drops a run's staged rows (the import's cleanup, however it ended). */
export async function dropStagedRows(sql: Sql, runId: string): Promise<void> {
  await sql`delete from list_import_rows where run_id = ${runId}`;
}
