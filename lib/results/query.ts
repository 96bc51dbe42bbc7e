// The campaign results model (seed 000, Results tab; API.md "Campaign results"): a record's results are its
// list fields plus its attempts. This module is the one query over them, shared by the one-time download, the
// periodic results export and the Salesforce export:
//
// * `simple`: one row per record completed in the range, with its last result (its newest attempt).
// * `detailed`: every attempt of the records completed in the range.
// * `detailed-in-timeframe`: only the attempts made in the range.
//
// A record is completed when its status became Closed (contacts.closed_at, set by the attempt reporting it).
// Two kinds of range (docs/results.md):
//
// * `closed` — business time, [from, to): records whose closed_at, or attempts whose completed_at, lie in it
//   (a download with `between`).
// * `collected` — collection time, (from, to]: records whose closing attempt (the attempt that reported Closed
//   at closed_at), or attempts, were collected (call_attempts.collected_at) in it. Consecutive windows of this
//   kind partition the results exactly, late-arriving attempts included, as incremental reports do
//   (lib/reports/watermarks.ts); downloads without `between` and periodic exports use it.
//
// The attempt number is counted over ALL the record's attempts (campaign, client id) by completion time then
// id, never over the range only. Dispositions filter the record's last result in `simple` and `detailed` (a
// record "dispositioned" that way) and each attempt's own disposition in `detailed-in-timeframe`.
//
// COPY takes no bind parameters, so every value is set as a transaction-local setting (setResultsParams) and
// read back with current_setting(); the statements are built from constant fragments only. Call
// prepareResults (or prepareResultsWithCounts) in the transaction first, then stream or iterate.
import type { Readable } from 'node:stream';
import type postgres from 'postgres';
import { neutralizeFormula, NEUTRALIZE_FORMULA_SQL } from '../csv/formula.js';
import type { ResultsFormat } from '../../contracts/results.js';
import { copyFromSnapshot, timeRangeSql } from '../reports/queries.js';

type Tx = postgres.TransactionSql<Record<string, never>>;


/** The fixed result columns (API.md), then the custom fields by name. */
export const RESULT_COLUMNS = [
  'client_id', 'name', 'phone', 'phone2', 'phone3', 'email', 'list', 'record_status', 'closed_at',
  'attempt_number', 'attempt_phone', 'attempt_started_at', 'attempt_completed_at', 'status', 'disposition', 'agent',
  'major_reason', 'minor_reason',
] as const;
export type ResultColumn = typeof RESULT_COLUMNS[number];

export type RangeKind = 'closed' | 'collected';
/** `closed`: [from, to) on closed_at / completed_at; `collected`: (from, to] on collected_at. */
export interface ResultsRange { from: Date; to: Date; by: RangeKind }

export interface ResultsQueryParams {
  campaignId: string;
  format: ResultsFormat;
  /** Lists (calling_lists ids) whose records count; empty or absent = every list. */
  listIds?: string[];
  /** Dispositions to keep, or 'all' (absent = all). */
  dispositions?: string[] | 'all';
  range: ResultsRange;
  /** IANA zone the times are written in. */
  timezone: string;
}

/** One result row as the cursor yields it: the columns (times already in the zone, ISO 8601 with offset),
 *  the custom fields by name, and the ids that identify it (attemptId is null for a record without attempts). */
export interface ResultRow {
  contactId: string;
  attemptId: string | null;
  columns: Record<ResultColumn, string | null>;
  customFields: Record<string, string | null>;
}

export async function setResultsParams(tx: Tx, p: ResultsQueryParams, customFields: string[] = []): Promise<void> {
  const lists = p.listIds && p.listIds.length > 0 ? `{${p.listIds.map((id) => String(BigInt(id))).join(',')}}` : '';
  const dispositions = p.dispositions === undefined || p.dispositions === 'all' ? '' : JSON.stringify(p.dispositions);
  await tx`select set_config('cc_results.campaign', ${p.campaignId}, true),
                  set_config('cc_results.from', ${p.range.from.toISOString()}, true),
                  set_config('cc_results.to', ${p.range.to.toISOString()}, true),
                  set_config('cc_results.lists', ${lists}, true),
                  set_config('cc_results.dispositions', ${dispositions}, true),
                  set_config('cc_results.fields', ${JSON.stringify(customFields)}, true),
                  set_config('TimeZone', ${p.timezone}, true)`;
}

const setting = (name: string) => `current_setting('cc_results.${name}')`;
const CAMPAIGN = `${setting('campaign')}::bigint`;
const FROM = `${setting('from')}::timestamptz`;
const TO = `${setting('to')}::timestamptz`;
// nullif: the cast of an empty setting must not run (an `or` does not guarantee it is skipped).
const LIST_FILTER = `(${setting('lists')} = '' or c.list_id = any(nullif(${setting('lists')}, '')::bigint[]))`;
const dispositionFilter = (column: string) =>
  `(${setting('dispositions')} = '' or ${column} in (select jsonb_array_elements_text(nullif(${setting('dispositions')}, '')::jsonb)))`;

/** When the record's closing attempt (the one that reported Closed at closed_at) was collected: `cc.collected`. */
const CLOSING_COLLECTED_JOIN = `cross join lateral (select min(z.collected_at) as collected from call_attempts z
  where z.campaign_id = c.campaign_id and z.client_id = c.client_id and z.record_status = 'Closed' and z.completed_at = c.closed_at) cc`;

// The ranges are the reports' (lib/reports/queries.ts timeRangeSql): `closed` is business time, `collected` the
// collection windows incremental reports use.
const rangeBy = (by: RangeKind) => (by === 'collected' ? 'collected' : 'completed');
const recordRange = (by: RangeKind) => timeRangeSql(rangeBy(by), { collected: 'cc.collected', business: 'c.closed_at' }, FROM, TO);
const attemptRange = (by: RangeKind) => timeRangeSql(rangeBy(by), { collected: 'a.collected_at', business: 'a.completed_at' }, FROM, TO);

/** The record's own columns (contact `c`, list `l`). */
const RECORD_SELECT = `c.id as contact_id, c.client_id, c.name,
  (select p.number from contact_phones p where p.contact_id = c.id and p.position = 1) as phone,
  (select p.number from contact_phones p where p.contact_id = c.id and p.position = 2) as phone2,
  (select p.number from contact_phones p where p.contact_id = c.id and p.position = 3) as phone3,
  c.email, l.name as list, c.status as record_status, c.closed_at, c.custom_fields`;

const ATTEMPT_SELECT = `a.id as attempt_id, a.phone as attempt_phone, a.started_at as attempt_started_at,
  a.completed_at as attempt_completed_at, a.status, a.disposition, a.agent, a.major_reason, a.minor_reason`;

/** The typed rows (not yet formatted), in file order (or unordered, for counting). Constant SQL only. */
export function resultsBaseSql(format: ResultsFormat, by: RangeKind, ordered = true): string {
  const order = (clause: string) => (ordered ? clause : '');
  const records = `select ${RECORD_SELECT} from contacts c left join calling_lists l on l.id = c.list_id
    ${by === 'collected' ? CLOSING_COLLECTED_JOIN : ''}
    where c.campaign_id = ${CAMPAIGN} and c.closed_at is not null and ${LIST_FILTER} and ${recordRange(by)}`;
  switch (format) {
    case 'simple': return `with r as (${records})
      select r.*, ${ATTEMPT_SELECT}, n.n as attempt_number
      from r
      left join lateral (select * from call_attempts a where a.campaign_id = ${CAMPAIGN} and a.client_id = r.client_id
                         order by a.completed_at desc, a.id desc limit 1) a on true
      left join lateral (select count(*) as n from call_attempts x where x.campaign_id = ${CAMPAIGN} and x.client_id = r.client_id) n on true
      where ${dispositionFilter('a.disposition')}
      ${order('order by r.closed_at, r.client_id')}`;
    // Attempts joined to the records directly (an index lookup per record), numbered over each record's.
    case 'detailed': return `with r as (${records})
      select x.* from (
        select r.*, ${ATTEMPT_SELECT}, row_number() over w as attempt_number,
               last_value(a.disposition) over (w rows between unbounded preceding and unbounded following) as last_disposition
        from r join call_attempts a on a.campaign_id = ${CAMPAIGN} and a.client_id = r.client_id
        window w as (partition by r.contact_id order by a.completed_at, a.id)
      ) x
      where ${dispositionFilter('x.last_disposition')}
      ${order('order by x.closed_at, x.client_id, x.attempt_number')}`;
    case 'detailed-in-timeframe': return `select ${RECORD_SELECT}, ${ATTEMPT_SELECT},
        (select count(*) from call_attempts x where x.campaign_id = a.campaign_id and x.client_id = a.client_id
           and (x.completed_at, x.id) <= (a.completed_at, a.id)) as attempt_number
      from call_attempts a
      join contacts c on c.campaign_id = a.campaign_id and c.client_id = a.client_id
      left join calling_lists l on l.id = c.list_id
      where a.campaign_id = ${CAMPAIGN} and ${attemptRange(by)} and ${LIST_FILTER} and ${dispositionFilter('a.disposition')}
      ${order('order by a.completed_at, a.id')}`;
  }
}

/**
 * The records the results of `format` hold — contact id, custom fields and how many rows each gives — without the
 * rows' columns (no phones, no attempt numbering, no formatting): what the header, the record count and the
 * progress total need, at a fraction of the rows' cost. The same selection as resultsBaseSql. Constant SQL only.
 */
function resultsRecordsSql(format: ResultsFormat, by: RangeKind): string {
  if (format === 'detailed-in-timeframe') {
    return `select c.id as contact_id, c.custom_fields, count(*) as n
      from call_attempts a join contacts c on c.campaign_id = a.campaign_id and c.client_id = a.client_id
      where a.campaign_id = ${CAMPAIGN} and ${attemptRange(by)} and ${LIST_FILTER} and ${dispositionFilter('a.disposition')}
      group by c.id`;
  }
  const last = `(select a.disposition from call_attempts a where a.campaign_id = ${CAMPAIGN} and a.client_id = c.client_id
    order by a.completed_at desc, a.id desc limit 1)`;
  // By collection time one probe of the record's attempts gives both its closing attempt's collection time (as
  // CLOSING_COLLECTED_JOIN) and its attempt count; such a record always has an attempt (its closing one).
  const probe = by === 'collected'
    ? `cross join lateral (select min(z.collected_at) filter (where z.record_status = 'Closed' and z.completed_at = c.closed_at) as collected,
         count(*) as n from call_attempts z where z.campaign_id = c.campaign_id and z.client_id = c.client_id) cc`
    : `cross join lateral (select count(*) as n from call_attempts z where z.campaign_id = c.campaign_id and z.client_id = c.client_id) cc`;
  return `select c.id as contact_id, c.custom_fields, ${format === 'simple' ? '1::bigint' : 'cc.n'} as n
      from contacts c ${format === 'simple' && by === 'closed' ? '' : probe}
      where c.campaign_id = ${CAMPAIGN} and c.closed_at is not null and ${LIST_FILTER} and ${recordRange(by)}
        and ${dispositionFilter(last)} ${format === 'detailed' && by === 'closed' ? 'and cc.n > 0' : ''}`;
}

const TEXT_COLUMNS = new Set<string>(['client_id', 'name', 'phone', 'phone2', 'phone3', 'email', 'list', 'record_status',
  'attempt_phone', 'status', 'disposition', 'agent', 'major_reason', 'minor_reason']);
const TIME_COLUMNS = new Set<string>(['closed_at', 'attempt_started_at', 'attempt_completed_at']);
const iso = (column: string) => `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')`;

/** The custom field `i` of the settings' list, by name. */
const customField = (i: number) => `(b.custom_fields ->> (${setting('fields')}::jsonb ->> ${Math.trunc(i)}))`;

/** The CSV columns, formatted: text neutralized against formulas (lib/csv/formula.ts), times ISO in the zone. */
function csvSelect(customFieldCount: number): string {
  const fixed = RESULT_COLUMNS.map((col) => {
    const ref = `b.${col}`;
    if (TEXT_COLUMNS.has(col)) return NEUTRALIZE_FORMULA_SQL(ref);
    if (TIME_COLUMNS.has(col)) return iso(ref);
    return ref;
  });
  const custom = Array.from({ length: customFieldCount }, (_, i) => NEUTRALIZE_FORMULA_SQL(customField(i)));
  return [...fixed, ...custom].join(', ');
}

/** Sets the parameters and the custom fields of the records in range in `tx`; returns those fields. Call it
 *  once per transaction before streamResultsCsvRows or cursorResults. */
export async function prepareResults(tx: Tx, p: ResultsQueryParams): Promise<string[]> {
  return (await prepareResultsWithCounts(tx, p)).customFields;
}

/** prepareResults, and the counts, from one pass over the records (not the rows: see resultsRecordsSql). */
export async function prepareResultsWithCounts(tx: Tx, p: ResultsQueryParams): Promise<{ customFields: string[]; counts: ResultsCounts }> {
  await setResultsParams(tx, p);
  const [row] = await tx.unsafe<{ rows: string; records: string; fields: string[] }[]>(`with r as materialized (${resultsRecordsSql(p.format, p.range.by)})
    select coalesce((select sum(n) from r), 0) as rows, (select count(*) from r) as records,
           (select coalesce(array_agg(distinct k.key order by k.key), '{}') from r cross join lateral jsonb_object_keys(r.custom_fields) k(key)) as fields`);
  await tx`select set_config('cc_results.fields', ${JSON.stringify(row.fields)}, true)`;
  return { customFields: row.fields, counts: { rows: Number(row.rows), records: Number(row.records) } };
}

export interface ResultsCounts { rows: number; records: number }

export async function countResults(tx: Tx, p: ResultsQueryParams): Promise<ResultsCounts> {
  const [row] = await tx.unsafe<{ rows: string; records: string }[]>(`select count(*) as rows, count(distinct b.contact_id) as records
    from (${resultsBaseSql(p.format, p.range.by, false)}) b`);
  return { rows: Number(row.rows), records: Number(row.records) };
}

/** The CSV header line (with its CRLF-free newline), custom field names neutralized like every value. */
export function resultsCsvHeader(customFields: string[]): string {
  const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [...RESULT_COLUMNS, ...customFields.map(neutralizeFormula)].map(quote).join(',') + '\n';
}

/** The COPY statement's query (no header: resultsCsvHeader writes it). Constant SQL only. */
export function resultsCsvSql(format: ResultsFormat, by: RangeKind, customFieldCount: number): string {
  return `select ${csvSelect(customFieldCount)} from (${resultsBaseSql(format, by)}) b`;
}

/**
 * The results as CSV data rows (no header), read with COPY from the calling transaction's snapshot
 * (copyFromSnapshot), so the file holds exactly what countResults sees in `tx`. customFields as prepareResults
 * returned in `tx`.
 */
export async function streamResultsCsvRows(tx: Tx, databaseUrl: string, p: ResultsQueryParams, customFields: string[]): Promise<Readable> {
  return copyFromSnapshot(tx, databaseUrl, async (conn) => {
    await setResultsParams(conn, p, customFields);
    return copyRows(conn, p, customFields.length);
  });
}

const copyRows = async (conn: Tx, p: ResultsQueryParams, customFieldCount: number) =>
  (await conn.unsafe(`copy (${resultsCsvSql(p.format, p.range.by, customFieldCount)}) to stdout with (format csv, header false)`).readable()) as unknown as Readable;

export interface ResultsSnapshot { customFields: string[]; counts: ResultsCounts; rows: Readable }

/**
 * Everything a results file needs, read in ONE snapshot — the calling transaction's, imported by a dedicated
 * read-only connection (copyFromSnapshot): the custom fields (the header) and the counts from one pass over the
 * records (prepareResultsWithCounts), then the CSV data rows by COPY, streamed once (the file's writer counts its
 * rows as they pass). `tx` may be READ COMMITTED (a run that locked its marker first): the snapshot is taken
 * here, after the lock.
 */
export async function snapshotResults(tx: Tx, databaseUrl: string, p: ResultsQueryParams): Promise<ResultsSnapshot> {
  let prepared: { customFields: string[]; counts: ResultsCounts } | undefined;
  const rows = await copyFromSnapshot(tx, databaseUrl, async (conn) => {
    prepared = await prepareResultsWithCounts(conn, p);
    return copyRows(conn, p, prepared.customFields.length);
  });
  return { ...prepared!, rows };
}

interface CursorRow extends Record<string, unknown> { contact_id: string; attempt_id: string | null; custom: Record<string, string | null> | null }

/**
 * The result rows in file order, `batchSize` at a time, through a server-side cursor in `tx` (memory does not
 * grow with the campaign). Values are raw (not formula-neutralized: that is for CSV), times ISO in the zone.
 * `tx` must have run prepareResults; customFields as it returned.
 */
export async function* cursorResults(tx: Tx, p: ResultsQueryParams, customFields: string[], batchSize = 500): AsyncGenerator<ResultRow[]> {
  const columns = RESULT_COLUMNS.map((col) => (TIME_COLUMNS.has(col) ? `${iso(`b.${col}`)} as ${col}` : `b.${col}::text as ${col}`));
  const query = `select b.contact_id::text, b.attempt_id::text, ${columns.join(', ')},
      (select jsonb_object_agg(f, b.custom_fields ->> f) from jsonb_array_elements_text(${setting('fields')}::jsonb) f) as custom
    from (${resultsBaseSql(p.format, p.range.by)}) b`;
  for await (const batch of tx.unsafe<CursorRow[]>(query).cursor(batchSize)) {
    yield batch.map((row) => ({
      contactId: row.contact_id,
      attemptId: row.attempt_id,
      columns: Object.fromEntries(RESULT_COLUMNS.map((col) => [col, (row[col] as string | null) ?? null])) as Record<ResultColumn, string | null>,
      customFields: Object.fromEntries(customFields.map((f) => [f, row.custom?.[f] ?? null])),
    }));
  }
}
