// The results a Salesforce export run sends, read through the results model's one query (lib/results/query.ts):
// a window of collection time (watermark, run time], as the periodic results export reads it, so records closed
// by late-arriving attempts fall in a later window instead of being missed. Each row gets the key the job's ledger
// knows it by (lib/salesforce/ledger.ts): `simple` one per record and closing time, `detailed` one per attempt.
import type postgres from 'postgres';
import type { Sql } from '../../db/sql.js';
import { cursorResults, prepareResults, type ResultsQueryParams, type ResultRow as ModelRow } from '../results/query.js';
import type { SalesforceJob } from './jobs.js';
import type { ResultRow } from './mapping.js';

type Tx = postgres.TransactionSql<Record<string, never>>;

export interface KeyedRow { key: string; closedAt: string | null; row: ResultRow }

/** The query parameters of a job's window. */
export function windowParams(job: SalesforceJob, from: Date, to: Date): ResultsQueryParams {
  return {
    campaignId: job.campaignId, format: job.config.format, listIds: job.config.listIds, dispositions: job.config.dispositions,
    range: { from, to, by: 'collected' }, timezone: job.timezone,
  };
}

/** The window's rows, `batchSize` at a time, keyed, through a cursor in `tx` (memory does not grow with it). */
export async function* keyedResults(tx: Tx, params: ResultsQueryParams, batchSize: number): AsyncGenerator<KeyedRow[]> {
  const customFields = await prepareResults(tx, params);
  for await (const batch of cursorResults(tx, params, customFields, batchSize)) {
    yield batch.map((r) => ({ key: resultKey(params.format, r), closedAt: r.columns.closed_at, row: { ...r.customFields, ...r.columns } }));
  }
}

function resultKey(format: string, r: ModelRow): string {
  if (format === 'simple') return `r${r.contactId}-${Date.parse(r.columns.closed_at ?? '') || 0}`;
  return r.attemptId ? `a${r.attemptId}` : `r${r.contactId}-none`;
}

/** The rows of `rows` the job's ledger does not hold yet. */
export async function notInLedger(sql: Sql, jobId: string, rows: KeyedRow[]): Promise<KeyedRow[]> {
  if (rows.length === 0) return [];
  const known = await sql<{ result_key: string }[]>`
    select result_key from salesforce_export_ledger where job_id = ${jobId} and result_key = any(${rows.map((r) => r.key)}::text[])`;
  const seen = new Set(known.map((k) => k.result_key));
  return rows.filter((r) => !seen.has(r.key));
}
