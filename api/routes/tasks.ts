// "Scheduled and In-Progress Tasks" (seed 000): the next run of every enabled job definition's schedule,
// runs waiting for a one-off time, and every run in progress with its live step and progress — plus "run
// now" for a scheduled one. Reading the view also reconciles runs Temporal says are closed (api/run-view.ts).
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { MAINTENANCE_SCHEDULES, MAINTENANCE_TYPE } from '../../lib/runs/maintenance.js';
import { definitionSpec } from '../../lib/schedules/definition-spec.js';
import { readFindings } from '../../lib/schedules/findings.js';
import { scheduleStatus, type ScheduleStatus } from '../../lib/schedules/status.js';
import { triggerJobSchedule } from '../../lib/temporal/schedules.js';
import { recordRunRequester } from '../../lib/runs/record.js';
import { RESULTS_EXPORT_TASK_TYPE } from '../../contracts/results.js';
import { isJobKind, JOB_KIND, JOB_KINDS } from '../../contracts/search-attributes.js';
import type { AppDeps } from '../app.js';
import { callerOf } from '../auth.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { conflict, notFound, unprocessable } from '../problem.js';
import { describeRun, temporalUiUrl } from '../run-view.js';
import { id, iso } from '../schemas.js';
import { errorMessage } from '../../shared/error-message.js';
import { visibilityString } from '../../lib/temporal/visibility.js';

const IN_PROGRESS_LIMIT = 500;
const TEMPORAL_CONCURRENCY = 8;
const RUN_NOW_WAIT_MS = 5_000;

const scheduleView = z.object({
  paused: z.boolean(),
  pausedNote: z.string().nullable().describe('paused in Temporal by an engineer (kept by the platform): the note given'),
  drift: z.string().nullable().describe('how the spec in Temporal differs from the definition now; the schedule sync restores the definition\'s'),
  lastDriftRepaired: z.object({ drift: z.string(), at: z.string() }).nullable(),
  heldByAnotherInstallation: z.boolean().describe('a schedule with this id starts another installation\'s workflows: an error, left alone'),
  skippedRuns: z.number().int().describe('runs skipped because the previous one was still running (or caught up by one run)'),
  missedRuns: z.number().int().describe('runs missed in an outage longer than the catch-up window'),
});

/**
 * What the seed's task views call a task type (seed 000, "Scheduled and In Progress Tasks" → Type). `type` stays the
 * job kind (API.md); `typeName` shows the seed's name where the seed has one: the periodic Salesforce export is a
 * periodic export of a campaign's results, so it is the seed's "Campaign results export" too. Null otherwise.
 */
const SEED_TASK_TYPE_NAMES: Record<string, string> = {
  [JOB_KINDS.report]: 'Report execution', [JOB_KINDS.campaignTrigger]: 'Campaign trigger', [JOB_KINDS.resultsExport]: RESULTS_EXPORT_TASK_TYPE,
  [JOB_KINDS.salesforceExport]: RESULTS_EXPORT_TASK_TYPE, [JOB_KINDS.listImport]: 'Calling list import', [JOB_KINDS.exclusionsImport]: 'Import exclusions by account',
};
export const taskTypeName = (type: string): string | null => SEED_TASK_TYPE_NAMES[type] ?? null;
export const typeNameField = z.string().nullable().describe('the seed\'s name of the task type ("Campaign results export", "Report execution", …); null where the seed names none');

const progress = z.object({ done: z.number(), total: z.number().nullable(), percent: z.number().nullable() });

export const taskItem = z.object({
  state: z.enum(['scheduled', 'in progress']),
  nextRunAt: z.string().nullable().optional().describe('scheduled tasks: when the next run starts (null when Temporal has none planned)'),
  startedAt: z.string().nullable().optional().describe('tasks in progress: when the run started'),
  objectName: z.string().nullable().describe('the campaign, list or report the task works on'),
  taskName: z.string(),
  attempts: z.number().int().describe('execution attempts of the run (0 for a task not started yet)'),
  progress: progress.nullable(),
  type: z.string().describe('job kind: recording-export, report, list-import, erasure, ...; maintenance for the platform\'s own schedules'),
  typeName: typeNameField.optional(),
  step: z.string().nullable(),
  runId: z.string().optional(),
  scheduleId: z.string().optional(),
  definitionId: z.string().nullable().optional(),
  runNow: z.string().optional().describe('POST this path to run a scheduled task now'),
  temporalUiUrl: z.string().optional(),
  schedule: scheduleView.optional().describe('scheduled tasks with a Temporal Schedule: its state as Temporal has it (lib/schedules/status.ts)'),
}).meta({ id: 'Task' });
type TaskItem = z.input<typeof taskItem>;

const tasksQuery = z.object({
  type: z.string().max(50).optional().describe('only tasks of this job kind'),
  state: z.enum(['scheduled', 'in progress']).optional(),
});

const runNowReply = z.object({
  runId: z.string().nullable().describe('the workflow id the schedule started (null if Temporal had not started it within 5 s)'),
  scheduleId: z.string(),
});

export function register(r: RouteRegistry, deps: AppDeps) {
  defineRoute(r, {
    method: 'get', path: '/tasks', role: 'viewer', query: tasksQuery, response: z.object({ items: z.array(taskItem) }),
    summary: 'Scheduled and in-progress tasks: next run of every enabled schedule, every running run with step and progress',
    description: 'Scheduled items come from the enabled job definitions (their Temporal Schedule\'s next action time), the platform\'s '
      + 'own schedules tied to no definition (type `maintenance`, e.g. the saved-report retention; `nextRunAt` null while paused), and runs waiting '
      + 'for a one-off time; in-progress items from the runs table, with step and progress from the live `runStatus` query, plus '
      + 'open executions on the task queue that have not recorded themselves yet. Runs Temporal reports closed are reconciled '
      + 'into the task log while this view is read. Sorted by time (in progress first, then the next scheduled).',
    example: {
      response: {
        items: [
          {
            state: 'in progress', startedAt: '2025-03-01T10:15:00.000Z', objectName: 'Spring renewals', taskName: 'Nightly recordings',
            attempts: 1, progress: { done: 120, total: 400, percent: 30 }, type: 'recording-export', step: 'exporting',
            runId: 'recording-export/4-2025-03-01T10:15:00Z', definitionId: '4',
            temporalUiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/recording-export%2F4-2025-03-01T10%3A15%3A00Z',
          },
          {
            state: 'scheduled', nextRunAt: '2025-03-01T11:00:00.000Z', objectName: 'Spring renewals', taskName: 'Hourly best contact',
            attempts: 0, progress: null, type: 'report', step: null, scheduleId: 'report/7', definitionId: '7', runNow: '/tasks/7/run',
          },
          {
            state: 'scheduled', nextRunAt: '2025-03-02T03:17:00.000Z', objectName: 'Saved reports', taskName: 'Remove saved reports older than 30 days',
            attempts: 0, progress: null, type: 'maintenance', step: null, scheduleId: 'report/retention', definitionId: null,
          },
        ],
      },
    },
  }, async ({ query }) => {
    const [scheduled, maintenance, waiting, running] = await Promise.all([
      query.state === 'in progress' ? [] : scheduledTasks(deps, query.type),
      query.state === 'in progress' || (query.type && query.type !== MAINTENANCE_TYPE) ? [] : maintenanceTasks(deps),
      query.state === 'in progress' ? [] : waitingRuns(deps, query.type),
      query.state === 'scheduled' ? [] : runsInProgress(deps, query.type),
    ]);
    const items = [...running, ...waiting, ...scheduled, ...maintenance].sort((a, b) => timeOf(a) - timeOf(b))
      .map((item) => ({ ...item, typeName: taskTypeName(item.type) }));
    return { items };
  });

  defineRoute(r, {
    method: 'post', path: '/tasks/{definitionId}/run', role: 'operator', status: 202, startsWork: true,
    params: z.object({ definitionId: id }), response: runNowReply, errors: [409, 422],
    summary: 'Run a scheduled task now: an immediate action of its Temporal Schedule',
    description: 'The schedule\'s overlap policy applies: when a run of the task is already in progress the request is 409 and '
      + 'names that run. For a definition without a schedule use its job\'s own `/run` endpoint.',
    example: { response: { runId: 'report/7/scheduled-2025-03-01T10:20:31Z', scheduleId: 'report/7' } },
  }, async ({ params, req }) => runNow(deps, params.definitionId, callerOf(req).actor));
}

function timeOf(item: TaskItem): number {
  const at = item.state === 'in progress' ? item.startedAt : item.nextRunAt;
  return at ? Date.parse(at) : Number.MAX_SAFE_INTEGER;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i]); } };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

async function scheduledTasks(deps: AppDeps, type: string | undefined): Promise<TaskItem[]> {
  const findings = await readFindings(deps.sql);
  const rows = await deps.sql<{ id: string; kind: string; name: string; schedule_id: string; object_name: string | null; config: Record<string, unknown> | null }[]>`
    select d.id, d.kind, d.name, d.schedule_id, c.name as object_name, d.config
    from job_definitions d left join campaigns c on c.id = d.campaign_id
    where d.enabled and d.schedule_id is not null ${type ? deps.sql`and d.kind = ${type}` : deps.sql``}
    order by d.id`;
  return mapLimit(rows, TEMPORAL_CONCURRENCY, async (row) => {
    const schedule = await scheduleStatus(deps.client, row.schedule_id, {
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE, spec: definitionSpec(row.kind, row.config), finding: findings.get(row.schedule_id),
    });
    return {
      state: 'scheduled' as const, nextRunAt: iso(schedule?.nextRunAt),
      objectName: row.object_name ?? row.name, taskName: row.name, attempts: 0, progress: null, type: row.kind,
      step: row.kind === JOB_KINDS.campaignTrigger ? String(row.config?.action) : null,
      scheduleId: row.schedule_id, definitionId: row.id, runNow: `/tasks/${row.id}/run`, schedule: schedule && shownSchedule(schedule),
    };
  });
}

/** The platform's own schedules (lib/runs/maintenance.ts) that exist in Temporal. */
async function maintenanceTasks(deps: AppDeps): Promise<TaskItem[]> {
  const found = await mapLimit([...MAINTENANCE_SCHEDULES], TEMPORAL_CONCURRENCY, async (m) => {
    const schedule = await scheduleStatus(deps.client, m.scheduleId, { taskQueue: deps.config.TEMPORAL_TASK_QUEUE });
    if (!schedule) return undefined;
    return {
      state: 'scheduled' as const, nextRunAt: iso(schedule.nextRunAt), objectName: m.objectName, taskName: m.taskName, attempts: 0,
      progress: null, type: MAINTENANCE_TYPE, step: null, scheduleId: m.scheduleId, definitionId: null, schedule: shownSchedule(schedule),
    };
  });
  return found.filter((item) => item !== undefined);
}

function shownSchedule(s: ScheduleStatus): z.input<typeof scheduleView> {
  return {
    paused: s.paused, pausedNote: s.pausedNote, drift: s.drift,
    lastDriftRepaired: s.lastDriftRepaired && { drift: s.lastDriftRepaired.drift, at: s.lastDriftRepaired.at.toISOString() },
    heldByAnotherInstallation: s.heldByAnotherInstallation, skippedRuns: s.skippedRuns, missedRuns: s.missedRuns,
  };
}

/** Runs recorded as waiting for a one-off time (e.g. an import with `scheduledAt`). */
async function waitingRuns(deps: AppDeps, type: string | undefined): Promise<TaskItem[]> {
  const rows = await deps.sql<{ run_id: string; type: string; name: string; object_name: string | null; definition_id: string | null; step: string | null; scheduled_at: Date | null; attempts: number }[]>`
    select run_id, type, name, object_name, definition_id, step, scheduled_at, attempts from runs
    where status = 'scheduled' ${type ? deps.sql`and type = ${type}` : deps.sql``}
    order by scheduled_at nulls last limit ${IN_PROGRESS_LIMIT}`;
  return rows.map((row) => ({
    state: 'scheduled' as const, nextRunAt: iso(row.scheduled_at), objectName: row.object_name, taskName: row.name,
    attempts: 0, progress: null, type: row.type, step: row.step, runId: row.run_id, definitionId: row.definition_id,
    temporalUiUrl: temporalUiUrl(deps.config, row.run_id),
  }));
}

async function runsInProgress(deps: AppDeps, type: string | undefined): Promise<TaskItem[]> {
  const rows = await deps.sql<{ run_id: string; definition_id: string | null }[]>`
    select run_id, definition_id from runs where status = 'running' ${type ? deps.sql`and type = ${type}` : deps.sql``}
    order by started_at limit ${IN_PROGRESS_LIMIT}`;
  const views = await mapLimit(rows, TEMPORAL_CONCURRENCY, (row) => describeRun(deps, row.run_id));
  const items: TaskItem[] = [];
  views.forEach((view, i) => {
    if (!view || (view.status !== 'running' && view.status !== 'scheduled')) return; // reconciled just now
    items.push({
      state: 'in progress', startedAt: view.startedAt, objectName: view.objectName, taskName: view.name, attempts: view.attempts,
      progress: view.progress, type: view.type, step: view.step, runId: view.runId, definitionId: rows[i].definition_id,
      temporalUiUrl: view.temporalUiUrl,
    });
  });
  const known = new Set(rows.map((row) => row.run_id));
  return [...items, ...await unrecordedExecutions(deps, known, type)];
}

/** Open executions on the platform's task queue that have no runs row yet: started, but no worker has
 *  run their first activity (e.g. every worker is down). Visibility is eventually consistent: best effort. */
async function unrecordedExecutions(deps: AppDeps, known: Set<string>, type: string | undefined): Promise<TaskItem[]> {
  const queue = deps.config.TEMPORAL_TASK_QUEUE.replace(/['\\]/g, '');
  const items: TaskItem[] = [];
  try {
    for await (const execution of deps.client.workflow.list({ query: `TaskQueue = ${visibilityString(queue)} AND ExecutionStatus = 'Running'`, pageSize: 100 })) {
      if (items.length >= IN_PROGRESS_LIMIT) break;
      if (known.has(execution.workflowId)) continue;
      const kind = execution.typedSearchAttributes.get(JOB_KIND) ?? execution.type;
      if (!isJobKind(kind)) continue; // plumbing such as a campaign's lock workflow is not a task
      if (type && kind !== type) continue;
      if (await hasRow(deps, execution.workflowId)) continue; // recorded itself since the read above
      items.push({
        state: 'in progress', startedAt: iso(execution.startTime), objectName: null, taskName: execution.type, attempts: 1,
        progress: null, type: kind, step: 'waiting for a worker', runId: execution.workflowId,
        temporalUiUrl: temporalUiUrl(deps.config, execution.workflowId),
      });
    }
  } catch (err) {
    deps.log?.warn({ err: errorMessage(err) }, 'listing open executions failed; the task view shows recorded runs only');
  }
  return items;
}

async function hasRow(deps: AppDeps, runId: string): Promise<boolean> {
  const [row] = await deps.sql`select 1 from runs where run_id = ${runId}`;
  return !!row;
}

async function runNow(deps: AppDeps, definitionId: string, actingUser: string) {
  const [definition] = await deps.sql<{ name: string; kind: string; schedule_id: string | null; campaign_id: string | null; object_name: string | null }[]>`
    select d.name, d.kind, d.schedule_id, d.campaign_id, c.name as object_name
    from job_definitions d left join campaigns c on c.id = d.campaign_id where d.id = ${definitionId}`;
  if (!definition) throw notFound(`Job definition ${definitionId} does not exist.`);
  if (!definition.schedule_id) {
    throw unprocessable(`The job definition "${definition.name}" has no schedule; start it with its job's own /run endpoint.`);
  }
  const scheduleId = definition.schedule_id;
  const before = await describeSchedule(deps.client, scheduleId, definition.name);
  const seen = new Set(before.info.recentActions.map((a) => a.action.workflow.workflowId));
  await triggerJobSchedule(deps.client, scheduleId);
  const deadline = Date.now() + RUN_NOW_WAIT_MS;
  while (Date.now() < deadline) {
    const now = await describeSchedule(deps.client, scheduleId, definition.name);
    const started = [...now.info.recentActions].reverse().find((a) => !seen.has(a.action.workflow.workflowId));
    if (started) {
      const runId = started.action.workflow.workflowId;
      // The schedule's own input says `schedule`: the run record names the caller who asked.
      await recordRunRequester(deps.sql, {
        runId, type: definition.kind, name: definition.name, objectName: definition.object_name ?? definition.name,
        definitionId, campaignId: definition.campaign_id, actingUser,
      });
      return { runId, scheduleId };
    }
    if (before.info.runningActions.length) {
      const running = before.info.runningActions[0].workflow.workflowId;
      throw conflict(`A run of "${definition.name}" is already in progress (${running}); the schedule does not start another while it runs.`, { runId: running });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { runId: null, scheduleId };
}

async function describeSchedule(client: Client, scheduleId: string, name: string) {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      throw conflict(`The schedule ${scheduleId} of "${name}" does not exist in Temporal; save the job definition again to recreate it.`);
    }
    throw err;
  }
}
