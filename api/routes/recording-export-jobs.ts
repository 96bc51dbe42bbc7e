// Job 1 definitions (API.md "Job 1"): each is a row in job_definitions and a Temporal Schedule that runs
// the recordingExport workflow, paused exactly when the job is disabled. "Run now" triggers the schedule
// (so its overlap policy keeps two runs of one job apart) and answers with the run it started.
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { exportJobConfigSchema, type ExportJobConfig } from '../../lib/export/definition.js';
import {
  EXPORT_CONTENT_TYPES, fileNameCollisions, MANIFEST_PLACEHOLDERS, RECORDING_PLACEHOLDERS, validateTemplate,
} from '../../lib/export/file-names.js';
import { initialWatermark, insertExportJob, shownWatermark } from '../../lib/export/jobs.js';
import { loadExportJob, RECORDING_EXPORT_KIND, type ExportJob } from '../../lib/export/queries.js';
import { upsertExportSchedule } from '../../lib/export/schedules.js';
import { stripUndefined } from '../../shared/strip-undefined.js';
import { recordRunRequester } from '../../lib/runs/record.js';
import { scheduleSchema } from '../../lib/schedules/schedule.js';
import { storedScheduleId } from '../../lib/schedules/stored-id.js';
import { nextRunTime, triggerJobSchedule } from '../../lib/temporal/schedules.js';
import type { AppDeps } from '../app.js';
import { callerOf } from '../auth.js';
import type { RouteRegistry } from '../openapi.js';
import { badRequest, conflict, type FieldError } from '../problem.js';
import { id, isoDateTime, iso } from '../schemas.js';
import { definitionRoutes } from './definition-routes.js';

const template = (allowed: readonly string[]) => z.string().max(1024).superRefine((value, ctx) => {
  for (const message of validateTemplate(value, allowed)) ctx.addIssue({ code: 'custom', message: `template ${message}` });
});

const fields = {
  name: z.string().trim().min(1).max(200), enabled: z.boolean(), campaignId: id, completedAfter: isoDateTime,
  contentType: z.enum(EXPORT_CONTENT_TYPES).describe('complete call recordings, recordings of agent segments, or (chat services) chat transcripts'),
  voiceSignatureOnly: z.boolean(),
  dispositions: z.union([z.literal('all'), z.array(z.string().min(1).max(200)).min(1).max(500)]), destinationId: id,
  fileNameTemplate: template(RECORDING_PLACEHOLDERS).describe(`placeholders: ${RECORDING_PLACEHOLDERS.map((p) => `\${${p}}`).join(' ')}`),
  manifestTemplate: template(MANIFEST_PLACEHOLDERS).describe(`placeholders: ${MANIFEST_PLACEHOLDERS.map((p) => `$(${p})`).join(' ')}`),
  useForPlayback: z.boolean().describe('S3 destinations only: record the exported object as the playback location'),
  schedule: scheduleSchema,
};

const createBody = z.object({
  ...fields, enabled: fields.enabled.default(true), contentType: fields.contentType.default('complete'),
  voiceSignatureOnly: fields.voiceSignatureOnly.default(false), dispositions: fields.dispositions.default('all'),
  fileNameTemplate: fields.fileNameTemplate.optional(), manifestTemplate: fields.manifestTemplate.optional(),
  useForPlayback: fields.useForPlayback.default(false),
});
const patchBody = z.object(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.optional()])) as { [K in keyof typeof fields]: z.ZodOptional<(typeof fields)[K]> })
  .omit({ campaignId: true }).describe('only the fields sent change; completedAfter resets the watermark');

const jobView = z.object({
  id: z.string(), scheduleId: z.string(), name: z.string(), enabled: z.boolean(), campaignId: z.string(),
  contentType: fields.contentType, voiceSignatureOnly: z.boolean(), dispositions: fields.dispositions,
  completedAfter: z.string().describe('only recordings completed after this time are exported; setting it again re-selects every one this job has not exported'),
  destinationId: z.string(), fileNameTemplate: z.string(), manifestTemplate: z.string(), useForPlayback: z.boolean(),
  schedule: scheduleSchema, exportWindow: z.string().nullable().describe('the provider window (EXPORT_WINDOW), read-only'),
  recordingStorageDays: z.number().int().nullable().optional().describe('the provider\'s storage time of recordings and transcripts (RECORDING_STORAGE_DAYS), read-only; null = kept forever'),
  nextRunAt: z.string().nullable(),
}).meta({ id: 'RecordingExportJob' });

export function register(r: RouteRegistry, deps: AppDeps) {
  const { sql, client } = deps;
  const jobs = definitionRoutes(r, deps, {
    path: '/recording-export-jobs', kind: RECORDING_EXPORT_KIND, noun: 'recording export job', load: loadExportJob, viewSchema: jobView,
    view: async (job: ExportJob): Promise<z.input<typeof jobView>> => {
      const scheduleId = await storedScheduleId(sql, job.id);
      return {
        id: job.id, scheduleId, name: job.name, enabled: job.enabled, campaignId: job.campaignId,
        contentType: job.config.contentType, voiceSignatureOnly: job.config.voiceSignatureOnly, dispositions: job.config.dispositions,
        completedAfter: shownWatermark(job.watermark), destinationId: job.config.destinationId,
        fileNameTemplate: job.config.fileNameTemplate, manifestTemplate: job.config.manifestTemplate, useForPlayback: job.config.useForPlayback,
        schedule: job.config.schedule, exportWindow: deps.config.EXPORT_WINDOW ?? null, recordingStorageDays: deps.config.RECORDING_STORAGE_DAYS ?? null,
        nextRunAt: iso(await nextRunTime(client, scheduleId).catch(() => null)),
      };
    },
  });
  const schedule = (jobId: string, config: ExportJobConfig, enabled: boolean, campaignId: string, saved?: { scheduleId: string; resume: boolean }) => upsertExportSchedule(client, {
    definitionId: jobId, campaignId, schedule: config.schedule, enabled, taskQueue: deps.config.TEMPORAL_TASK_QUEUE, ...saved,
  }).catch(jobs.refuseForeignSchedule);

  jobs.create({
    body: createBody, errors: [409, 422],
    summary: 'Create a periodic recording export job (a Temporal Schedule; disabled = paused)',
    example: { body: { name: 'Nightly recordings', enabled: true, campaignId: '1', contentType: 'complete', voiceSignatureOnly: false, dispositions: 'all', completedAfter: '2025-01-01T00:00:00Z', destinationId: '2', schedule: { every: '1h' } }, response: { id: '7', scheduleId: 'recording-export/7' } },
  }, async ({ body, req }) => {
    const config = exportJobConfigSchema.parse(body);
    checkNamesUnique(config, body);
    await checkReferences(sql, body.campaignId, config);
    return jobs.insertScheduled(body.name, (tx) => insertExportJob(tx, {
      name: body.name, enabled: body.enabled, campaignId: body.campaignId, completedAfter: body.completedAfter, config, createdBy: callerOf(req).actor,
    }), (id) => schedule(id, config, body.enabled, body.campaignId));
  });

  jobs.list({
    summary: 'List recording export jobs',
    example: { response: { items: [{
        id: '7', scheduleId: 'recording-export/7', name: 'Nightly recordings', enabled: true, campaignId: '1', contentType: 'complete',
        voiceSignatureOnly: false, dispositions: 'all', completedAfter: '2025-03-01T09:58:41.000Z', destinationId: '2',
        fileNameTemplate: 'recordings/${callDate}/${callHour}/${callDate}_${callTime}_${agent}_${recordingId}.wav',
        manifestTemplate: 'recordings_details_$(currentDate)_$(currentTime)_job$(jobId)_$(runId).csv', useForPlayback: false, schedule: { every: '1h' },
        exportWindow: '22:00-06:00 America/New_York', nextRunAt: '2025-03-01T11:00:00.000Z',
      }], nextCursor: null } },
  });

  jobs.get({
    summary: 'A recording export job, with its current watermark (completedAfter) and the provider window',
    example: { response: {
        id: '7', scheduleId: 'recording-export/7', name: 'Nightly recordings', enabled: true, campaignId: '1', contentType: 'complete',
        voiceSignatureOnly: false, dispositions: 'all', completedAfter: '2025-03-01T09:58:41.000Z', destinationId: '2',
        fileNameTemplate: 'recordings/${callDate}/${callHour}/${callDate}_${callTime}_${agent}_${recordingId}.wav',
        manifestTemplate: 'recordings_details_$(currentDate)_$(currentTime)_job$(jobId)_$(runId).csv', useForPlayback: false, schedule: { every: '1h' },
        exportWindow: '22:00-06:00 America/New_York', nextRunAt: '2025-03-01T11:00:00.000Z',
      } },
  });

  jobs.patch({
    body: patchBody, errors: [409, 422],
    summary: 'Change a job; enabling/disabling resumes/pauses its schedule, completedAfter resets the watermark',
    example: {
      body: { enabled: false, schedule: { every: '30m' } },
      response: {
        id: '7', scheduleId: 'recording-export/7', name: 'Nightly recordings', enabled: false, campaignId: '1', contentType: 'complete',
        voiceSignatureOnly: false, dispositions: 'all', completedAfter: '2025-03-01T09:58:41.000Z', destinationId: '2',
        fileNameTemplate: 'recordings/${callDate}/${callHour}/${callDate}_${callTime}_${agent}_${recordingId}.wav',
        manifestTemplate: 'recordings_details_$(currentDate)_$(currentTime)_job$(jobId)_$(runId).csv', useForPlayback: false, schedule: { every: '30m' },
        exportWindow: '22:00-06:00 America/New_York', nextRunAt: null,
      },
    },
  }, async (job, body) => {
    const { name = job.name, enabled = job.enabled, completedAfter, ...changes } = body;
    const config = exportJobConfigSchema.parse({ ...job.config, ...stripUndefined(changes) });
    checkNamesUnique(config, changes);
    await checkReferences(sql, job.campaignId, config);
    await jobs.updateScheduled(job, name, (tx) => tx`
      update job_definitions set name = ${name}, enabled = ${enabled}, config = ${tx.json(config as never)}, updated_at = now(),
        state = case when ${completedAfter ?? null}::text is null then state
                     else jsonb_set(state, '{watermark}', ${tx.json(initialWatermark(completedAfter ?? '') as never)}) end
      where id = ${job.id}`,
    (scheduleId) => schedule(job.id, config, enabled, job.campaignId, { scheduleId, resume: body.enabled === true }));
  });

  jobs.delete({ summary: 'Delete a job and its schedule (runs in progress finish; their records stay in the task log)' });

  jobs.run({
    errors: [409], summary: 'Run the job now (triggers its schedule); 409 while a run of the job is in progress',
    example: { response: { runId: 'recording-export/7-2025-03-01T10:15:00Z' } },
  }, async (job, caller) => {
    const runId = await runNow(client, job, await storedScheduleId(sql, job.id));
    // The schedule's own input says `schedule`; the run record names the caller (and counts the start if
    // the workflow has not recorded it yet).
    await recordRunRequester(sql, {
      runId, type: RECORDING_EXPORT_KIND, name: job.name, objectName: job.campaignName, definitionId: job.id,
      campaignId: job.campaignId, actingUser: caller.actor,
    });
    return runId;
  });
}

/** Triggers the schedule and returns the id of the workflow it started. */
async function runNow(client: Client, job: ExportJob, scheduleId: string): Promise<string> {
  const handle = client.schedule.getHandle(scheduleId);
  const before = await handle.describe();
  const running = before.info.runningActions[0];
  if (running) throw conflict(`A run of job ${job.id} is already in progress: ${running.workflow.workflowId}.`, { runId: running.workflow.workflowId });
  const known = new Set(before.info.recentActions.map((a) => a.action.workflow.workflowId));
  await triggerJobSchedule(client, scheduleId);
  for (let attempt = 0; attempt < 50; attempt++) {
    const now = await handle.describe();
    const started = [...now.info.runningActions.map((a) => a.workflow.workflowId), ...now.info.recentActions.map((a) => a.action.workflow.workflowId)]
      .find((workflowId) => !known.has(workflowId));
    if (started) return started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the schedule of job ${job.id} was triggered but no run appeared within 5 s`);
}

async function checkReferences(sql: Sql, campaignId: string, config: ExportJobConfig): Promise<void> {
  const errors: FieldError[] = [];
  const [campaign] = await sql`select id from campaigns where id = ${campaignId}`;
  if (!campaign) errors.push({ path: 'campaignId', message: `campaign ${campaignId} does not exist` });
  const [destination] = await sql<{ protocol: string }[]>`select protocol from destinations where id = ${config.destinationId}`;
  if (!destination) errors.push({ path: 'destinationId', message: `destination ${config.destinationId} does not exist` });
  else if (config.useForPlayback && destination.protocol !== 's3') {
    errors.push({ path: 'useForPlayback', message: `playback needs an s3 destination; destination ${config.destinationId} is ${destination.protocol}` });
  }
  if (config.contentType === 'chatTranscripts') {
    // Chats have no voice signature and nothing to play back.
    if (config.voiceSignatureOnly) errors.push({ path: 'voiceSignatureOnly', message: 'chat transcripts have no voice signature; leave voiceSignatureOnly false' });
    if (config.useForPlayback) errors.push({ path: 'useForPlayback', message: 'playback is of call recordings; chat transcript exports cannot be used for playback' });
  }
  if (errors.length) throw badRequest('The job refers to things that do not exist or cannot be combined; see errors.', errors);
}

/**
 * Refuses file-name templates under which two recordings would write the same file. A manifest template
 * without $(runId) is accepted: it is the vendor's documented default (`recordings_details_$(currentDate)_
 * $(currentTime).csv`); under it an empty run uploads no manifest (activities/recording-export.ts), so it never
 * replaces another run's. Only what the request
 * sets is checked (a file-name template is checked again when the content type changes), so a job saved
 * before this rule can still be edited otherwise.
 */
function checkNamesUnique(config: ExportJobConfig, sent: { fileNameTemplate?: string; contentType?: string }): void {
  const errors: FieldError[] = [];
  if (sent.fileNameTemplate !== undefined || sent.contentType !== undefined) {
    for (const message of fileNameCollisions(config.fileNameTemplate, config.contentType)) errors.push({ path: 'fileNameTemplate', message: `template ${message}` });
  }
  if (errors.length) throw badRequest('File names could collide and overwrite files; see errors.', errors);
}
