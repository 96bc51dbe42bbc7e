// The Temporal Schedules of reports: one per scheduled report definition (the seed crontab converted to
// Temporal's convention), and one daily schedule removing saved reports older than 30 days.
import type { Client } from '@temporalio/client';
import { upsertJobSchedule } from '../temporal/schedules.js';
import {
  REPORT_RETENTION_SCHEDULE_ID, REPORT_RETENTION_WORKFLOW, REPORT_WORKFLOW, reportScheduleId, reportScheduledWorkflowIdPrefix,
} from '../../workflows/report-shared.js';
import { runSearchAttributes } from '../../workflows/shared/search-attributes.js';

export async function upsertReportSchedule(client: Client, input: {
  definitionId: string; campaignId: string; temporalCron: string; enabled: boolean; taskQueue: string; name: string;
}): Promise<string> {
  const scheduleId = reportScheduleId(input.definitionId);
  await upsertJobSchedule(client, {
    scheduleId,
    workflowType: REPORT_WORKFLOW,
    workflowIdPrefix: reportScheduledWorkflowIdPrefix(input.definitionId),
    args: [{ definitionId: input.definitionId, triggeredBy: 'schedule' }],
    taskQueue: input.taskQueue,
    spec: { cron: input.temporalCron },
    paused: !input.enabled,
    note: `report ${input.definitionId}`,
    // A run that finds the previous one still busy waits for it (one buffered): the watermark keeps the
    // data exact either way, and no scheduled time is silently dropped.
    overlap: 'buffer-one',
    searchAttributes: runSearchAttributes({ kind: 'report', campaignId: input.campaignId, definitionId: input.definitionId, triggeredBy: 'schedule' }),
  });
  return scheduleId;
}

/** Creates (or refreshes) the daily removal of expired saved reports. */
export async function ensureReportRetentionSchedule(client: Client, taskQueue: string): Promise<void> {
  await upsertJobSchedule(client, {
    scheduleId: REPORT_RETENTION_SCHEDULE_ID,
    workflowType: REPORT_RETENTION_WORKFLOW,
    workflowIdPrefix: REPORT_RETENTION_SCHEDULE_ID,
    args: [],
    taskQueue,
    spec: { cron: '17 3 * * *' },
    paused: false,
    note: 'removes saved reports older than 30 days',
    overlap: 'skip',
    searchAttributes: runSearchAttributes({ kind: 'report', triggeredBy: 'schedule' }),
  });
}
