// The task log (seed 000 "Task Log"): every finished run, filtered and sorted by any of its columns.
// Paging is by offset — the log is sorted by arbitrary columns, and finished rows never change order
// except when a late reconciliation adds one — with run_id as the tie-breaker so pages never overlap.
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
  run_id: string; type: string; name: string; object_name: string | null; status: string; step: string | null;
  error: string | null; size_bytes: string; attempts: number; acting_user: string | null;
  started_at: Date; ended_at: Date | null; seconds: number | null;
}

function orderBy(sql: Sql, sort: string) {
  const descending = sort.startsWith('-');
  const key = (descending ? sort.slice(1) : sort) as TaskLogSortKey;
  const column = {
    startedAt: sql`started_at`, endedAt: sql`ended_at`, duration: sql`(ended_at - started_at)`, sizeKb: sql`size_bytes`,
    result: sql`status`, type: sql`type`, objectName: sql`object_name`, taskName: sql`name`, step: sql`step`,
  }[key];
  return descending ? sql`${column} desc nulls last, run_id desc` : sql`${column} asc nulls last, run_id asc`;
}

export function queryTaskLog(sql: Sql, filter: TaskLogFilter, sort: string, limit: number, offset: number): Promise<TaskLogRow[]> {
  const f = filter;
  const statuses = f.result ? [...TASK_LOG_RESULTS[f.result]] : null;
  return sql<TaskLogRow[]>`
    select run_id, type, name, object_name, status, step, error, size_bytes, attempts, acting_user, started_at, ended_at,
           extract(epoch from ended_at - started_at)::float8 as seconds
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
    order by ${orderBy(sql, sort)}
    limit ${limit} offset ${offset}`;
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
