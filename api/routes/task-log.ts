// The task log (seed 000 "Task Log"): every finished run — completed, failed, cancelled, or terminated from
// Temporal UI (recorded by the reconciler) — with the seed's columns, filterable, sortable and paged.
import { z } from 'zod';
import {
  formatDuration, queryTaskLog, taskLogResult, TASK_LOG_RESULTS, TASK_LOG_SORTS, type TaskLogPosition, type TaskLogRow,
} from '../../lib/runs/task-log.js';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest } from '../problem.js';
import { temporalUiUrl } from '../run-view.js';
import { taskTypeName, typeNameField } from './tasks.js';
import { id, iso, isoDateTime, pageQuery, paged } from '../schemas.js';

const sorts = [...TASK_LOG_SORTS, ...TASK_LOG_SORTS.map((key) => `-${key}` as const)] as [string, ...string[]];
const results = Object.keys(TASK_LOG_RESULTS) as [keyof typeof TASK_LOG_RESULTS, ...(keyof typeof TASK_LOG_RESULTS)[]];

const taskLogQuery = pageQuery.extend({
  type: z.string().max(50).optional().describe('job kind, e.g. recording-export'),
  result: z.enum(results).optional().describe('failed includes runs terminated in Temporal'),
  status: z.enum(['completed', 'failed', 'cancelled', 'terminated']).optional().describe('the exact final status'),
  from: isoDateTime.optional().describe('runs that started at or after this time'),
  to: isoDateTime.optional().describe('runs that started before this time'),
  objectName: z.string().min(1).max(200).optional().describe('case-insensitive part of the object name'),
  taskName: z.string().min(1).max(200).optional().describe('case-insensitive part of the task name'),
  campaignId: id.optional(),
  definitionId: id.optional(),
  sort: z.enum(sorts).default('-startedAt').describe('a column, `-` for descending; default newest first'),
});

export const taskLogItem = z.object({
  startedAt: z.string().nullable(), endedAt: z.string().nullable(), objectName: z.string().nullable(), taskName: z.string(),
  duration: z.string().nullable().describe('mm:ss'), sizeKb: z.number(), result: z.enum(results), error: z.string().nullable(),
  type: z.string(), typeName: typeNameField, step: z.string().nullable(), runId: z.string(),
  status: z.enum(['completed', 'failed', 'cancelled', 'terminated']), attempts: z.number().int(), actingUser: z.string().nullable(),
  temporalUiUrl: z.string(),
}).meta({ id: 'TaskLogEntry' });

/** The position after a row, for its sort: [sort, sort value, run_id], base64url. */
function cursorAfter(sort: string, row: TaskLogRow): string {
  return Buffer.from(JSON.stringify([sort, row.sort_key, row.run_id]), 'utf8').toString('base64url');
}

function positionOf(cursor: string | undefined, sort: string): TaskLogPosition | undefined {
  if (!cursor) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== sort || typeof parsed[1] !== 'string' || typeof parsed[2] !== 'string') {
    throw badRequest('The cursor is not valid for this sort; pass the nextCursor of the previous page unchanged, with the same sort.',
      [{ path: 'query.cursor', message: 'not a cursor this API handed out for this sort' }]);
  }
  return { key: parsed[1], runId: parsed[2] };
}

/** Temporal UI's page of the execution an entry records (a reset run's earlier execution has its own). */
function entryUrl(deps: AppDeps, row: TaskLogRow): string {
  const url = temporalUiUrl(deps.config, row.workflow_id);
  return row.run_id !== row.workflow_id && row.execution_id ? `${url}/${encodeURIComponent(row.execution_id)}` : url;
}

function toItem(deps: AppDeps, row: TaskLogRow): z.input<typeof taskLogItem> {
  return {
    startedAt: iso(row.started_at), endedAt: iso(row.ended_at), objectName: row.object_name, taskName: row.name,
    duration: formatDuration(row.seconds), sizeKb: Math.ceil(Number(row.size_bytes) / 1024), result: taskLogResult(row.status),
    error: row.error, type: row.type, typeName: taskTypeName(row.type), step: row.step, runId: row.workflow_id, status: row.status as never, attempts: row.attempts,
    actingUser: row.acting_user, temporalUiUrl: entryUrl(deps, row),
  };
}

export function register(r: RouteRegistry, deps: AppDeps) {
  defineRoute(r, {
    method: 'get', path: '/task-log', role: 'viewer', query: taskLogQuery, response: paged(taskLogItem),
    summary: 'Task log: every finished run with start, end, object, task, duration, size, result, error, type and step',
    description: 'Filter by `type`, `result`, `status`, `from`/`to` (start time), `objectName`, `taskName`, `campaignId`, '
      + '`definitionId`; sort by any column (`sort=duration`, `sort=-sizeKb`). Runs terminated from Temporal UI appear with '
      + 'result `failed`, status `terminated` and the termination reason as the error. Pages follow `nextCursor` (a position '
      + 'after the last row, for the same sort), so runs finishing meanwhile neither repeat nor push rows off a page. A run reset '
      + 'in Temporal has one entry per execution (same `runId`, each with its own `temporalUiUrl`).',
    example: {
      response: {
        items: [{
          startedAt: '2025-03-01T10:15:00.000Z', endedAt: '2025-03-01T10:17:05.000Z', objectName: 'Spring renewals',
          taskName: 'Nightly recordings', duration: '02:05', sizeKb: 5120, result: 'completed', error: null, type: 'recording-export', typeName: null,
          step: 'done', runId: 'recording-export/4-2025-03-01T10:15:00Z', status: 'completed', attempts: 1,
          actingUser: 'schedule', temporalUiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/recording-export%2F4-2025-03-01T10%3A15%3A00Z',
        }],
        nextCursor: 'WyItc3RhcnRlZEF0IiwiMjAyNS0wMy0wMSAxMDoxNTowMCswMCIsInJlY29yZGluZy1leHBvcnQvNC8yMDI1LTAzLTAxVDEwOjE1OjAwLjAwMFoiXQ',
      },
    },
  }, async ({ query }) => {
    const { limit, cursor, sort, ...filter } = query;
    const rows = await queryTaskLog(deps.sql, filter, sort, limit + 1, positionOf(cursor, sort));
    const page = rows.slice(0, limit);
    return { items: page.map((row) => toItem(deps, row)), nextCursor: rows.length > limit ? cursorAfter(sort, page[page.length - 1]) : null };
  });
}
