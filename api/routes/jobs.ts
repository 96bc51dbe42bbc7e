// Jobs made of steps (API.md "Jobs made of steps", seed 002): definitions (trigger, steps, failure
// notification), run now, and the per-step history of runs. The step graph is validated on save; a run
// interprets the definition as it was when it started (workflows/job.ts).
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { jobFields, type JobConfig, type JobDefinition } from '../../lib/jobs/definition.js';
import {
  deleteJobDefinition, insertJobDefinition, JobNameTakenError, listJobDefinitions, loadJobDefinition, updateJobDefinition,
} from '../../lib/jobs/definitions.js';
import { jobHistory } from '../../lib/jobs/history.js';
import { definitionErrors } from '../../lib/jobs/references.js';
import { jobSchedule } from '../../lib/jobs/schedules.js';
import { JOB_WORKFLOW, jobManualWorkflowId, type JobRunInput } from '../../contracts/job.js';
import { JOB_KINDS, runSearchAttributes, triggeredByKey } from '../../contracts/search-attributes.js';
import type { AppDeps } from '../app.js';
import { callerOf, type Caller } from '../auth.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest, conflict, notFound } from '../problem.js';
import { decodeCursor, idParams, iso, pageOf, pageQuery, paged, runAccepted } from '../schemas.js';

const createBody = z.object({
  name: jobFields.name, enabled: jobFields.enabled.default(true), trigger: jobFields.trigger, steps: jobFields.steps,
  notify: jobFields.notify.optional(),
});

const patchBody = z.object({
  name: jobFields.name.optional(), enabled: jobFields.enabled.optional(), trigger: jobFields.trigger.optional(),
  steps: jobFields.steps.optional().describe('replaces all steps'), notify: jobFields.notify.optional(),
}).strict().refine((body) => Object.values(body).some((value) => value !== undefined), 'send at least one field to change');

const jobView = z.object({
  id: z.string(), name: z.string(), enabled: z.boolean(),
  trigger: z.looseObject({ kind: z.string() }), steps: z.array(z.looseObject({ name: z.string(), kind: z.string() })),
  notify: z.object({ onFailure: z.array(z.string()) }),
  scheduleId: z.string().nullable(), nextRunAt: z.string().nullable().describe('schedule trigger: the next run (null while disabled)'),
  createdAt: z.string(), updatedAt: z.string(),
}).meta({ id: 'Job' });

const listQuery = pageQuery.extend({
  q: z.string().max(200).optional().describe('only jobs whose name contains this (case-insensitive)'),
  showDisabled: z.enum(['true', 'false']).default('false').transform((v) => v === 'true').describe('include disabled jobs'),
});

const historyStep = z.object({
  name: z.string(), kind: z.string(), status: z.string(), childRunId: z.string().nullable().describe('the child workflow of a report, recording-export or list-import step'),
  startedAt: z.string(), endedAt: z.string().nullable(), error: z.string().nullable(), output: z.unknown(),
});
const historyRun = z.object({
  runId: z.string(), status: z.string(), step: z.string().nullable(), startedAt: z.string(), endedAt: z.string().nullable(), error: z.string().nullable(),
  triggeredBy: z.string().nullable(), steps: z.array(historyStep),
}).meta({ id: 'JobRun' });

const EXAMPLE_STEPS = [
  { name: 'daily report', kind: 'report', reportId: '4', onFailure: 'tell ops' },
  { name: 'to client sftp', kind: 'copy', destinationId: '2', path: 'outbound/' },
  { name: 'mail it', kind: 'email', to: ['ops@example.com'], attach: 'previous', onSuccess: 'end' },
  { name: 'tell ops', kind: 'email', to: ['ops@example.com'], subject: 'Daily report failed', onSuccess: 'fail' },
];
const EXAMPLE_VIEW = {
  id: '9', name: 'Daily report to client', enabled: true, trigger: { kind: 'schedule', preset: 'end-of-day' }, steps: EXAMPLE_STEPS,
  notify: { onFailure: ['ops@example.com'] }, scheduleId: 'job/9', nextRunAt: '2025-03-02T00:00:00.000Z',
  createdAt: '2025-03-01T09:00:00.000Z', updatedAt: '2025-03-01T09:00:00.000Z',
};

export function register(r: RouteRegistry, deps: AppDeps) {
  const { sql, client } = deps;
  const taskQueue = deps.config.TEMPORAL_TASK_QUEUE;
  const schedules = jobSchedule(client, taskQueue);
  const load = async (jobId: string) => {
    const def = await loadJobDefinition(sql, jobId);
    if (!def) throw notFound(`Job ${jobId} does not exist.`);
    return def;
  };
  const check = async (config: JobConfig) => {
    const errors = await definitionErrors(sql, config.trigger, config.steps);
    if (errors.length) throw badRequest(`The job's steps or trigger are not valid: ${errors[0].message}.`, errors);
  };
  const view = async (def: JobDefinition): Promise<z.input<typeof jobView>> => {
    const scheduled = await schedules.shown(sql, def);
    return {
      id: def.id, name: def.name, enabled: def.enabled, trigger: def.config.trigger, steps: def.config.steps,
      notify: { onFailure: def.config.notify?.onFailure ?? [] }, ...scheduled, createdAt: iso(def.createdAt)!, updatedAt: iso(def.updatedAt)!,
    };
  };
  const nameTaken = (err: unknown): never => {
    if (err instanceof JobNameTakenError) throw conflict(err.message);
    throw err;
  };

  defineRoute(r, {
    method: 'post', path: '/jobs', role: 'admin', status: 201, body: createBody, errors: [409],
    response: z.object({ id: z.string() }),
    summary: 'Create a job: a trigger and a chain of steps, each with its next step on success and on failure',
    description: 'Triggers: manual, schedule (seed crontab or a preset), campaign-end, file-arrival. Steps: report, recording-export, '
      + 'list-import, email, copy. By default success goes to the next step and failure fails the run; an unknown step name, a cycle '
      + 'or an unreachable step is 400 naming the step.',
    example: { body: { name: 'Daily report to client', trigger: { kind: 'schedule', preset: 'end-of-day' }, steps: EXAMPLE_STEPS, notify: { onFailure: ['ops@example.com'] } }, response: { id: '9' } },
  }, async ({ body, req }) => {
    const config: JobConfig = { trigger: body.trigger, steps: body.steps, notify: body.notify ?? { onFailure: [] } };
    await check(config);
    const id = await sql.begin(async (tx) => {
      const jobId = await insertJobDefinition(tx as never, { name: body.name, enabled: body.enabled, config, createdBy: callerOf(req).actor }).catch(nameTaken);
      // Inside the transaction: if Temporal refuses the schedule, no definition is left behind.
      await schedules.save(tx as never, jobId, { enabled: body.enabled, config }, null);
      return jobId;
    });
    return { id };
  });

  defineRoute(r, {
    method: 'get', path: '/jobs', role: 'viewer', query: listQuery, response: paged(jobView),
    summary: 'List jobs (enabled ones unless showDisabled=true), filtered by name with q',
    example: { response: { items: [EXAMPLE_VIEW], nextCursor: null } },
  }, async ({ query }) => {
    const rows = await listJobDefinitions(sql, { q: query.q, showDisabled: query.showDisabled, after: decodeCursor(query.cursor), limit: query.limit + 1 });
    const page = pageOf(rows, query.limit);
    return { items: await Promise.all(page.items.map(view)), nextCursor: page.nextCursor };
  });

  defineRoute(r, {
    method: 'get', path: '/jobs/{id}', role: 'viewer', params: idParams, response: jobView,
    summary: 'A job with its steps and, for a schedule trigger, its next run', example: { response: EXAMPLE_VIEW },
  }, async ({ params }) => view(await load(params.id)));

  defineRoute(r, {
    method: 'patch', path: '/jobs/{id}', role: 'admin', params: idParams, body: patchBody, response: jobView, errors: [409],
    summary: 'Change a job; only the fields sent change (steps are replaced as a whole). Runs in progress keep the definition they started with',
    example: { body: { enabled: false }, response: { ...EXAMPLE_VIEW, enabled: false, nextRunAt: null } },
  }, async ({ params, body }) => {
    const def = await load(params.id);
    const config: JobConfig = { trigger: body.trigger ?? def.config.trigger, steps: body.steps ?? def.config.steps, notify: body.notify ?? def.config.notify };
    await check(config);
    const saved = { name: body.name ?? def.name, enabled: body.enabled ?? def.enabled, config };
    const previous = await sql.begin(async (tx) => {
      const [row] = await tx<{ schedule_id: string | null }[]>`select schedule_id from job_definitions where id = ${def.id} for no key update`;
      await updateJobDefinition(tx as never, def.id, saved).catch(nameTaken);
      await schedules.save(tx as never, def.id, saved, row?.schedule_id ?? null, body.enabled === true);
      return row?.schedule_id ?? null;
    });
    // A schedule no longer wanted goes once the definition without it is committed (the sync decides under its row lock).
    await schedules.removeUnwanted(saved.config, previous);
    return view(await load(def.id));
  });

  defineRoute(r, {
    method: 'delete', path: '/jobs/{id}', role: 'admin', params: idParams,
    summary: 'Delete a job and its schedule; runs in progress finish with the definition they started with',
  }, async ({ params }) => {
    const deleted = await deleteJobDefinition(sql, params.id);
    if (!deleted) throw notFound(`Job ${params.id} does not exist.`);
    if (deleted.scheduleId) await schedules.remove(deleted.scheduleId);
  });

  defineRoute(r, {
    method: 'post', path: '/jobs/{id}/run', role: 'operator', status: 202, startsWork: true, params: idParams, response: runAccepted,
    summary: 'Run the job now, whatever its trigger (a file-arrival job\'s steps then have no trigger file)',
    example: { response: { runId: 'job/9/2025-03-01T10:30:00.000Z' } },
  }, async ({ params, req }) => {
    const def = await load(params.id);
    return { runId: await startJobRun(client, taskQueue, def, callerOf(req)) };
  });

  defineRoute(r, {
    method: 'get', path: '/jobs/{id}/history', role: 'viewer', params: idParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) }),
    response: z.object({ items: z.array(historyRun) }),
    summary: 'The job\'s runs, newest first, each with its steps: status, times, error and output',
    example: { response: { items: [{
      runId: 'job/9/2025-03-01T10:30:00.000Z', status: 'completed', step: 'mail it', startedAt: '2025-03-01T10:30:00.000Z', endedAt: '2025-03-01T10:30:09.000Z',
      error: null, triggeredBy: 'key:ops', steps: [{ name: 'daily report', kind: 'report', status: 'completed', childRunId: 'job/9/2025-03-01T10:30:00.000Z/step-0-daily_report',
        startedAt: '2025-03-01T10:30:00.000Z', endedAt: '2025-03-01T10:30:05.000Z', error: null, output: { fileName: 'daily.csv', rows: 120 } }],
    }] } },
  }, async ({ params, query }) => {
    await load(params.id);
    const runs = await jobHistory(sql, params.id, query.limit);
    return {
      items: runs.map((run) => ({
        runId: run.runId, status: run.status, step: run.step, startedAt: iso(run.startedAt)!, endedAt: iso(run.endedAt), error: run.error, triggeredBy: run.triggeredBy,
        steps: run.steps.map((s) => ({ name: s.name, kind: s.kind, status: s.status, childRunId: s.childId, startedAt: iso(s.startedAt)!, endedAt: iso(s.endedAt), error: s.error, output: s.output ?? null })),
      })),
    };
  });
}

async function startJobRun(client: Client, taskQueue: string, def: JobDefinition, caller: Caller): Promise<string> {
  const workflowId = jobManualWorkflowId(def.id, new Date());
  const input: JobRunInput = { definitionId: def.id, triggeredBy: caller.actor };
  await client.workflow.start(JOB_WORKFLOW, {
    taskQueue, workflowId, args: [input],
    typedSearchAttributes: runSearchAttributes({ kind: JOB_KINDS.job, campaignId: def.campaignId, definitionId: def.id, triggeredBy: triggeredByKey(caller.keyId) }),
  });
  return workflowId;
}
