// The Temporal spec a job definition's schedule should have, read from the definition as stored
// (job_definitions.config): what the sync restores and what the task views compare Temporal's spec with.
import { JOB_KINDS } from '../../contracts/search-attributes.js';
import { campaignTriggerSpec, type CampaignTriggerConfig } from '../jobs/campaign-triggers.js';
import { jobScheduleSpec, type JobConfig } from '../jobs/definition.js';
import { resultsExportSpec, type ResultsExportConfig } from '../results/export-jobs.js';
import { salesforceExportSpec } from '../salesforce/schedules.js';
import { temporalCronExpressions } from './cron.js';
import { scheduleSchema, temporalSpecOf } from './schedule.js';
import type { WrittenSpec } from './spec.js';

/** Undefined when the definition holds no (usable) schedule. */
export function definitionSpec(kind: string, config: Record<string, unknown> | null): WrittenSpec | undefined {
  const schedule = config?.schedule;
  if (kind === JOB_KINDS.salesforceExport) return salesforceExportSpec(config as Parameters<typeof salesforceExportSpec>[0]);
  if (kind === JOB_KINDS.recordingExport) {
    const parsed = scheduleSchema.safeParse(schedule);
    return parsed.success ? temporalSpecOf(parsed.data) : undefined;
  }
  if (kind === JOB_KINDS.report) {
    const temporalCron = (schedule as { temporalCron?: unknown } | null | undefined)?.temporalCron;
    return typeof temporalCron === 'string' && temporalCron ? { cron: temporalCronExpressions(temporalCron) } : undefined;
  }
  if (kind === JOB_KINDS.job) return jobScheduleSpec((config as unknown as JobConfig | null)?.trigger ?? { kind: 'manual' });
  if (kind === JOB_KINDS.campaignTrigger) return campaignTriggerSpec(config as unknown as CampaignTriggerConfig);
  if (kind === JOB_KINDS.resultsExport) return resultsExportSpec(config as unknown as ResultsExportConfig);
  return undefined;
}
