// The task log (seed 000 "Task Log"): every finished run, filtered and sorted by any of its columns, one
// entry per Temporal execution (a reset run keeps the entry of the execution before it). Paging is by
// keyset — (the sort column, run_id) after the last row of the previous page — so a run finishing between
// two page reads neither shows up twice nor pushes a row off the next page.
import type { Sql } from '../../db/sql.js';

export const TASK_LOG_SORTS = ['startedAt', 'endedAt', 'duration', 'sizeKb', 'result', 'type', 'objectName', 'taskName', 'step'] as const;
export type TaskLogSortKey = (typeof TASK_LOG_SORTS)[number];

/** The results the seed knows; a run terminated in Temporal is a failure in the log (its `status` says more). */
export const TASK_LOG_RESULTS = { completed: ['completed'], failed: ['failed', 'terminated'], cancelled: ['cancelled'] } as const;
export type TaskLogResult = keyof typeof TASK_LOG_RESULTS;

export interface TaskLogFilter {
  type?: string; result?: TaskLogResult; status?: string; from?: string; to?: string;
  objectName?: string; taskName?: string; campaignId?: string; definitionId?: string;
}

export interface TaskLogRow {
  run_id: string; workflow_id: string; execution_id: string | null; type: string; name: string; object_name: string | null;
  status: string; step: string | null; error: string | null; size_bytes: string; attempts: number; acting_user: string | null;
  started_at: Date; ended_at: Date | null; seconds: number | null; sort_key: string;
}

/** Where a page starts: after this sort value and run_id (the last row of the previous page). */
export interface TaskLogPosition { key: string; runId: string }

/** Each sort column as a non-null expression (nulls sort as the empty string / the start time) and the
 *  type its cursor value is read back as. */
function sortColumn(sql: Sql, key: TaskLogSortKey) {
  return {
    startedAt: [sql`started_at`, sql`timestamptz`], endedAt: [sql`coalesce(ended_at, started_at)`, sql`timestamptz`],
    duration: [sql`(coalesce(ended_at, started_at) - started_at)`, sql`interval`], sizeKb: [sql`size_bytes`, sql`bigint`],
    result: [sql`status`, sql`text`], type: [sql`type`, sql`text`], objectName: [sql`coalesce(object_name, '')`, sql`text`],
    taskName: [sql`name`, sql`text`], step: [sql`coalesce(step, '')`, sql`text`],
  }[key];
}

export function queryTaskLog(sql: Sql, filter: TaskLogFilter, sort: string, limit: number, after?: TaskLogPosition): Promise<TaskLogRow[]> {
  const f = filter;
  const statuses = f.result ? [...TASK_LOG_RESULTS[f.result]] : null;
  const descending = sort.startsWith('-');
  const [column, type] = sortColumn(sql, (descending ? sort.slice(1) : sort) as TaskLogSortKey);
  const position = after
    ? descending ? sql`and (${column}, run_id) < (${after.key}::${type}, ${after.runId})` : sql`and (${column}, run_id) > (${after.key}::${type}, ${after.runId})`
    : sql``;
  return sql<TaskLogRow[]>`
    select run_id, coalesce(workflow_id, run_id) as workflow_id, execution_id, type, name, object_name, status, step, error,
           size_bytes, attempts, acting_user, started_at, ended_at, extract(epoch from ended_at - started_at)::float8 as seconds,
           (${column})::text as sort_key
    from runs
    where status not in ('running', 'scheduled')
      ${f.type ? sql`and type = ${f.type}` : sql``}
      ${statuses ? sql`and status in ${sql(statuses)}` : sql``}
      ${f.status ? sql`and status = ${f.status}` : sql``}
      ${f.from ? sql`and started_at >= ${f.from}` : sql``}
      ${f.to ? sql`and started_at < ${f.to}` : sql``}
      ${f.objectName ? sql`and strpos(lower(coalesce(object_name, '')), lower(${f.objectName})) > 0` : sql``}
      ${f.taskName ? sql`and strpos(lower(name), lower(${f.taskName})) > 0` : sql``}
      ${f.campaignId ? sql`and campaign_id = ${f.campaignId}` : sql``}
      ${f.definitionId ? sql`and definition_id = ${f.definitionId}` : sql``}
      ${position}
    order by ${descending ? sql`${column} desc, run_id desc` : sql`${column} asc, run_id asc`}
    limit ${limit}`;
}

/** The seed's "mm:ss"; minutes keep counting past the hour ("125:07"). */
export function formatDuration(seconds: number | null): string | null {
  if (seconds === null || !Number.isFinite(seconds)) return null;
  const whole = Math.max(0, Math.round(seconds));
  return `${String(Math.floor(whole / 60)).padStart(2, '0')}:${String(whole % 60).padStart(2, '0')}`;
}

export function taskLogResult(status: string): TaskLogResult {
  return status === 'completed' ? 'completed' : status === 'cancelled' ? 'cancelled' : 'failed';
}
