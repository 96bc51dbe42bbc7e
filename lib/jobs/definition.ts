// The shape of a job definition as the API takes it (API.md "Jobs made of steps"): trigger, steps (each kind
// with its own parameters) and failure notification recipients. Validated with zod here, the step graph with
// ./graph.ts; the stored config is the parsed body.
import { z } from 'zod';
import { exportOptionsShape, folderNeedsDestination } from '../contact-processes/export-options.js';
import { RDATETIME } from '../import/source.js';
import { seedCronToTemporal, temporalCronExpressions } from '../schedules/cron.js';
import { cronString } from '../schedules/schedule.js';
import type { WrittenSpec } from '../schedules/spec.js';
import { SCHEDULE_PRESETS, type JobNotify, type JobStep, type JobTrigger, type SchedulePreset } from '../../contracts/job.js';
import { SEPARATORS, type Separator, IMPORT_RULES, MERGE_RULES, UPDATE_RULES } from '../../contracts/list-import.js';

export const JOB_KIND = 'job';

const dbId = z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a numeric id, e.g. "42"');
const relativePath = z.string().min(1).max(1000).refine((p) => !p.split('/').includes('..'), 'must not contain ".." segments');

export const triggerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('manual') }).strict(),
  z.object({ kind: z.literal('schedule'), cron: cronString.optional(), preset: z.enum(SCHEDULE_PRESETS).optional() }).strict()
    .refine((t) => (t.cron === undefined) !== (t.preset === undefined), 'a schedule trigger needs exactly one of cron or preset'),
  z.object({ kind: z.literal('campaign-end'), campaignId: dbId }).strict(),
  z.object({
    kind: z.literal('file-arrival'), destinationId: dbId, folder: z.string().max(1000).refine((p) => !p.split('/').includes('..'), 'must not contain ".." segments').default(''),
    pattern: z.string().min(1).max(200).describe('a glob such as *.csv'), moveTo: z.string().max(1000).optional(),
  }).strict(),
]);

const link = z.string().trim().min(1).max(100);
const common = { name: z.string().trim().min(1).max(100), onSuccess: link.optional().describe('a step name or "end"'), onFailure: link.optional().describe('a step name or "fail"') };

const listImportSource = z.union([
  z.literal('trigger-file'),
  z.object({ destinationId: dbId, path: relativePath.describe(`${RDATETIME} in the file name picks the newest yyyymmddhhMMss file`) }).strict(),
]);

export const stepSchema = z.discriminatedUnion('kind', [
  z.object({ ...common, kind: z.literal('report'), reportId: dbId }).strict(),
  z.object({ ...common, kind: z.literal('recording-export'), jobId: dbId }).strict(),
  z.object({ ...common, kind: z.literal('results-export'), jobId: dbId.describe('a results export job') }).strict(),
  z.object({ ...common, kind: z.literal('salesforce-export'), jobId: dbId.describe('a Salesforce export job') }).strict(),
  z.object({
    ...common, kind: z.literal('list-import'), campaignId: dbId, source: listImportSource,
    separator: z.enum(Object.keys(SEPARATORS) as [Separator, ...Separator[]]).default(','),
    hasHeader: z.boolean().default(true),
    importRule: z.enum(IMPORT_RULES).default('append'),
    updateRule: z.enum(UPDATE_RULES).default('nothing'),
    mergeRule: z.enum(MERGE_RULES).default('nothing'),
    deleteAllBeforeImport: z.boolean().default(false),
  }).strict(),
  z.object({
    ...common, kind: z.literal('list-export'), campaignId: dbId, ...exportOptionsShape,
    wait: z.boolean().default(true).describe('false: the step fails at once when another process holds the campaign lock or waits for it'),
  }).strict().refine(...folderNeedsDestination),
  z.object({
    ...common, kind: z.literal('email'), to: z.array(z.email()).min(1).max(50),
    subject: z.string().max(200).optional(), attach: z.literal('previous').optional(),
  }).strict(),
  z.object({ ...common, kind: z.literal('copy'), destinationId: dbId, path: relativePath.describe('a file path, or a folder ending in "/" to keep the file\'s name') }).strict(),
]);

export const notifySchema = z.object({ onFailure: z.array(z.email()).max(50).default([]) }).strict();

export const jobFields = {
  name: z.string().trim().min(1).max(200),
  enabled: z.boolean(),
  trigger: triggerSchema,
  steps: z.array(stepSchema).min(1).max(50),
  notify: notifySchema,
};

export interface JobConfig { trigger: JobTrigger; steps: JobStep[]; notify: JobNotify }

export interface JobDefinition { id: string; name: string; enabled: boolean; campaignId: string | null; config: JobConfig; createdAt: Date; updatedAt: Date }

/** The seed crontab (GMT, day-of-week 1-7, Monday = 1) of a preset. */
export const PRESET_CRON: Record<SchedulePreset, string> = {
  'end-of-day': '0 0 * * *',
  'hourly': '0 * * * *',
  'weekly': '0 0 * * 1',
  'monthly': '0 0 1 * *',
};

/** The crontab a schedule trigger runs on, or undefined for another trigger. */
export function triggerCron(trigger: JobTrigger): string | undefined {
  if (trigger.kind !== 'schedule') return undefined;
  return trigger.cron ?? PRESET_CRON[trigger.preset!];
}

/** How often a file-arrival job's folder is polled (a file is taken once two polls saw it unchanged). */
export const FILE_ARRIVAL_POLL = '1m';

/** The Temporal Schedule spec a job's trigger needs: its crontab, or the poll of a file-arrival job; undefined
 *  for manual and campaign-end jobs (no schedule). */
export function jobScheduleSpec(trigger: JobTrigger): WrittenSpec | undefined {
  const cron = triggerCron(trigger);
  if (cron) return { cron: temporalCronExpressions(seedCronToTemporal(cron)) };
  if (trigger.kind === 'file-arrival') return { every: FILE_ARRIVAL_POLL };
  return undefined;
}
