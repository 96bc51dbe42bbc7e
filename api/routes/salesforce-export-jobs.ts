// Periodic Salesforce export jobs (API.md "Campaign results"): each a row in job_definitions and a Temporal Schedule
// running the salesforceExport workflow, paused exactly when the job is disabled. The field mapping is checked
// against the object's describe on save (400 naming each bad field); "test" creates one object from the mapping;
// "run" starts a run at once (409 while one of the job is open). Registered by api/routes/salesforce.ts.
import { z } from 'zod';
import { requireAccount, SalesforceAccountNotFoundError } from '../../lib/salesforce/accounts.js';
import { salesforceJobConfigSchema, salesforceScheduleSchema, type SalesforceJobConfig } from '../../lib/salesforce/definition.js';
import { customFieldNames, insertSalesforceJob, loadSalesforceJob, shownExportCreatedAfter, type SalesforceJob } from '../../lib/salesforce/jobs.js';
import { forgetFailures } from '../../lib/salesforce/ledger.js';
import { fieldTypes, mappingErrors, recordOf, RESULT_COLUMNS, sampleRow } from '../../lib/salesforce/mapping.js';
import { createOne, describeObject, SalesforceProbeError, withSalesforce } from '../../lib/salesforce/probe.js';
import { upsertSalesforceSchedule } from '../../lib/salesforce/schedules.js';
import { externalKey } from '../../lib/salesforce/send.js';
import { storedScheduleId } from '../../lib/schedules/stored-id.js';
import { stripUndefined } from '../../shared/strip-undefined.js';
import { nextRunTime } from '../../lib/temporal/schedules.js';
import {
  SALESFORCE_EXPORT_KIND, SALESFORCE_EXPORT_WORKFLOW, salesforceExportManualWorkflowId, type SalesforceExportInput,
} from '../../contracts/salesforce-export.js';
import type { AppDeps } from '../app.js';
import { callerOf } from '../auth.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest, conflict, Problem, type FieldError } from '../problem.js';
import { id, idParams, iso, isoDateTime } from '../schemas.js';
import { definitionRoutes } from './definition-routes.js';

const config = salesforceJobConfigSchema.shape;
const fields = {
  name: z.string().trim().min(1).max(200), enabled: z.boolean(), campaignId: id, format: config.format,
  listIds: config.listIds, dispositions: config.dispositions, exportCreatedAfter: isoDateTime.describe('only records completed after this time are exported'),
  schedule: salesforceScheduleSchema, accountId: config.accountId, object: config.object,
  fieldMap: config.fieldMap.describe(`{ "<Salesforce field>": "<result column>" }; columns: ${Object.keys(RESULT_COLUMNS).join(', ')} or a custom field`),
  externalIdField: config.externalIdField.describe('an External ID field of the object: results are upserted on it (exactly once, whatever is retried)'),
};
const createBody = z.object({ ...fields, enabled: fields.enabled.default(true), dispositions: fields.dispositions.default('all') });
const patchBody = z.object({
  name: fields.name.optional(), enabled: fields.enabled.optional(), format: fields.format.optional(), listIds: fields.listIds.nullable().optional(),
  dispositions: fields.dispositions.optional(), exportCreatedAfter: fields.exportCreatedAfter.optional(), schedule: fields.schedule.optional(),
  accountId: fields.accountId.optional(), object: fields.object.optional(), fieldMap: fields.fieldMap.optional(), externalIdField: fields.externalIdField.nullable().optional(),
}).describe('only the fields sent change; exportCreatedAfter resets the watermark; null clears listIds/externalIdField');

const jobView = z.object({
  id: z.string(), scheduleId: z.string(), name: z.string(), enabled: z.boolean(), campaignId: z.string(), format: fields.format,
  listIds: z.array(z.string()).optional(), dispositions: fields.dispositions,
  exportCreatedAfter: z.string().describe('the floor, or the newest completion time among the records sent since it was set'),
  schedule: salesforceScheduleSchema, accountId: z.string(), object: z.string(), fieldMap: z.record(z.string(), z.string()),
  externalIdField: z.string().optional(), nextRunAt: z.string().nullable(),
}).meta({ id: 'SalesforceExportJob' });

const example = {
  name: 'Results to Salesforce', enabled: true, campaignId: '1', format: 'simple' as const, dispositions: 'all' as const,
  exportCreatedAfter: '2025-03-01T00:00:00Z', schedule: { every: '15m' }, accountId: '1', object: 'Call_Result__c',
  fieldMap: { Name: 'name', Client_Id__c: 'client_id', Disposition__c: 'disposition', Closed_At__c: 'closed_at' }, externalIdField: 'Result_Key__c',
};

export function registerSalesforceExportJobs(r: RouteRegistry, deps: AppDeps) {
  const { sql, client, keyring } = deps;
  const taskQueue = deps.config.TEMPORAL_TASK_QUEUE;
  const jobs = definitionRoutes(r, deps, {
    path: '/salesforce-export-jobs', kind: SALESFORCE_EXPORT_KIND, noun: 'Salesforce export job', load: loadSalesforceJob, viewSchema: jobView,
    view: async (job: SalesforceJob): Promise<z.input<typeof jobView>> => {
      const scheduleId = await storedScheduleId(sql, job.id);
      const c = job.config;
      return {
        id: job.id, scheduleId, name: job.name, enabled: job.enabled, campaignId: job.campaignId, format: c.format, ...(c.listIds ? { listIds: c.listIds } : {}),
        dispositions: c.dispositions, exportCreatedAfter: shownExportCreatedAfter(job.watermark), schedule: { every: c.schedule.every, ...(c.startAt ? { startAt: c.startAt } : {}) },
        accountId: c.accountId, object: c.object, fieldMap: c.fieldMap, ...(c.externalIdField ? { externalIdField: c.externalIdField } : {}),
        nextRunAt: iso(await nextRunTime(client, scheduleId).catch(() => null)),
      };
    },
  });
  /** 400 for references that do not exist and for every mapping problem (the describe is Salesforce's). */
  const validate = async (campaignId: string, c: SalesforceJobConfig) => {
    const errors: FieldError[] = [];
    const [campaign] = await sql`select id from campaigns where id = ${campaignId}`;
    if (!campaign) errors.push({ path: 'campaignId', message: `campaign ${campaignId} does not exist` });
    if (c.listIds) {
      const found = await sql<{ id: string }[]>`select id from calling_lists where campaign_id = ${campaignId} and id = any(${c.listIds}::bigint[])`;
      for (const listId of c.listIds.filter((l) => !found.some((f) => f.id === l))) errors.push({ path: 'listIds', message: `list ${listId} is not a list of campaign ${campaignId}` });
    }
    const account = await requireAccount(sql, keyring, c.accountId).catch((err: unknown) => {
      if (err instanceof SalesforceAccountNotFoundError) errors.push({ path: 'accountId', message: `Salesforce account ${c.accountId} does not exist` });
      else throw err;
    });
    if (errors.length || !account) throw badRequest('The job refers to things that do not exist; see errors.', errors);
    const described = await withSalesforce(account, (conn) => describeObject(conn, c.object)).catch((err: unknown) => {
      if ((err as { stage?: string; permanent?: boolean }).stage === 'describe' && (err as { permanent?: boolean }).permanent) {
        throw badRequest(`Salesforce has no object ${c.object} this account can see.`, [{ path: 'object', message: `Salesforce object ${c.object} does not exist or is not accessible` }]);
      }
      return probeProblem(err);
    });
    const custom = await customFieldNames(sql, campaignId, Object.values(c.fieldMap).filter((col) => !(col in RESULT_COLUMNS)));
    const mapping = mappingErrors(described, c.fieldMap, c.externalIdField, custom);
    if (mapping.length) throw badRequest(`The field mapping does not fit ${c.object}; see errors.`, mapping);
  };
  const schedule = (jobId: string, c: SalesforceJobConfig, enabled: boolean, campaignId: string, saved?: { scheduleId: string; resume: boolean }) =>
    upsertSalesforceSchedule(client, { definitionId: jobId, campaignId, every: c.schedule.every, startAt: c.startAt, enabled, taskQueue, ...saved }).catch(jobs.refuseForeignSchedule);

  jobs.create({
    body: createBody, errors: [409, 422],
    summary: 'Create a periodic Salesforce export job (a Temporal Schedule, every 15m or more; disabled = paused); the mapping is checked against the object\'s describe',
    example: { body: example, response: { id: '9', scheduleId: 'salesforce-export/9' } },
  }, async ({ body, req }) => {
    const c = configOf(body);
    await validate(body.campaignId, c);
    return jobs.insertScheduled(body.name, (tx) => insertSalesforceJob(tx, {
      name: body.name, enabled: body.enabled, campaignId: body.campaignId, exportCreatedAfter: body.exportCreatedAfter, config: c, createdBy: callerOf(req).actor,
    }), (id) => schedule(id, c, body.enabled, body.campaignId));
  });

  jobs.list({
    summary: 'List Salesforce export jobs',
    example: { response: { items: [{ id: '9', scheduleId: 'salesforce-export/9', ...example, nextRunAt: '2025-03-01T10:15:00.000Z' }], nextCursor: null } },
  });

  jobs.get({
    summary: 'A Salesforce export job, with its watermark (exportCreatedAfter) and next run',
    example: { response: { id: '9', scheduleId: 'salesforce-export/9', ...example, nextRunAt: '2025-03-01T10:15:00.000Z' } },
  });

  jobs.patch({
    body: patchBody, errors: [409, 422],
    summary: 'Change a job; enabling/disabling resumes/pauses its schedule; exportCreatedAfter resets the watermark; a new mapping or floor sends failed records again',
    example: { body: { enabled: false, schedule: { every: '30m' } }, response: { id: '9', scheduleId: 'salesforce-export/9', ...example, enabled: false, schedule: { every: '30m' }, nextRunAt: null } },
  }, async (job, body) => {
    const { name = job.name, enabled = job.enabled, exportCreatedAfter, schedule: sent, listIds, externalIdField, ...changes } = body;
    const merged = {
      ...job.config, ...stripUndefined(changes),
      ...(sent ? { schedule: { every: sent.every }, startAt: sent.startAt } : {}),
      ...(listIds !== undefined ? { listIds: listIds ?? undefined } : {}),
      ...(externalIdField !== undefined ? { externalIdField: externalIdField ?? undefined } : {}),
    };
    const c = salesforceJobConfigSchema.parse(stripUndefined(merged));
    await validate(job.campaignId, c);
    await jobs.updateScheduled(job, name, async (tx) => {
      await tx`
        update job_definitions set name = ${name}, enabled = ${enabled}, config = ${tx.json(c as never)}, updated_at = now(),
          state = case when ${exportCreatedAfter ?? null}::text is null then state
                       else jsonb_set(state, '{watermark}', ${tx.json({ exportCreatedAfter: exportCreatedAfter ?? '', collectedThrough: null } as never)}) end
        where id = ${job.id}`;
      if (exportCreatedAfter !== undefined || body.fieldMap !== undefined || body.object !== undefined) await forgetFailures(tx, job.id);
    }, (scheduleId) => schedule(job.id, c, enabled, job.campaignId, { scheduleId, resume: body.enabled === true }));
  });

  jobs.delete({ summary: 'Delete a job, its schedule and its ledger (runs in progress finish; their records stay in the task log)' });

  defineRoute(r, {
    method: 'post', path: '/salesforce-export-jobs/{id}/test', role: 'operator', params: idParams, response: z.object({ objectId: z.string() }), errors: [422],
    summary: 'Test by creating object: creates one object from the mapping with sample values; 422 with Salesforce\'s message when refused',
    example: { response: { objectId: 'a0X5e00000AbCdEAAV' } },
  }, async ({ params }) => {
    const job = await jobs.load(params.id);
    const account = await requireAccount(sql, keyring, job.config.accountId).catch(() => { throw badRequest(`Salesforce account ${job.config.accountId} does not exist.`, [{ path: 'accountId', message: 'does not exist' }]); });
    const objectId = await withSalesforce(account, async (conn) => {
      const described = await describeObject(conn, job.config.object);
      const record = recordOf(sampleRow(new Date()), job.config.fieldMap, fieldTypes(described));
      if (job.config.externalIdField && record[job.config.externalIdField] === undefined) record[job.config.externalIdField] = externalKey(job.id, `test-${Date.now()}`);
      return createOne(conn, job.config.object, record);
    }).catch(probeProblem);
    return { objectId };
  });

  jobs.run({
    errors: [409], summary: 'Run the job now; 409 while a run of the job is in progress',
    example: { response: { runId: 'salesforce-export/9/2025-03-01T10:15:00.000Z' } },
  }, async (job, caller) => {
    const [open] = await sql<{ run_id: string }[]>`
      select run_id from runs where definition_id = ${job.id} and type = ${SALESFORCE_EXPORT_KIND} and status in ('scheduled', 'running') limit 1`;
    if (open) throw conflict(`A run of job ${job.id} is already in progress: ${open.run_id}.`, { runId: open.run_id });
    const input: SalesforceExportInput = { definitionId: job.id, triggeredBy: caller.actor };
    return jobs.startRun(job, caller, {
      kind: SALESFORCE_EXPORT_KIND, workflowType: SALESFORCE_EXPORT_WORKFLOW, workflowId: salesforceExportManualWorkflowId(job.id, new Date()), input,
    });
  });
}

function configOf(body: z.output<typeof createBody>): SalesforceJobConfig {
  return salesforceJobConfigSchema.parse(stripUndefined({
    format: body.format, listIds: body.listIds, dispositions: body.dispositions, accountId: body.accountId, object: body.object,
    fieldMap: body.fieldMap, externalIdField: body.externalIdField, schedule: { every: body.schedule.every }, startAt: body.schedule.startAt,
  }));
}

/** 422 naming the failing stage (login, describe, create) with Salesforce's message. */
export function probeProblem(err: unknown): never {
  if (err instanceof SalesforceProbeError) {
    throw new Problem(422, `The Salesforce ${err.message}`, { title: 'Salesforce test failed', type: 'salesforce-test-failed', extensions: { stage: err.stage } });
  }
  throw err;
}
