// Periodic results export jobs (API.md "Campaign results", seed 000 "Periodic Export Jobs"): rows of
// job_definitions (kind 'results-export') and a Temporal Schedule each (every `every` from `startAt`, paused
// exactly when the job is disabled). "Run now" starts a run at once; it and the schedule's runs share the job's
// watermark, so together they still partition the results exactly (lib/results/exports.ts).
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import {
  everySeconds, loadResultsExportJob, minimumEverySeconds, resultsExportScheduleSchema, type ResultsExportConfig, type ResultsExportJob,
} from '../../lib/results/export-jobs.js';
import { upsertResultsExportSchedule } from '../../lib/results/schedules.js';
import { storedScheduleId } from '../../lib/schedules/stored-id.js';
import { stripUndefined } from '../../shared/strip-undefined.js';
import { nextRunTime } from '../../lib/temporal/schedules.js';
import {
  RESULTS_EXPORT_KIND, RESULTS_EXPORT_TASK_TYPE, RESULTS_EXPORT_WORKFLOW, resultsExportManualWorkflowId,
} from '../../contracts/results.js';
import type { AppDeps } from '../app.js';
import { callerOf } from '../auth.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest, type FieldError } from '../problem.js';
import { id, idParams, iso } from '../schemas.js';
import { definitionRoutes } from './definition-routes.js';
import { destinationTested, testDestination } from './destinations.js';
import { checkListIds, dispositionsField, listIdsField, resultsFormat, timezoneField } from './results-fields.js';

const fields = {
  name: z.string().trim().min(1).max(200), enabled: z.boolean(), campaignId: id, format: resultsFormat,
  listIds: listIdsField, dispositions: dispositionsField, schedule: resultsExportScheduleSchema, destinationId: id,
  path: z.string().trim().min(1).max(1024).refine((p) => !p.split('/').includes('..'), { message: 'must not contain ..' })
    .describe('file path at the destination; _<yyyyMMdd_HHmmss> (the run\'s time) is inserted before the extension'),
  timezone: timezoneField.describe('zone of the times in the file and the file name; default the campaign\'s'),
};
const createBody = z.object({
  ...fields, enabled: fields.enabled.default(true), listIds: fields.listIds.default([]), dispositions: fields.dispositions.default('all'),
  timezone: fields.timezone.optional(),
}).strict();
const patchBody = z.object({
  name: fields.name.optional(), enabled: fields.enabled.optional(), format: fields.format.optional(), listIds: fields.listIds.optional(),
  dispositions: fields.dispositions.optional(), schedule: fields.schedule.optional(), destinationId: fields.destinationId.optional(),
  path: fields.path.optional(), timezone: fields.timezone.optional(),
}).strict().describe('only the fields sent change; the campaign cannot change');

const jobView = z.object({
  id: z.string(), scheduleId: z.string(), type: z.literal(RESULTS_EXPORT_TASK_TYPE), name: z.string(), enabled: z.boolean(), campaignId: z.string(),
  format: fields.format, listIds: z.array(z.string()), dispositions: fields.dispositions, schedule: fields.schedule,
  destinationId: z.string(), path: z.string(), timezone: z.string().nullable(), nextRunAt: z.string().nullable(),
  collectedThrough: z.string().nullable().describe('the collection time the last run covered up to (the next run starts after it)'),
}).meta({ id: 'ResultsExportJob' });

const EXAMPLE = {
  id: '9', scheduleId: 'results-export/9', type: RESULTS_EXPORT_TASK_TYPE, name: 'Hourly results', enabled: true, campaignId: '1', format: 'detailed' as const,
  listIds: ['3'], dispositions: 'all' as const, schedule: { startAt: '2025-03-01T10:00:00Z', every: '1h' }, destinationId: '2',
  path: 'results/spring.csv', timezone: null, nextRunAt: '2025-03-01T11:00:00.000Z', collectedThrough: '2025-03-01T10:00:00.000Z',
};

function checkInterval(config: Pick<ResultsExportConfig, 'format' | 'schedule'>): void {
  const min = minimumEverySeconds(config.format);
  if (everySeconds(config.schedule.every) < min) {
    throw badRequest(`The export interval is too short; see errors.`, [{ path: 'schedule.every', message: `must be at least ${min / 60 >= 60 ? '1h' : '15m'} for the ${config.format} format (seed 000)` }]);
  }
}

async function checkReferences(sql: Sql, campaignId: string, config: ResultsExportConfig): Promise<void> {
  const errors: FieldError[] = [];
  const [campaign] = await sql`select id from campaigns where id = ${campaignId}`;
  if (!campaign) errors.push({ path: 'campaignId', message: `campaign ${campaignId} does not exist` });
  const [destination] = await sql`select id from destinations where id = ${config.destinationId}`;
  if (!destination) errors.push({ path: 'destinationId', message: `destination ${config.destinationId} does not exist` });
  if (errors.length) throw badRequest('The job refers to things that do not exist; see errors.', errors);
  await checkListIds(sql, campaignId, config.listIds);
}

export function registerResultsExportJobs(r: RouteRegistry, deps: AppDeps): void {
  const { sql, client, keyring } = deps;
  const taskQueue = deps.config.TEMPORAL_TASK_QUEUE;
  const jobs = definitionRoutes(r, deps, {
    path: '/results-export-jobs', kind: RESULTS_EXPORT_KIND, noun: 'results export job', load: loadResultsExportJob, viewSchema: jobView,
    view: async (job: ResultsExportJob): Promise<z.input<typeof jobView>> => {
      const scheduleId = await storedScheduleId(sql, job.id);
      const [mark] = await sql<{ collected_through: Date }[]>`select collected_through from results_export_watermarks where job_id = ${job.id} and last_run_id <> ''`;
      return {
        id: job.id, scheduleId, type: RESULTS_EXPORT_TASK_TYPE, name: job.name, enabled: job.enabled, campaignId: job.campaignId,
        format: job.config.format, listIds: job.config.listIds, dispositions: job.config.dispositions, schedule: job.config.schedule,
        destinationId: job.config.destinationId, path: job.config.path, timezone: job.config.timezone ?? null,
        nextRunAt: iso(await nextRunTime(client, scheduleId).catch(() => null)), collectedThrough: iso(mark?.collected_through),
      };
    },
  });
  const schedule = (job: { id: string; campaignId: string }, config: ResultsExportConfig, enabled: boolean, saved?: { scheduleId: string; resume: boolean }) =>
    upsertResultsExportSchedule(client, { definitionId: job.id, campaignId: job.campaignId, config, enabled, taskQueue, ...saved }).catch(jobs.refuseForeignSchedule);

  jobs.create({
    body: createBody, errors: [409],
    summary: 'Create a periodic results export job: every `every` from `startAt` (at least 1h, 15m for detailed-in-timeframe), one file per run with the results since the previous run',
    example: {
      body: { name: 'Hourly results', enabled: true, campaignId: '1', format: 'detailed', listIds: ['3'], dispositions: 'all', schedule: { startAt: '2025-03-01T10:00:00Z', every: '1h' }, destinationId: '2', path: 'results/spring.csv' },
      response: { id: '9', scheduleId: 'results-export/9' },
    },
  }, async ({ body, req }) => {
    const { name, enabled, campaignId, ...rest } = body;
    const config: ResultsExportConfig = stripUndefined(rest) as ResultsExportConfig;
    checkInterval(config);
    await checkReferences(sql, campaignId, config);
    return jobs.insertScheduled(name, async (tx) => {
      const [row] = await tx<{ id: string }[]>`
        insert into job_definitions (kind, name, enabled, campaign_id, config, created_by)
        values (${RESULTS_EXPORT_KIND}, ${name}, ${enabled}, ${campaignId}, ${tx.json(config as never)}, ${callerOf(req).actor})
        returning id::text`;
      return row.id;
    }, (id) => schedule({ id, campaignId }, config, enabled));
  });

  jobs.list({ summary: 'List results export jobs', example: { response: { items: [EXAMPLE], nextCursor: null } } });

  jobs.get({ summary: 'A results export job, with its next run time and how far its runs have exported', example: { response: EXAMPLE } });

  jobs.patch({
    body: patchBody, errors: [409],
    summary: 'Change a job; enabled false/true pauses/resumes its schedule; the next run still starts where the last one ended',
    example: { body: { enabled: false, schedule: { startAt: '2025-03-01T10:00:00Z', every: '2h' } }, response: { ...EXAMPLE, enabled: false, schedule: { startAt: '2025-03-01T10:00:00Z', every: '2h' }, nextRunAt: null } },
  }, async (job, body) => {
    const { name = job.name, enabled = job.enabled, ...changes } = body;
    const config = { ...job.config, ...stripUndefined(changes) } as ResultsExportConfig;
    checkInterval(config);
    await checkReferences(sql, job.campaignId, config);
    await jobs.updateScheduled(job, name, (tx) => tx`
      update job_definitions set name = ${name}, enabled = ${enabled}, config = ${tx.json(config as never)}, updated_at = now() where id = ${job.id}`,
    (scheduleId) => schedule(job, config, enabled, { scheduleId, resume: body.enabled === true }));
  });

  jobs.delete({ summary: 'Delete a job and its schedule (a run in progress fails; files already sent stay at the destination)' });

  jobs.run({
    summary: 'Run the job now: the results collected since its previous run, up to now (a scheduled run then starts after these)',
    example: { response: { runId: 'results-export/9/2025-03-01T10:30:00.000Z' } },
  }, (job, caller) => jobs.startRun(job, caller, {
    kind: RESULTS_EXPORT_KIND, workflowType: RESULTS_EXPORT_WORKFLOW, workflowId: resultsExportManualWorkflowId(job.id, new Date()),
    input: { jobId: job.id, triggeredBy: caller.actor },
  }));

  defineRoute(r, {
    method: 'post', path: '/results-export-jobs/{id}/test', role: 'operator', params: idParams, response: destinationTested, errors: [422],
    summary: 'Test the connection of the job\'s destination (connect, log in, write and remove a probe file); 422 names the failing stage',
    example: { response: { ok: true } },
  }, async ({ params }) => testDestination(sql, keyring, (await jobs.load(params.id)).config.destinationId));
}
