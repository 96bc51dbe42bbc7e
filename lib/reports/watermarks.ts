// "Since the last run" for incremental reports (seed 003, "Incremental Reports"), made exact:
//
// * An attempt belongs to the run whose window (start, end] holds its collected_at — when the platform
//   recorded it as completed — so an attempt completing after a run's time, or recorded late with an old
//   completion time, falls in the next window and is never lost.
// * One watermark per (report type, campaign), shared by scheduled and manual runs. A run locks the row,
//   takes (watermark, run time] and moves the watermark to its end in the same transaction that saves
//   the report, so concurrent runs serialize and windows neither overlap nor leave a gap. A run whose time
//   is already behind the watermark (started at the same moment as one that won the lock) gets an empty
//   window at the watermark. Non-incremental runs never come here.
// * The first run covers the 15 hours before its run time.
// * A retried run (activity retry, worker crash) finds the window it committed in report_windows.
// * collected_at is the clock when a row was inserted, not when its transaction commits: before reading,
//   a run waits for every transaction that was writing call_attempts once the clock passed its run time,
//   so a row collected at or before the run time but committed a moment later is still in this window.
import type postgres from 'postgres';
import type { Sql } from '../../db/sql.js';
import type { ReportType } from './definition.js';

type Tx = postgres.TransactionSql<Record<string, never>>;

export const FIRST_RUN_LOOKBACK_MS = 15 * 60 * 60 * 1000;

export interface Window { start: Date; end: Date }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until every attempt collected at or before `runTime` is committed: until the database clock has
 * passed runTime, and then until each transaction then holding a write lock on call_attempts has ended.
 * Transactions starting later write collected_at values after runTime, so they cannot matter.
 */
export async function waitForAttemptsCollectedBy(sql: Sql, runTime: Date, options: { pollMs?: number; onWait?: () => void } = {}): Promise<void> {
  const pollMs = options.pollMs ?? 100;
  for (;;) {
    const [row] = await sql<{ passed: boolean }[]>`select clock_timestamp() > ${runTime} as passed`;
    if (row.passed) break;
    await sleep(pollMs);
  }
  const [writers] = await sql<{ vxids: string[] | null }[]>`
    select array_agg(distinct virtualtransaction) as vxids from pg_locks
    where locktype = 'relation' and relation = 'call_attempts'::regclass and mode = 'RowExclusiveLock'
      and pid <> pg_backend_pid()`;
  const vxids = writers.vxids ?? [];
  if (vxids.length === 0) return;
  for (;;) {
    const [left] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_locks where locktype = 'virtualxid' and virtualxid = any(${vxids})`;
    if (left.n === 0) return;
    options.onWait?.();
    await sleep(pollMs);
  }
}

/** The window a previous attempt of this run committed, if any. */
export async function committedWindow(sql: Sql | Tx, runId: string): Promise<Window | undefined> {
  const [row] = await sql<{ window_start: Date; window_end: Date }[]>`
    select window_start, window_end from report_windows where run_id = ${runId}`;
  return row ? { start: row.window_start, end: row.window_end } : undefined;
}

/** Locks the (type, campaign) watermark for the rest of the transaction and returns this run's window. */
export async function claimWindow(tx: Tx, key: { type: ReportType; campaignId: string; runTime: Date }): Promise<Window> {
  const firstStart = new Date(key.runTime.getTime() - FIRST_RUN_LOOKBACK_MS);
  await tx`
    insert into report_watermarks (report_type, campaign_id, collected_through, last_run_id)
    values (${key.type}, ${key.campaignId}, ${firstStart}, '')
    on conflict (report_type, campaign_id) do nothing`;
  const [row] = await tx<{ collected_through: Date }[]>`
    select collected_through from report_watermarks
    where report_type = ${key.type} and campaign_id = ${key.campaignId}
    for update`;
  const start = row.collected_through;
  const end = key.runTime > start ? key.runTime : start;
  return { start, end };
}

/** Moves the watermark to the end of the window and records the window; same transaction as claimWindow. */
export async function commitWindow(tx: Tx, key: { type: ReportType; campaignId: string; runId: string }, window: Window): Promise<void> {
  await tx`
    update report_watermarks set collected_through = ${window.end}, last_run_id = ${key.runId}, updated_at = now()
    where report_type = ${key.type} and campaign_id = ${key.campaignId}`;
  await tx`
    insert into report_windows (run_id, report_type, campaign_id, window_start, window_end, created_at)
    values (${key.runId}, ${key.type}, ${key.campaignId}, ${window.start}, ${window.end}, clock_timestamp())`;
}
