// The exactly-once ledger of the Salesforce export (salesforce_export_ledger): one row per result a job has sent or
// tried to. A chunk is claimed (`sending`) and committed before it goes to Salesforce, and settled (`sent` with
// the Salesforce id, or `failed` with Salesforce's error) in one transaction with the job's watermark once
// Salesforce has answered. A claim found still `sending` later is a chunk whose answer was lost (the worker died,
// or the connection broke after the request left): with an external id field it is simply sent again (an upsert
// on the same key cannot create a second object); without one it is settled `unknown`, reported, and never sent
// again — Salesforce may have created it, and creating it twice is what this ledger exists to prevent.
import type { Sql } from '../../db/sql.js';
import type { RecordError } from '../../contracts/salesforce-export.js';
import type { KeyedRow } from './rows.js';

export interface Outcome { key: string; salesforceId?: string; created?: boolean; error?: string }

export async function claim(sql: Sql, jobId: string, runId: string, rows: KeyedRow[]): Promise<void> {
  const keys = rows.map((r) => r.key);
  const closed = rows.map((r) => (r.closedAt ? new Date(r.closedAt).toISOString() : null));
  const clients = rows.map((r) => (r.row.client_id as string | null) ?? null);
  await sql`
    insert into salesforce_export_ledger (job_id, result_key, run_id, state, closed_at, client_id)
    select ${jobId}, k, ${runId}, 'sending', c, i from unnest(${keys}::text[], ${closed}::timestamptz[], ${clients}::text[]) as t(k, c, i)
    on conflict (job_id, result_key) do update set run_id = excluded.run_id, updated_at = now()
      where salesforce_export_ledger.state = 'sending'`;
}

/** A refused request (Salesforce answered with an error, so nothing was saved): the claim is taken back. */
export async function release(sql: Sql, jobId: string, keys: string[]): Promise<void> {
  await sql`delete from salesforce_export_ledger where job_id = ${jobId} and result_key = any(${keys}::text[]) and state = 'sending'`;
}

/** Keys claimed by an earlier attempt whose answer never arrived. */
export async function inDoubt(sql: Sql, jobId: string, limit: number): Promise<string[]> {
  const rows = await sql<{ result_key: string }[]>`
    select result_key from salesforce_export_ledger where job_id = ${jobId} and state = 'sending' order by closed_at, result_key limit ${limit}`;
  return rows.map((r) => r.result_key);
}

/** Settles a chunk's outcomes, in one transaction. */
export async function settle(sql: Sql, jobId: string, outcomes: Outcome[]): Promise<void> {
  await sql.begin(async (tx) => {
    const keys = outcomes.map((o) => o.key);
    const ids = outcomes.map((o) => o.salesforceId ?? null);
    const errors = outcomes.map((o) => o.error ?? null);
    const created = outcomes.map((o) => (o.error ? null : String(o.created ?? true)));
    await tx`
      update salesforce_export_ledger g set state = case when t.e is null then 'sent' else 'failed' end,
        salesforce_id = t.i, error = t.e, created = t.c::boolean, updated_at = now()
      from unnest(${keys}::text[], ${ids}::text[], ${errors}::text[], ${created}::text[]) as t(k, i, e, c)
      where g.job_id = ${jobId} and g.result_key = t.k`;
  });
}

/** Claims without an answer, for a job that cannot resend safely: settled `unknown` and reported. */
export async function settleUnknown(sql: Sql, jobId: string, runId: string, keys: string[]): Promise<RecordError[]> {
  const message = 'outcome unknown: the answer to this record\'s request was lost (worker stopped or connection broke); ' +
    'not sent again so it is never created twice (set externalIdField to resend safely); check Salesforce for it';
  const rows = await sql<{ result_key: string; client_id: string | null }[]>`
    update salesforce_export_ledger set state = 'unknown', error = ${message}, run_id = ${runId}, updated_at = now()
    where job_id = ${jobId} and result_key = any(${keys}::text[]) and state = 'sending'
    returning result_key, client_id`;
  return rows.map((r) => ({ key: r.result_key, clientId: r.client_id, error: message }));
}

/** Forgets failed results so the next run sends them again (after the mapping or the floor changed). */
export async function forgetFailures(sql: Sql, jobId: string): Promise<void> {
  await sql`delete from salesforce_export_ledger where job_id = ${jobId} and state = 'failed'`;
}

/** The API path serving every record error of a run (api/routes/salesforce.ts). */
export const salesforceErrorsPath = (jobId: string, runId: string) => `/salesforce-export-jobs/${jobId}/record-errors?runId=${encodeURIComponent(runId)}`;

/** A run's outcome as the ledger holds it: exact whatever slices were retried or lost on the way. */
export async function runSummary(sql: Sql, jobId: string, runId: string, maxErrors: number): Promise<RunTotals> {
  const [counts] = await sql<{ sent: number; created: number; failed: number; unknown: number; errors: number }[]>`
    select count(*) filter (where state = 'sent')::int as sent, count(*) filter (where state = 'sent' and created)::int as created,
           count(*) filter (where state = 'failed')::int as failed, count(*) filter (where state = 'unknown')::int as unknown,
           count(*) filter (where state in ('failed', 'unknown'))::int as errors
    from salesforce_export_ledger where job_id = ${jobId} and run_id = ${runId}`;
  const errors = await sql<{ result_key: string; client_id: string | null; error: string }[]>`
    select result_key, client_id, error from salesforce_export_ledger
    where job_id = ${jobId} and run_id = ${runId} and state in ('failed', 'unknown') order by closed_at, result_key limit ${maxErrors}`;
  return {
    sent: counts.sent, created: counts.created, updated: counts.sent - counts.created, failed: counts.failed, unknown: counts.unknown,
    errors: errors.map((e) => ({ key: e.result_key, clientId: e.client_id, error: e.error })), errorsTruncated: counts.errors - errors.length,
  };
}

export interface RunTotals {
  sent: number; created: number; updated: number; failed: number; unknown: number; errors: RecordError[]; errorsTruncated: number;
  /** Where every record error of the run is served, paged (the result lists only the first ones). */
  errorsPath?: string;
}

export interface LedgerError extends RecordError { state: 'failed' | 'unknown'; runId: string; closedAt: Date | null; updatedAt: Date }

/**
 * The results of a job Salesforce refused (`failed`) or whose outcome is unknown, every one (of one run, or of the
 * job), by result key after `after`: a page of `limit`. Keyed on the ledger's primary key, so pages neither
 * repeat nor skip while a later run adds errors.
 */
export async function ledgerErrors(sql: Sql, jobId: string, page: { runId?: string; after?: string; limit: number }): Promise<LedgerError[]> {
  const rows = await sql<{ result_key: string; client_id: string | null; error: string | null; state: 'failed' | 'unknown'; run_id: string; closed_at: Date | null; updated_at: Date }[]>`
    select result_key, client_id, error, state, run_id, closed_at, updated_at from salesforce_export_ledger
    where job_id = ${jobId} and state in ('failed', 'unknown') ${page.runId === undefined ? sql`` : sql`and run_id = ${page.runId}`}
      and result_key > ${page.after ?? ''}
    order by result_key limit ${page.limit}`;
  return rows.map((r) => ({
    key: r.result_key, clientId: r.client_id, error: r.error ?? '', state: r.state, runId: r.run_id, closedAt: r.closed_at, updatedAt: r.updated_at,
  }));
}
