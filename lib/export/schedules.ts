// The Temporal Schedule of a recording export job (Job 1): `recording-export/<id>`, runs the export workflow
// with the job id, paused exactly when the job is disabled; a run that finds the previous one busy is skipped
// (the watermark makes the next run pick up whatever that one would have exported).
import type { Client } from '@temporalio/client';
import { upsertJobSchedule } from '../temporal/schedules.js';
import { RECORDING_EXPORT_WORKFLOW } from '../../workflows/recording-export-shared.js';
import { runSearchAttributes } from '../../workflows/shared/search-attributes.js';
import type { ExportJobConfig } from './definition.js';
import { exportScheduleId } from './jobs.js';
import { RECORDING_EXPORT_KIND } from './queries.js';

export async function upsertExportSchedule(client: Client, input: {
  definitionId: string; campaignId: string; schedule: ExportJobConfig['schedule']; enabled: boolean; taskQueue: string;
}): Promise<string> {
  const scheduleId = exportScheduleId(input.definitionId);
  await upsertJobSchedule(client, {
    scheduleId, workflowType: RECORDING_EXPORT_WORKFLOW, workflowIdPrefix: `${RECORDING_EXPORT_KIND}/${input.definitionId}`,
    args: [{ definitionId: input.definitionId, triggeredBy: 'schedule' }], taskQueue: input.taskQueue, spec: input.schedule,
    paused: !input.enabled, overlap: 'skip',
    searchAttributes: runSearchAttributes({ kind: 'recording-export', campaignId: input.campaignId, definitionId: input.definitionId, triggeredBy: 'schedule' }),
  });
  return scheduleId;
}
