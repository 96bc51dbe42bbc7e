// The Temporal Schedule of a recording export job (Job 1): `recording-export/<id>` (scoped by the task queue
// when another installation holds that id, lib/temporal/schedules.ts), runs the export workflow
// with the job id, paused exactly when the job is disabled. Its crontab is the API's one convention (seed:
// GMT, day-of-week 1-7). Catch-up (lib/schedules/policy.ts): one run covers everything since the watermark,
// so runs that find the previous one busy, and all but one of those missed in an outage, are skipped.
import type { Client } from '@temporalio/client';
import { CATCH_UP } from '../schedules/policy.js';
import { temporalSpecOf } from '../schedules/schedule.js';
import { putJobSchedule } from '../temporal/schedules.js';
import { RECORDING_EXPORT_WORKFLOW } from '../../contracts/recording-export.js';
import { runSearchAttributes } from '../../contracts/search-attributes.js';
import type { ExportJobConfig } from './definition.js';
import { exportScheduleId } from './jobs.js';
import { RECORDING_EXPORT_KIND } from './queries.js';

export async function upsertExportSchedule(client: Client, input: {
  definitionId: string; campaignId: string; schedule: ExportJobConfig['schedule']; enabled: boolean; taskQueue: string;
  /** The definition's `enabled` was set just now: lift a pause made in Temporal. */
  resume?: boolean;
  /** The definition's job_definitions.schedule_id; none for a new definition (its id is chosen here). */
  scheduleId?: string;
}): Promise<string> {
  return putJobSchedule(client, {
    scheduleId: input.scheduleId ?? exportScheduleId(input.definitionId), scopeIfHeld: input.scheduleId === undefined,
    workflowType: RECORDING_EXPORT_WORKFLOW, workflowIdPrefix: `${RECORDING_EXPORT_KIND}/${input.definitionId}`,
    args: [{ definitionId: input.definitionId, triggeredBy: 'schedule' }], taskQueue: input.taskQueue, spec: temporalSpecOf(input.schedule),
    paused: !input.enabled, resume: input.resume, ...CATCH_UP['recording-export'],
    searchAttributes: runSearchAttributes({ kind: 'recording-export', campaignId: input.campaignId, definitionId: input.definitionId, triggeredBy: 'schedule' }),
  });
}
