// The run record: the one module that writes the `runs` table, and counts the run metrics as it does.
// Workflows reach it through activities/runs.ts (and the list import's activities), the API through its
// starters, the reconciler through reconcile.ts. Counting follows the row's transitions, so every process
// counts what it wrote and the sums over processes balance: a start is counted when a row becomes open
// (absent or closed → scheduled/running), an end when an open row closes. A retried activity or a second
// writer of the same transition finds the row already there and counts nothing.
import type { Sql } from '../../db/sql.js';
import type { RunEnd, RunStart, RunState, RunUpdate } from '../../contracts/runs.js';
import { recordRunEnded, recordRunStarted, recordRunTransferred } from '../metrics.js';

export const OPEN_STATES = ['scheduled', 'running'] as const;

interface Moved { type: string; items: string; bytes: string }

function countMoved(moved: Moved | undefined): void {
  if (moved) recordRunTransferred(moved.type, Number(moved.items), Number(moved.bytes));
}

export interface StartOptions {
  /** 'scheduled' for a run waiting for a one-off time (its start time is set when it starts running). */
  status?: 'scheduled' | 'running';
  step?: string;
  /** The Temporal run id of the execution recording itself: a new execution of a closed run (a reset, a
   *  re-run under the same workflow id) keeps the earlier one as its own task-log entry. */
  executionId?: string | null;
  startedAt?: Date | null;
}

/** Opens the run's row (or re-opens it for a new execution); counts a start once per opening. */
export async function recordRunStart(sql: Sql, run: RunStart, options: StartOptions = {}): Promise<void> {
  const status = options.status ?? 'running';
  const step = options.step ?? (status === 'scheduled' ? 'scheduled' : 'starting');
  const executionId = options.executionId ?? null;
  let superseded: { type: string; seconds: number } | undefined;
  const counted = await sql.begin(async (tx) => {
    const [before] = await tx<{ status: RunState; execution_id: string | null }[]>`
      select status, execution_id from runs where run_id = ${run.runId} for update`;
    const closed = before !== undefined && !(OPEN_STATES as readonly string[]).includes(before.status);
    if (before && executionId && before.execution_id && before.execution_id !== executionId) {
      // A new execution (e.g. `temporal workflow reset`): the earlier one stays in the log under its own
      // key — as it ended, or, when the reset cut it short, terminated by the reset.
      [superseded] = await tx<{ type: string; seconds: number }[]>`
        update runs set run_id = ${`${run.runId}@${before.execution_id}`}, workflow_id = ${run.runId},
          status = case when status in ('running', 'scheduled') then 'terminated' else status end,
          error = case when status in ('running', 'scheduled')
                       then ${`A new execution of the run took over (e.g. it was reset in Temporal): ${executionId}.`} else error end,
          ended_at = coalesce(ended_at, now())
        where run_id = ${run.runId}
        returning type, extract(epoch from ended_at - started_at)::float8 as seconds`;
      if (closed) superseded = undefined; // its end was counted when it ended
    }
    const [written] = await tx<{ inserted: boolean }[]>`
      insert into runs (run_id, execution_id, type, name, object_name, definition_id, campaign_id, acting_user,
                        status, step, scheduled_at, started_at)
      values (${run.runId}, ${executionId}, ${run.type}, ${run.name}, ${run.objectName ?? null},
              ${run.definitionId ?? null}, ${run.campaignId ?? null}, ${run.actingUser ?? null}, ${status}, ${step},
              ${run.scheduledAt ?? null}, coalesce(${options.startedAt ?? null}::timestamptz, now()))
      on conflict (run_id) do update
        set status = case when runs.status = 'running' then 'running' else excluded.status end, ended_at = null, error = null,
            step = case when runs.status in ('running', 'scheduled') then coalesce(runs.step, excluded.step) else excluded.step end,
            execution_id = coalesce(excluded.execution_id, runs.execution_id),
            started_at = case when runs.status = 'running' then runs.started_at else excluded.started_at end,
            attempts = case when runs.status in ('running', 'scheduled') then runs.attempts else runs.attempts + 1 end
      returning (xmax = 0) as inserted`;
    // Inserted here, or re-opened from closed: a start. A row another writer inserted meanwhile (the API's
    // "run now") conflicts and is not counted twice.
    return written.inserted || closed;
  });
  if (superseded) recordRunEnded(superseded.type, 'terminated', superseded.seconds);
  if (counted) recordRunStarted(run.type);
}

/** Records who asked for a run the API started (e.g. "run now" through a schedule, whose own input says
 *  `schedule`). Opens the row when the workflow has not recorded itself yet, and counts that start. */
export async function recordRunRequester(sql: Sql, run: RunStart & { actingUser: string }): Promise<void> {
  const [inserted] = await sql<{ type: string }[]>`
    insert into runs (run_id, type, name, object_name, definition_id, campaign_id, acting_user, status)
    values (${run.runId}, ${run.type}, ${run.name}, ${run.objectName ?? null}, ${run.definitionId ?? null},
            ${run.campaignId ?? null}, ${run.actingUser}, 'running')
    on conflict (run_id) do nothing
    returning type`;
  if (inserted) recordRunStarted(inserted.type);
  else await sql`update runs set acting_user = ${run.actingUser} where run_id = ${run.runId}`;
}

/** A scheduled run begins: its start time is now, not the time it was requested. */
export async function markRunRunning(sql: Sql, runId: string, step: string): Promise<void> {
  await sql`
    update runs set step = ${step}, status = 'running',
      started_at = case when status = 'scheduled' then now() else started_at end
    where run_id = ${runId} and status in ('scheduled', 'running')`;
}

/** Progress of an open run; items and bytes are counted as the delta against the row. */
export async function recordRunProgress(sql: Sql, update: RunUpdate): Promise<void> {
  const [moved] = await sql<Moved[]>`
    with before as (select run_id, progress_done, size_bytes from runs where run_id = ${update.runId} for update)
    update runs set
      step = coalesce(${update.step ?? null}, step),
      progress_done = coalesce(${update.done ?? null}, runs.progress_done),
      progress_total = coalesce(${update.total ?? null}, progress_total),
      size_bytes = coalesce(${update.sizeBytes ?? null}, runs.size_bytes)
    from before where runs.run_id = before.run_id
    returning runs.type, runs.progress_done - before.progress_done as items, runs.size_bytes - before.size_bytes as bytes`;
  countMoved(moved);
}

/** What a run that never recorded its start is known as (from its Temporal execution). */
export type UnrecordedRun = RunStart & { startedAt: Date | null; executionId?: string | null };

/**
 * Closes the run's row. A run that failed before it recorded its start (a deleted definition, a missing
 * campaign) has no row: `unrecorded` describes it and the row is written now, start and end counted, so
 * such runs appear in the task log and the counters too.
 */
export async function recordRunEnd(sql: Sql, end: RunEnd, unrecorded?: () => Promise<UnrecordedRun | undefined>): Promise<void> {
  let [found] = await sql`select 1 from runs where run_id = ${end.runId}`;
  if (!found && unrecorded) {
    const run = await unrecorded();
    if (run) {
      await recordRunStart(sql, run, { startedAt: run.startedAt, executionId: run.executionId ?? null });
      found = [1];
    }
  }
  if (!found) return;
  const [moved] = await sql<(Moved & { seconds: number; was_open: boolean })[]>`
    with before as (select run_id, progress_done, size_bytes, status from runs where run_id = ${end.runId} for update)
    update runs set
      status = ${end.status},
      step = coalesce(${end.step ?? null}, step),
      error = ${end.error ?? null},
      result = ${end.result === undefined ? null : sql.json(end.result as never)},
      size_bytes = coalesce(${end.sizeBytes ?? null}, runs.size_bytes),
      progress_done = coalesce(${end.done ?? null}, runs.progress_done),
      progress_total = coalesce(${end.total ?? null}, progress_total),
      ended_at = now()
    from before where runs.run_id = before.run_id
    returning runs.type, runs.progress_done - before.progress_done as items, runs.size_bytes - before.size_bytes as bytes,
              extract(epoch from now() - runs.started_at)::float8 as seconds,
              before.status in ('running', 'scheduled') as was_open`;
  countMoved(moved);
  // A retried end activity finds the row closed already and does not count the end twice.
  if (moved?.was_open) recordRunEnded(moved.type, end.status, moved.seconds ?? 0);
}

/**
 * Records an end Temporal knows and the workflow could not record (terminated, timed out, its history
 * gone). Only open rows change, so a workflow's own final record always wins a race; returns the row.
 */
export async function recordRunClosedElsewhere<T extends object>(
  sql: Sql, runId: string, state: RunState, error: string | null, endedAt: Date,
): Promise<T | undefined> {
  const [updated] = await sql<(T & { type: string; started_at: Date; ended_at: Date })[]>`
    update runs set status = ${state}, ended_at = coalesce(ended_at, ${endedAt}), error = coalesce(error, ${error})
    where run_id = ${runId} and status in ('running', 'scheduled')
    returning *`;
  if (updated) recordRunEnded(updated.type, state, (updated.ended_at.getTime() - updated.started_at.getTime()) / 1000);
  return updated;
}

/** Records a closed execution that never wrote a row at all (it failed before its first activity). */
export async function recordUnrecordedClosedRun(
  sql: Sql, run: UnrecordedRun, state: Exclude<RunState, 'scheduled' | 'running'>, error: string | null, endedAt: Date,
): Promise<boolean> {
  const [inserted] = await sql<{ type: string; seconds: number }[]>`
    insert into runs (run_id, execution_id, type, name, object_name, definition_id, campaign_id, acting_user,
                      status, step, error, started_at, ended_at)
    values (${run.runId}, ${run.executionId ?? null}, ${run.type}, ${run.name}, ${run.objectName ?? null},
            ${run.definitionId ?? null}, ${run.campaignId ?? null}, ${run.actingUser ?? null}, ${state}, 'starting', ${error},
            coalesce(${run.startedAt}::timestamptz, ${endedAt}::timestamptz), ${endedAt})
    on conflict (run_id) do nothing
    returning type, extract(epoch from ended_at - started_at)::float8 as seconds`;
  if (!inserted) return false;
  recordRunStarted(inserted.type);
  recordRunEnded(inserted.type, state, inserted.seconds);
  return true;
}
