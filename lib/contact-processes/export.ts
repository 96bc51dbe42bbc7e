// List export (seed 001 "Export Contact Records", "Scheduled Contact List Export"): the filter's contacts with
// the chosen fields in the chosen order, streamed out of PostgreSQL with COPY … TO STDOUT (never held in
// memory) into the content store, transcoded on the way (UTF-8, UTF-16 LE with a BOM, Windows-1252). The COPY
// runs on a dedicated read-only connection that imports the snapshot of a REPEATABLE READ transaction, whose
// own connection counts the same rows: one consistent snapshot, so contacts changed while it runs are either
// all before or all after (and the postgres.js COPY trap, porsager/postgres#499, never reaches the pool). With a
// destination, the file is then sent as `<folder>/<campaign id>.export.<yyyyMMddHHmmss>` with a `.log` beside it.
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import iconv from 'iconv-lite';
import postgres from 'postgres';
import type { Sql } from '../../db/sql.js';
import type { ContentStore } from '../content-store/index.js';
import { contactFilterSql, contactFilterSqlText, sqlLiteral } from '../contacts/filter.js';
import { NEUTRALIZE_FORMULA_SQL } from '../csv/formula.js';
import { cancellableOnAbort } from '../reports/run-guard.js';
import type { Transfer } from '../transfer/index.js';
import { STANDARD_EXPORT_FIELDS, type ExportOptions } from '../../contracts/contact-process.js';
import { processFileKey, processResult, type StoredResult } from './results.js';
import type { ContactFilter } from '../../contracts/contact-filter.js';
import { SEPARATORS } from '../../contracts/list-import.js';

/** The default fields: the standard ones in the seed's order (custom fields are asked for by name). */
export const DEFAULT_EXPORT_FIELDS: string[] = [...STANDARD_EXPORT_FIELDS];

const STANDARD_SQL: Record<(typeof STANDARD_EXPORT_FIELDS)[number], string> = {
  client_id: 'c.client_id',
  name: 'c.name',
  phone: '(select p.number from contact_phones p where p.contact_id = c.id and p.position = 1)',
  phone2: '(select p.number from contact_phones p where p.contact_id = c.id and p.position = 2)',
  phone3: '(select p.number from contact_phones p where p.contact_id = c.id and p.position = 3)',
  email: 'c.email',
  status: 'c.status',
};

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The COPY's query: each field a text column named after it (the header), formula-neutralized. */
export function exportQuery(campaignId: string, filter: ContactFilter, fields: readonly string[]): string {
  const columns = fields.map((field) => {
    const value = (STANDARD_SQL as Record<string, string>)[field] ?? `(c.custom_fields ->> ${sqlLiteral(field)})`;
    return `${NEUTRALIZE_FORMULA_SQL(value)} as ${quoteIdent(field)}`;
  });
  return `select ${columns.join(', ')} from contacts c where ${contactFilterSqlText(campaignId, filter)} order by c.id`;
}

/** Custom fields (not standard ones) that no contact of the campaign has: the API refuses them with 400. */
export async function unknownExportFields(sql: Sql, campaignId: string, fields: readonly string[]): Promise<string[]> {
  const custom = [...new Set(fields.filter((f) => !(STANDARD_EXPORT_FIELDS as readonly string[]).includes(f)))];
  const unknown: string[] = [];
  for (const field of custom) {
    const [{ known }] = await sql<{ known: boolean }[]>`
      select exists (select 1 from contacts where campaign_id = ${campaignId} and custom_fields ? ${field}) as known`;
    if (!known) unknown.push(field);
  }
  return unknown;
}

/** Counts bytes and rows-ish progress as they pass; a transform, so back-pressure reaches the COPY. */
function counter(onBytes: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      total += chunk.length;
      onBytes(total);
      done(null, chunk);
    },
  });
}

/** The COPY's UTF-8 bytes decoded (a character split across chunks kept whole) and encoded again; none for UTF-8. */
function encoders(encoding: ExportOptions['encoding']): Transform[] {
  if (encoding === 'utf8') return [];
  return [
    iconv.decodeStream('utf8') as unknown as Transform,
    iconv.encodeStream(encoding === 'utf16le' ? 'utf16le' : 'win1252', { addBOM: encoding === 'utf16le' }) as unknown as Transform,
  ];
}

/** `yyyyMMddHHmmss` (UTC) of the export's snapshot: the remote file's name. */
export function exportStamp(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export interface ExportRequest extends ExportOptions {
  runId: string;
  campaignId: string;
  filter: ContactFilter;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
}

/** Streams the export into the content store; exactly once per run (the result row records it). */
export async function exportContacts(deps: { sql: Sql; store: ContentStore; databaseUrl: string }, request: ExportRequest): Promise<StoredResult> {
  const { sql, store } = deps;
  const done = await processResult(sql, request.runId);
  if (done) return done;
  const key = processFileKey(request.runId, 'export');
  const result = await sql.begin('isolation level repeatable read read only', (begun) => {
    const tx = begun as unknown as Sql;
    return cancellableOnAbort(sql, begun, request.signal, async () => {
      const [{ snapshot, now }] = await tx<{ snapshot: string; now: Date }[]>`select pg_export_snapshot() as snapshot, now() as now`;
      const copySql = postgres(deps.databaseUrl, { max: 1, onnotice: () => {}, idle_timeout: 0, connect_timeout: 15 });
      const close = () => { void copySql.end({ timeout: 0 }).catch(() => {}); };
      const abort = () => close();
      request.signal?.addEventListener('abort', abort, { once: true });
      try {
        const conn = await copySql.reserve();
        await conn`begin isolation level repeatable read read only`;
        await conn.unsafe(`set transaction snapshot '${snapshot.replace(/[^0-9A-Fa-f-]/g, '')}'`);
        await conn`set local standard_conforming_strings = on`;
        const counting = tx<{ n: string }[]>`select count(*) as n from contacts c where ${contactFilterSql(tx, request.campaignId, request.filter)}`;
        counting.catch(() => {});
        const delimiter = SEPARATORS[request.separator];
        const copy = `copy (${exportQuery(request.campaignId, request.filter, request.fields)}) to stdout `
          + `with (format csv, header ${request.hasHeader ? 'true' : 'false'}, delimiter ${sqlLiteral(delimiter)})`;
        const csv = (await conn.unsafe(copy).readable()) as unknown as Readable;
        const stages = encoders(request.encoding);
        const out = counter((bytes) => request.onBytes?.(bytes));
        const piping = pipeline(csv, ...stages as [], out);
        piping.catch(() => {});
        const stored = await store.put(out, { key });
        await piping;
        const exported = Number((await counting)[0].n);
        const fileName = `${request.campaignId}.export.${exportStamp(now)}`;
        return { counts: { matched: exported, exported, sizeBytes: stored.sizeBytes }, fileKey: stored.key, fileName } satisfies StoredResult;
      } finally {
        request.signal?.removeEventListener('abort', abort);
        close();
      }
    });
  });
  // The snapshot's transaction was read-only: the result is recorded after it, once (a retry that finds it keeps it).
  await sql.begin(async (begun) => {
    const tx = begun as unknown as Sql;
    const [existing] = await tx`select 1 from contact_process_results where run_id = ${request.runId} for update`;
    if (existing) return;
    await tx`
      insert into contact_process_results (run_id, counts, file_key, file_name)
      values (${request.runId}, ${tx.json(result.counts as never)}, ${result.fileKey}, ${result.fileName})`;
    await tx`update list_imports set counts = ${tx.json(result.counts as never)}, file_key = ${result.fileKey}, file = ${result.fileName}
             where run_id = ${request.runId}`;
  });
  return (await processResult(sql, request.runId))!;
}

export interface ExportLog {
  runId: string; campaign: string; fields: readonly string[]; encoding: string; separator: string; hasHeader: boolean;
  startedAt: string; finishedAt: string; matched: number; exported: number; file: string; sizeBytes: number;
}

/** The `.log` beside the remote file (seed: "start and finish time, number of exported contact records"). */
export function exportLogText(log: ExportLog): string {
  return [
    `Contact list export ${log.runId}`,
    `Campaign: ${log.campaign}`,
    `File: ${log.file} (${log.sizeBytes} bytes, ${log.encoding}, separator ${JSON.stringify(log.separator)}, header ${log.hasHeader ? 'yes' : 'no'})`,
    `Fields: ${log.fields.join(', ')}`,
    `Started: ${log.startedAt}`,
    `Finished: ${log.finishedAt}`,
    `Contacts matched: ${log.matched}`,
    `Contacts exported: ${log.exported}`,
    '',
  ].join('\n');
}

/** Sends the stored export and its log to `<folder>/<file name>` (+ `.log`); returns the remote path. */
export async function sendExport(store: ContentStore, transfer: Transfer, options: {
  folder: string | null | undefined; fileKey: string; fileName: string; log: Omit<ExportLog, 'file'>;
}): Promise<string> {
  const folder = (options.folder ?? '').replace(/^\/+|\/+$/g, '');
  const path = folder ? `${folder}/${options.fileName}` : options.fileName;
  await transfer.put(path, await store.get(options.fileKey));
  await transfer.put(`${path}.log`, Readable.from([Buffer.from(exportLogText({ ...options.log, file: path }))]));
  return path;
}
