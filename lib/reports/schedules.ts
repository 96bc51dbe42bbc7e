// The Temporal Schedules of reports: one per scheduled report definition (the seed crontab converted to
// Temporal's convention), and one daily schedule removing saved reports older than 30 days.
import type { Client } from '@temporalio/client';
import { CATCH_UP } from '../schedules/policy.js';
import { ensurePlatformSchedule, MAINTENANCE_CATCHUP_MS } from '../temporal/platform-schedules.js';
import { putJobSchedule } from '../temporal/schedules.js';
import { temporalCronExpressions } from '../schedules/cron.js';
import {
  REPORT_RETENTION_SCHEDULE_ID, REPORT_RETENTION_WORKFLOW, REPORT_WORKFLOW, reportScheduleId, reportScheduledWorkflowIdPrefix,
} from '../../contracts/report.js';
import { runSearchAttributes } from '../../contracts/search-attributes.js';

export async function upsertReportSchedule(client: Client, input: {
  definitionId: string; campaignId: string; temporalCron: string; enabled: boolean; taskQueue: string; name: string;
  /** The definition's `enabled` was set just now: lift a pause made in Temporal. */
  resume?: boolean;
  /** The definition's job_definitions.schedule_id; none for a new schedule (its id is chosen here). */
  scheduleId?: string;
}): Promise<string> {
  return putJobSchedule(client, {
    scheduleId: input.scheduleId ?? reportScheduleId(input.definitionId), scopeIfHeld: input.scheduleId === undefined,
    workflowType: REPORT_WORKFLOW,
    workflowIdPrefix: reportScheduledWorkflowIdPrefix(input.definitionId),
    args: [{ definitionId: input.definitionId, triggeredBy: 'schedule' }],
    taskQueue: input.taskQueue,
    // Two expressions when the crontab restricts both day fields (either day matches; lib/reports/cron.ts).
    spec: { cron: temporalCronExpressions(input.temporalCron) },
    paused: !input.enabled,
    resume: input.resume,
    // A run that finds the previous one still busy waits for it (one buffered), and runs missed in an outage
    // of up to a day are made up (lib/schedules/policy.ts): the watermark keeps the data exact either way.
    ...CATCH_UP.report,
    searchAttributes: runSearchAttributes({ kind: 'report', campaignId: input.campaignId, definitionId: input.definitionId, triggeredBy: 'schedule' }),
  });
}

const RETENTION_CRON = '17 3 * * *';

/**
 * Makes sure the daily removal of expired saved reports exists and starts on `taskQueue`; run at every
 * worker start, so it exists on every installation (lib/temporal/platform-schedules.ts: idempotent, safe when
 * several workers start at once, a pause made in Temporal UI kept, an edited spec put back).
 */
export async function ensureReportRetentionSchedule(client: Client, taskQueue: string): Promise<void> {
  await ensurePlatformSchedule(client, {
    scheduleId: REPORT_RETENTION_SCHEDULE_ID, workflowType: REPORT_RETENTION_WORKFLOW, taskQueue,
    spec: { cron: [RETENTION_CRON] }, catchupWindowMs: MAINTENANCE_CATCHUP_MS,
    note: 'removes saved reports older than 30 days',
    searchAttributes: runSearchAttributes({ kind: 'report', triggeredBy: 'schedule' }),
  });
}
