// The Temporal Schedule of a Salesforce export job: `salesforce-export/<id>` (scoped by the task queue when another
// installation holds that id, lib/temporal/schedules.ts), running the export workflow with the job id, paused
// exactly when the job is disabled. Catch-up as the recording export's: one run sends everything not yet sent, so
// runs that find the previous one busy, and all but one of those missed in an outage, are skipped.
import type { Client } from '@temporalio/client';
import { CATCH_UP } from '../schedules/policy.js';
import { putJobSchedule } from '../temporal/schedules.js';
import { SALESFORCE_EXPORT_KIND, SALESFORCE_EXPORT_WORKFLOW } from '../../contracts/salesforce-export.js';
import { runSearchAttributes } from '../../contracts/search-attributes.js';
import { salesforceScheduleId } from './jobs.js';

export async function upsertSalesforceSchedule(client: Client, input: {
  definitionId: string; campaignId: string; every: string; enabled: boolean; taskQueue: string; resume?: boolean; scheduleId?: string;
}): Promise<string> {
  return putJobSchedule(client, {
    scheduleId: input.scheduleId ?? salesforceScheduleId(input.definitionId), scopeIfHeld: input.scheduleId === undefined,
    workflowType: SALESFORCE_EXPORT_WORKFLOW, workflowIdPrefix: `${SALESFORCE_EXPORT_KIND}/${input.definitionId}`,
    args: [{ definitionId: input.definitionId, triggeredBy: 'schedule' }], taskQueue: input.taskQueue, spec: { every: input.every },
    paused: !input.enabled, resume: input.resume, ...CATCH_UP['recording-export'],
    searchAttributes: runSearchAttributes({ kind: SALESFORCE_EXPORT_KIND, campaignId: input.campaignId, definitionId: input.definitionId, triggeredBy: 'schedule' }),
  });
}
