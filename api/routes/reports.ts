// Job 2 report definitions (API.md "Job 2"): saved in job_definitions (kind 'report'); a crontab schedule
// (seed format: GMT, day-of-week 1-7 with Monday = 1) becomes a Temporal Schedule, no schedule means
// "generate once immediately". Saved report files are listed and downloaded for 30 days.
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { seedCronToTemporal } from '../../lib/schedules/cron.js';
import { cronString } from '../../lib/schedules/schedule.js';
import { storedScheduleId } from '../../lib/schedules/stored-id.js';
import { REPORT_TYPES, type ReportConfig, type ReportDefinition } from '../../lib/reports/definition.js';
import { getSavedReport, listSavedReports, loadReportDefinition, REPORT_KIND } from '../../lib/reports/definitions.js';
import { FileNameFormatError, validateFileNameFormat } from '../../lib/reports/file-name.js';
import { PgpKeyError, readPublicKey } from '../../lib/reports/package.js';
import { upsertReportSchedule } from '../../lib/reports/schedules.js';
import { isValidZone, parseExplicitTime, TIMEFRAME_KINDS, TimeframeError } from '../../lib/reports/timeframes.js';
import { deleteJobSchedule, nextRunTime } from '../../lib/temporal/schedules.js';
import { REPORT_WORKFLOW, reportManualWorkflowId } from '../../contracts/report.js';
import type { AppDeps } from '../app.js';
import { callerOf, type Caller } from '../auth.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest, conflict, notFound, type FieldError } from '../problem.js';
import { decodeCursor, id, idParams, iso, pageOf, pageQuery, paged } from '../schemas.js';
import { definitionRoutes } from './definition-routes.js';

const MAX_EMAIL_CHARS = 384;

const timeframe = z.object({
  kind: z.enum(TIMEFRAME_KINDS),
  start: z.string().max(40).optional().describe('explicit: ISO 8601; without an offset it is read in `timezone`'),
  end: z.string().max(40).optional(),
  timezone: z.string().max(64).optional().describe('explicit: IANA zone; default REPORT_TIMEZONE'),
}).superRefine((tf, ctx) => {
  if (tf.timezone && !isValidZone(tf.timezone)) ctx.addIssue({ code: 'custom', path: ['timezone'], message: `unknown time zone ${JSON.stringify(tf.timezone)}; use an IANA name such as America/New_York` });
  if (tf.kind !== 'explicit') return;
  for (const key of ['start', 'end'] as const) {
    if (!tf[key]) ctx.addIssue({ code: 'custom', path: [key], message: `an explicit timeframe needs ${key}` });
    else try { parseExplicitTime(tf[key], tf.timezone ?? 'UTC'); } catch (err) { ctx.addIssue({ code: 'custom', path: [key], message: (err as TimeframeError).message }); }
  }
  if (tf.start && tf.end && Date.parse(tf.end) <= Date.parse(tf.start)) ctx.addIssue({ code: 'custom', path: ['end'], message: 'end must be after start' });
});

const emails = z.array(z.email()).max(50)
  .refine((list) => list.join(', ').length <= MAX_EMAIL_CHARS, `at most ${MAX_EMAIL_CHARS} characters of addresses, commas and spaces (seed 003)`);
const fileNameFormat = z.string().max(200).superRefine((value, ctx) => {
  try { validateFileNameFormat(value); } catch (err) { ctx.addIssue({ code: 'custom', message: (err as FileNameFormatError).message }); }
}).describe('tags <REPORT> <CAMPAIGN> <ACCOUNT> <REPORTID> <START:fmt> <END:fmt> <DATE:fmt>; not * ? | " / < > : in the text');
const pgpPublicKey = z.string().max(200_000).describe('ASCII-armored PGP public key; the file is encrypted to it before sending');
const skipIfEmpty = z.boolean().describe('do not generate or deliver the report when it has no records');

const output = z.object({
  destinationIds: z.array(id).max(20).default([]),
  emails: emails.default([]),
  fileNameFormat: fileNameFormat.optional(),
  zip: z.boolean().default(false),
  pgpPublicKey: pgpPublicKey.optional(),
  skipIfEmpty: skipIfEmpty.default(false),
}).default({ destinationIds: [], emails: [], zip: false, skipIfEmpty: false });

const schedule = z.object({ cron: cronString });

const createBody = z.object({
  name: z.string().trim().min(1).max(200),
  type: z.enum(REPORT_TYPES),
  campaignId: id,
  timeframe,
  output,
  schedule: schedule.optional().describe('omitted: generate once immediately'),
  enabled: z.boolean().default(true),
});

const unchangeable = (what: string) => z.never({ error: `${what} cannot change (the incremental watermark is per type and campaign); create another report instead` }).optional();

/** PATCH: only the fields sent change; in `output` too. null removes the schedule, the file name format or the PGP key. */
const patchBody = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  timeframe: timeframe.optional(),
  output: z.object({
    destinationIds: z.array(id).max(20).optional(),
    emails: emails.optional(),
    fileNameFormat: fileNameFormat.nullable().optional().describe('null: back to the default format'),
    zip: z.boolean().optional(),
    pgpPublicKey: pgpPublicKey.nullable().optional().describe('null: send unencrypted'),
    skipIfEmpty: skipIfEmpty.optional(),
  }).strict().optional(),
  schedule: schedule.nullable().optional().describe('null: remove the schedule (its Temporal Schedule is deleted)'),
  enabled: z.boolean().optional().describe('false pauses the Temporal Schedule, true resumes it'),
  type: unchangeable('The report type'),
  campaignId: unchangeable('The campaign'),
}).strict().refine((body) => Object.values(body).some((value) => value !== undefined), 'send at least one field to change');

const savedView = z.object({
  id: z.string(), runId: z.string(), kind: z.enum(['report', 'delivery']), fileName: z.string(), sizeBytes: z.number(), rows: z.number(),
  rangeStart: z.string().nullable(), rangeEnd: z.string().nullable(), createdAt: z.string(), expiresAt: z.string(),
}).meta({ id: 'SavedReport' });

const reportView = z.object({
  id: z.string(), name: z.string(), enabled: z.boolean(), type: z.enum(REPORT_TYPES), campaignId: z.string(),
  timeframe: z.object({ kind: z.enum(TIMEFRAME_KINDS), start: z.string().optional(), end: z.string().optional(), timezone: z.string().optional() }),
  output: z.object({ destinationIds: z.array(z.string()), emails: z.array(z.string()), fileNameFormat: z.string().optional(), zip: z.boolean(), pgpKeyFingerprint: z.string().nullable(), skipIfEmpty: z.boolean() }),
  schedule: z.object({ cron: z.string(), temporalCron: z.string() }).nullable(),
  scheduleId: z.string().nullable(), nextRunAt: z.string().nullable(),
  collectedThrough: z.string().nullable().describe('incremental: attempts collected up to this time were reported (shared by the type and campaign)'),
}).meta({ id: 'Report' });

async function checkReferences(sql: Sql, body: { campaignId?: string; output?: { destinationIds?: string[] } }): Promise<void> {
  const errors: FieldError[] = [];
  if (body.campaignId !== undefined) {
    const [campaign] = await sql`select 1 from campaigns where id = ${body.campaignId}`;
    if (!campaign) errors.push({ path: 'campaignId', message: `campaign ${body.campaignId} does not exist` });
  }
  const destinationIds = body.output?.destinationIds ?? [];
  const found = await sql<{ id: string }[]>`select id::text from destinations where id = any(${destinationIds}::bigint[])`;
  destinationIds.forEach((d, i) => {
    if (!found.some((f) => f.id === d)) errors.push({ path: `output.destinationIds.${i}`, message: `destination ${d} does not exist` });
  });
  if (errors.length) throw badRequest('The report refers to things that do not exist.', errors);
}

type PublicKey = Awaited<ReturnType<typeof readPublicKey>>;

/** The key, read and checked before anything is written (400 naming output.pgpPublicKey if unusable). */
async function parsePgpKey(armored: string): Promise<PublicKey> {
  try { return await readPublicKey(armored); } catch (err) {
    throw badRequest('The PGP public key is not usable.', [{ path: 'output.pgpPublicKey', message: (err as PgpKeyError).message }]);
  }
}

async function storePgpKey(sql: Sql, armored: string | undefined): Promise<string | null> {
  if (!armored) return null;
  return savePgpKey(sql, await parsePgpKey(armored));
}

async function savePgpKey(sql: Sql, key: PublicKey): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into pgp_keys (fingerprint, user_ids, armored) values (${key.fingerprint}, ${key.userIds}, ${key.armored})
    on conflict (fingerprint) do update set armored = excluded.armored returning id`;
  return row.id;
}

/** The definition's config with a PATCH applied (the PGP key is set by the caller once stored). */
function patchedConfig(current: ReportConfig, body: z.output<typeof patchBody>, outputChanges: Omit<NonNullable<z.output<typeof patchBody>['output']>, 'pgpPublicKey'>): ReportConfig {
  const output = { ...current.output };
  for (const [field, value] of Object.entries(outputChanges)) if (value !== undefined) Object.assign(output, { [field]: value });
  if (output.fileNameFormat === null) delete output.fileNameFormat;
  let schedule = current.schedule ?? null;
  if (body.schedule === null) schedule = null;
  else if (body.schedule) schedule = { cron: body.schedule.cron, temporalCron: seedCronToTemporal(body.schedule.cron) };
  return { ...current, timeframe: body.timeframe ?? current.timeframe, output, schedule };
}

export function register(r: RouteRegistry, deps: AppDeps) {
  const { sql, client } = deps;
  const taskQueue = deps.config.TEMPORAL_TASK_QUEUE;
  const reports = definitionRoutes(r, deps, {
    path: '/reports', kind: REPORT_KIND, noun: 'report', load: loadReportDefinition, viewSchema: reportView,
    view: async (def: ReportDefinition): Promise<z.input<typeof reportView>> => {
      const { pgpKeyId, ...out } = def.config.output;
      const [key] = pgpKeyId ? await sql<{ fingerprint: string }[]>`select fingerprint from pgp_keys where id = ${pgpKeyId}` : [];
      const [mark] = await sql<{ collected_through: Date }[]>`
        select collected_through from report_watermarks where report_type = ${def.config.type} and campaign_id = ${def.campaignId} and last_run_id <> ''`;
      const scheduleId = def.config.schedule ? await storedScheduleId(sql, def.id) : null;
      return {
        id: def.id, name: def.name, enabled: def.enabled, type: def.config.type, campaignId: def.campaignId, timeframe: def.config.timeframe,
        output: { ...out, pgpKeyFingerprint: key?.fingerprint ?? null }, schedule: def.config.schedule ?? null, scheduleId,
        nextRunAt: scheduleId ? iso(await nextRunTime(client, scheduleId).catch(() => null)) : null,
        collectedThrough: def.config.timeframe.kind === 'incremental' ? iso(mark?.collected_through) : null,
      };
    },
  });
  const { load } = reports;
  const startRun = (def: { id: string; campaignId: string }, caller: Caller) => reports.startRun(def, caller, {
    kind: 'report', workflowType: REPORT_WORKFLOW, workflowId: reportManualWorkflowId(def.id, new Date()), input: { definitionId: def.id, triggeredBy: caller.actor },
  });

  reports.create({
    body: createBody, errors: [409], startsWork: true,
    response: z.object({ id: z.string(), scheduleId: z.string().optional(), runId: z.string().optional().describe('set when the report has no schedule: the run generating it now') }),
    summary: 'Create a report: scheduled by a seed crontab string (GMT, day-of-week 1-7, Monday = 1), or generated once immediately',
    example: {
      body: { name: 'Hourly attempts', type: 'all-attempts', campaignId: '1', timeframe: { kind: 'incremental' }, output: { destinationIds: ['2'], emails: ['ops@example.com'], fileNameFormat: '<REPORT>_<CAMPAIGN>_<END:yyyyMMdd_HHmm>', zip: true, skipIfEmpty: true }, schedule: { cron: '0 * * * 1-5' } },
      response: { id: '4', scheduleId: 'report/4' },
    },
  }, async ({ body, req }) => {
    await checkReferences(sql, body);
    const actor = callerOf(req).actor;
    const pgpKeyId = await storePgpKey(sql, body.output.pgpPublicKey);
    const { pgpPublicKey: _armored, ...out } = body.output;
    const config: ReportConfig = {
      type: body.type, timeframe: body.timeframe, output: { ...out, pgpKeyId },
      schedule: body.schedule ? { cron: body.schedule.cron, temporalCron: seedCronToTemporal(body.schedule.cron) } : null,
    };
    const reportId = await sql.begin(async (tx) => {
      const [row] = await tx<{ id: string }[]>`
        insert into job_definitions (kind, name, enabled, campaign_id, config, created_by)
        values (${REPORT_KIND}, ${body.name}, ${body.enabled}, ${body.campaignId}, ${tx.json(config as never)}, ${actor})
        on conflict (kind, name) do nothing returning id`;
      if (!row) throw conflict(`A report named ${JSON.stringify(body.name)} already exists; pick another name.`);
      // Inside the transaction: if Temporal refuses the schedule, no definition is left behind.
      if (config.schedule) {
        const scheduleId = await upsertReportSchedule(client, {
          definitionId: row.id, campaignId: body.campaignId, temporalCron: config.schedule.temporalCron, enabled: body.enabled, taskQueue, name: body.name,
        });
        await tx`update job_definitions set schedule_id = ${scheduleId} where id = ${row.id}`;
      }
      return row.id;
    });
    if (config.schedule) return { id: reportId, scheduleId: await storedScheduleId(sql, reportId) };
    const runId = await startRun({ id: reportId, campaignId: body.campaignId }, callerOf(req));
    return { id: reportId, runId };
  });

  reports.list({
    summary: 'List report definitions',
    example: { response: { items: [{
        id: '4', name: 'Hourly attempts', enabled: true, type: 'all-attempts', campaignId: '1', timeframe: { kind: 'incremental' },
        output: { destinationIds: ['2'], emails: ['ops@example.com'], fileNameFormat: '<REPORT>_<CAMPAIGN>_<END:yyyyMMdd_HHmm>', zip: true, pgpKeyFingerprint: null, skipIfEmpty: true },
        schedule: { cron: '0 * * * 1-5', temporalCron: '0 * * * 1-5' }, scheduleId: 'report/4', nextRunAt: '2025-03-01T11:00:00.000Z',
        collectedThrough: '2025-03-01T10:00:00.000Z',
      }], nextCursor: null } },
  });

  reports.get({
    summary: 'A report definition, its next scheduled run and, for incremental reports, how far the data was reported',
    example: { response: {
        id: '4', name: 'Hourly attempts', enabled: true, type: 'all-attempts', campaignId: '1', timeframe: { kind: 'incremental' },
        output: { destinationIds: ['2'], emails: ['ops@example.com'], fileNameFormat: '<REPORT>_<CAMPAIGN>_<END:yyyyMMdd_HHmm>', zip: true, pgpKeyFingerprint: null, skipIfEmpty: true },
        schedule: { cron: '0 * * * 1-5', temporalCron: '0 * * * 1-5' }, scheduleId: 'report/4', nextRunAt: '2025-03-01T11:00:00.000Z',
        collectedThrough: '2025-03-01T10:00:00.000Z',
      } },
  });

  reports.patch({
    body: patchBody, errors: [409],
    summary: 'Change a report: name, timeframe, output, schedule (null removes it), enabled (false pauses its schedule); only the fields sent change',
    example: {
      body: { schedule: { cron: '0 6 * * 1-5' }, output: { zip: true }, enabled: false },
      response: {
        id: '4', name: 'Hourly attempts', enabled: false, type: 'all-attempts', campaignId: '1', timeframe: { kind: 'incremental' },
        output: { destinationIds: ['2'], emails: ['ops@example.com'], fileNameFormat: '<REPORT>_<CAMPAIGN>_<END:yyyyMMdd_HHmm>', zip: true, pgpKeyFingerprint: null, skipIfEmpty: true },
        schedule: { cron: '0 6 * * 1-5', temporalCron: '0 6 * * 1-5' }, scheduleId: 'report/4', nextRunAt: null,
        collectedThrough: '2025-03-01T10:00:00.000Z',
      },
    },
  }, async (def, body) => {
    await checkReferences(sql, { output: body.output });
    const { pgpPublicKey: armored, ...outputChanges } = body.output ?? {};
    const key = armored ? await parsePgpKey(armored) : undefined;
    const config = patchedConfig(def.config, body, outputChanges);
    const name = body.name ?? def.name;
    const enabled = body.enabled ?? def.enabled;
    // Inside the transaction: if Temporal refuses the schedule change, the definition is left as it was.
    const previousScheduleId = await sql.begin(async (tx) => {
      if (armored !== undefined) config.output.pgpKeyId = key ? await savePgpKey(tx as unknown as Sql, key) : null;
      const [saved] = await tx<{ schedule_id: string | null }[]>`select schedule_id from job_definitions where id = ${def.id} for no key update`;
      // The row first (a taken name is refused before Temporal is touched), then the schedule, then its id.
      await reports.uniqueName(name, () => tx`
        update job_definitions set name = ${name}, enabled = ${enabled}, config = ${tx.json(config as never)}, updated_at = now()
        where id = ${def.id}`);
      const scheduleId = config.schedule
        ? await upsertReportSchedule(client, {
          definitionId: def.id, campaignId: def.campaignId, temporalCron: config.schedule.temporalCron, enabled, taskQueue, name,
          resume: body.enabled === true, scheduleId: saved?.schedule_id ?? undefined,
        }).catch(reports.refuseForeignSchedule)
        : null;
      await tx`update job_definitions set schedule_id = ${scheduleId} where id = ${def.id}`;
      return saved?.schedule_id ?? null;
    });
    // Removed only once the definition without it is committed: the schedule sync, which decides under the
    // definition's row lock, would otherwise see a definition still holding a schedule and make it again.
    if (!config.schedule && previousScheduleId) await deleteJobSchedule(client, previousScheduleId, taskQueue);
  });

  reports.delete({
    summary: 'Delete a report and its Temporal Schedule; a run in progress fails (its definition is gone). Its saved files are no longer listed and are removed when they expire; the campaign data and the incremental watermark (shared by the type and campaign) are untouched',
  });

  reports.run({
    summary: 'Run the report now; an incremental report covers the data collected since its last run, up to now',
    example: { response: { runId: 'report/4/2025-03-01T10:30:00.000Z' } },
  }, startRun);

  defineRoute(r, {
    method: 'get', path: '/reports/{id}/saved', role: 'viewer', params: idParams, query: pageQuery, response: paged(savedView),
    summary: 'Saved report files of the last 30 days, newest first (kind report = the CSV, delivery = the zip/pgp file sent)',
    example: {
      response: {
        items: [
          { id: '31', runId: 'report/4/2025-03-01T10:00:00.000Z', kind: 'delivery', fileName: 'Hourly attempts_Spring renewals_20250301_1000.zip', sizeBytes: 4812, rows: 120, rangeStart: '2025-03-01T09:00:00.000Z', rangeEnd: '2025-03-01T10:00:00.000Z', createdAt: '2025-03-01T10:00:04.000Z', expiresAt: '2025-03-31T10:00:04.000Z' },
          { id: '30', runId: 'report/4/2025-03-01T10:00:00.000Z', kind: 'report', fileName: 'Hourly attempts_Spring renewals_20250301_1000.csv', sizeBytes: 20544, rows: 120, rangeStart: '2025-03-01T09:00:00.000Z', rangeEnd: '2025-03-01T10:00:00.000Z', createdAt: '2025-03-01T10:00:03.000Z', expiresAt: '2025-03-31T10:00:03.000Z' },
        ],
        nextCursor: null,
      },
    },
  }, async ({ params, query }) => {
    await load(params.id);
    const after = decodeCursor(query.cursor);
    const rows = await listSavedReports(sql, params.id, new Date(), query.limit + 1, after === '0' ? undefined : after);
    const page = pageOf(rows, query.limit);
    return {
      nextCursor: page.nextCursor,
      items: page.items.map((s) => ({
        id: s.id, runId: s.runId, kind: s.kind, fileName: s.fileName, sizeBytes: s.sizeBytes, rows: s.rows,
        rangeStart: iso(s.rangeStart), rangeEnd: iso(s.rangeEnd), createdAt: iso(s.createdAt)!, expiresAt: iso(s.expiresAt)!,
      })),
    };
  });

  defineRoute(r, {
    method: 'get', path: '/reports/{id}/saved/{fileId}', role: 'viewer', params: z.object({ id, fileId: id }),
    download: { contentTypes: ['text/csv; charset=utf-8', 'application/octet-stream'], description: 'The file (attachment): CSV, or octet-stream when zipped or PGP-encrypted' },
    summary: 'Download a saved report file (decrypted from the content store, streamed)',
  }, async ({ params, res }) => {
    const file = await getSavedReport(sql, params.fileId);
    if (!file || file.definitionId !== params.id || file.expiresAt <= new Date()) throw notFound(`Saved report ${params.fileId} of report ${params.id} does not exist or has expired.`);
    const body = await deps.store.get(file.storeKey);
    res.status(200);
    res.setHeader('content-type', file.fileName.endsWith('.csv') ? 'text/csv; charset=utf-8' : 'application/octet-stream');
    res.setHeader('content-length', String(file.sizeBytes));
    res.setHeader('content-disposition', `attachment; filename="${file.fileName.replace(/[^\x20-\x7e]|"/g, '_')}"`);
    await pipeline(body, res);
  });
}
