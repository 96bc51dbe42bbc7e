// The three report queries, streamed out of PostgreSQL as CSV with COPY ... TO STDOUT so a report of any
// size never sits in memory. COPY takes no bind parameters, so the values (campaign, range, time zone)
// are set as transaction-local settings and read back with current_setting(); the statement itself is
// built from constant fragments only. Every query starts from the same selection `a` of attempts.
//
// Best contact: the attempt with the highest rank in the completion-status table (unknown statuses rank
// 0); ties go to the most recent attempt (completion time, then id). Times are ISO 8601 in the report zone.
import type { Readable } from 'node:stream';
import postgres from 'postgres';
import { NEUTRALIZE_FORMULA_SQL } from '../csv/formula.js';
import type { ReportType } from './definition.js';

type Tx = postgres.TransactionSql<Record<string, never>>;

/** Incremental runs select on collected_at in (from, to]; time ranges on completed_at in [from, to). */
export type RangeColumn = 'collected' | 'completed';

export interface ReportQueryParams { campaignId: string; from: Date; to: Date; by: RangeColumn; timezone: string }

/** The CSV header of each report type, in column order (documented in docs/reports.md). */
export const REPORT_HEADERS: Record<ReportType, string[]> = {
  'all-attempts': ['AttemptId', 'Campaign', 'ClientId', 'Phone', 'StartedAt', 'CompletedAt', 'CollectedAt', 'DurationSeconds',
    'Status', 'StatusRank', 'Disposition', 'Agent', 'BestContact'],
  'best-contact': ['ClientId', 'Campaign', 'AttemptId', 'Phone', 'StartedAt', 'CompletedAt', 'CollectedAt', 'DurationSeconds',
    'Status', 'StatusRank', 'Disposition', 'Agent', 'AttemptsInRange'],
  summary: ['Status', 'StatusRank', 'Attempts', 'Contacts'],
};

export async function setReportParams(tx: Tx, p: ReportQueryParams): Promise<void> {
  await tx`select set_config('cc_report.campaign', ${p.campaignId}, true),
                  set_config('cc_report.from', ${p.from.toISOString()}, true),
                  set_config('cc_report.to', ${p.to.toISOString()}, true),
                  set_config('TimeZone', ${p.timezone}, true)`;
}

/**
 * The one definition of a time range over attempts (and records), shared by reports and campaign results: by
 * collection time `(from, to]` on `collected` — consecutive windows partition what the platform collected, late
 * arrivals included (lib/reports/watermarks.ts) — or by business time `[from, to)` on `business`. `from`/`to` and
 * the columns are SQL expressions (constants of the callers: COPY takes no bind parameters).
 */
export function timeRangeSql(by: RangeColumn, columns: { collected: string; business: string }, from: string, to: string): string {
  return by === 'collected'
    ? `${columns.collected} > ${from} and ${columns.collected} <= ${to}`
    : `${columns.business} >= ${from} and ${columns.business} < ${to}`;
}

/**
 * A COPY … TO STDOUT read on a dedicated read-only connection that imports the calling transaction's snapshot, so
 * what it streams is exactly what `tx` sees, while `tx`'s own connection never carries a COPY. postgres.js can
 * leave a connection waiting forever after a readable COPY (porsager/postgres#499): this one is closed as soon as
 * the stream ends or fails. `copy` sets the statement's settings on the connection and starts the COPY.
 */
export async function copyFromSnapshot(tx: Tx, databaseUrl: string, copy: (conn: Tx) => Promise<Readable>): Promise<Readable> {
  const [{ snapshot }] = await tx<{ snapshot: string }[]>`select pg_export_snapshot() as snapshot`;
  const copySql = postgres(databaseUrl, { max: 1, onnotice: () => {}, idle_timeout: 0, connect_timeout: 15 });
  const close = () => { void copySql.end({ timeout: 0 }).catch(() => {}); };
  try {
    const conn = (await copySql.reserve()) as unknown as Tx;
    await conn`begin isolation level repeatable read read only`;
    await conn.unsafe(`set transaction snapshot '${snapshot.replace(/[^0-9A-Fa-f-]/g, '')}'`);
    const stream = await copy(conn);
    stream.once('end', close);
    stream.once('error', close);
    stream.once('close', close);
    return stream;
  } catch (err) {
    close();
    throw err;
  }
}

const SETTING_FROM = `current_setting('cc_report.from')::timestamptz`;
const SETTING_TO = `current_setting('cc_report.to')::timestamptz`;

function selection(tx: Tx, by: RangeColumn) {
  const range = tx.unsafe(timeRangeSql(by, { collected: 'a.collected_at', business: 'a.completed_at' }, SETTING_FROM, SETTING_TO));
  return tx`
    with a as (
      select a.id, a.client_id, a.phone, a.started_at, a.completed_at, a.collected_at, a.duration_s, a.status,
             coalesce(s.rank, 0) as rank, a.disposition, a.agent
      from call_attempts a left join completion_statuses s on s.status = a.status
      where a.campaign_id = current_setting('cc_report.campaign')::bigint and ${range}
    ), c as (select name from campaigns where id = current_setting('cc_report.campaign')::bigint)`;
}

/** A text column as it goes into the CSV: a value a spreadsheet would run as a formula gets a leading quote
 *  (lib/csv/formula.ts). Every text value here comes from outside: client ids, phones, campaign names,
 *  statuses, dispositions, agents. `column` is always a constant of this file. */
const text = (tx: Tx, column: string) => tx.unsafe(NEUTRALIZE_FORMULA_SQL(column));

const ts = (tx: Tx, column: string) => tx`to_char(${tx(column)}, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')`;

function attemptColumns(tx: Tx) {
  return tx`${text(tx, 'a.phone')} as "Phone", ${ts(tx, 'started_at')} as "StartedAt", ${ts(tx, 'completed_at')} as "CompletedAt",
            ${ts(tx, 'collected_at')} as "CollectedAt", a.duration_s as "DurationSeconds", ${text(tx, 'a.status')} as "Status",
            a.rank as "StatusRank", ${text(tx, 'a.disposition')} as "Disposition", ${text(tx, 'a.agent')} as "Agent"`;
}

function reportQuery(tx: Tx, type: ReportType, by: RangeColumn) {
  const best = tx`order by a.client_id, a.rank desc, a.completed_at desc, a.id desc`;
  switch (type) {
    case 'all-attempts': return tx`${selection(tx, by)}
      select a.id as "AttemptId", ${text(tx, 'c.name')} as "Campaign", ${text(tx, 'a.client_id')} as "ClientId", ${attemptColumns(tx)},
             case when row_number() over (partition by a.client_id order by a.rank desc, a.completed_at desc, a.id desc) = 1
                  then 1 else 0 end as "BestContact"
      from a cross join c
      order by a.completed_at, a.id`;
    case 'best-contact': return tx`${selection(tx, by)}
      select distinct on (a.client_id) ${text(tx, 'a.client_id')} as "ClientId", ${text(tx, 'c.name')} as "Campaign", a.id as "AttemptId", ${attemptColumns(tx)},
             count(*) over (partition by a.client_id) as "AttemptsInRange"
      from a cross join c
      ${best}`;
    case 'summary': return tx`${selection(tx, by)},
      best as (select distinct on (a.client_id) a.client_id, a.status from a ${best}),
      by_status as (select status, max(rank) as rank, count(*) as attempts from a group by status),
      contacts as (select status, count(*) as contacts from best group by status)
      select ${text(tx, 't."Status"')} as "Status", t."StatusRank", t."Attempts", t."Contacts" from (
        select s.status as "Status", s.rank as "StatusRank", s.attempts as "Attempts", coalesce(b.contacts, 0) as "Contacts", 0 as grp
        from by_status s left join contacts b using (status)
        union all
        select 'TOTAL', null, (select count(*) from a), (select count(distinct client_id) from a), 1
      ) t
      order by t.grp, t."StatusRank" desc nulls last, t."Status"`;
  }
}

export interface ReportCounts { attempts: number; contacts: number; statuses: number }

/** What the range holds, read in the same transaction (and so the same data) as the COPY. */
export async function countReport(tx: Tx, by: RangeColumn): Promise<ReportCounts> {
  const [row] = await tx<{ attempts: string; contacts: string; statuses: string }[]>`${selection(tx, by)}
    select count(*) as attempts, count(distinct client_id) as contacts, count(distinct status) as statuses from a`;
  return { attempts: Number(row.attempts), contacts: Number(row.contacts), statuses: Number(row.statuses) };
}

/** Whether the range holds any attempt (an index probe, not a count: decides skip-if-empty before the COPY). */
export async function hasAttempts(tx: Tx, by: RangeColumn): Promise<boolean> {
  const [row] = await tx<{ any: boolean }[]>`${selection(tx, by)} select exists (select 1 from a) as any`;
  return row.any;
}

/** Data rows the CSV will have (the header not counted). */
export function reportRows(type: ReportType, counts: ReportCounts): number {
  return type === 'all-attempts' ? counts.attempts : type === 'best-contact' ? counts.contacts : counts.statuses + 1;
}

/**
 * The report as a CSV byte stream (header first), read with COPY from the calling transaction's snapshot
 * (copyFromSnapshot): the file holds exactly the rows `countReport` sees. Parameters are those given to
 * setReportParams.
 */
export async function streamReportCsv(tx: Tx, databaseUrl: string, type: ReportType, by: RangeColumn, params: ReportQueryParams): Promise<Readable> {
  return copyFromSnapshot(tx, databaseUrl, async (conn) => {
    await setReportParams(conn, params);
    const query = reportQuery(conn, type, by);
    return (await conn`copy (${query}) to stdout with (format csv, header true)`.readable()) as unknown as Readable;
  });
}
