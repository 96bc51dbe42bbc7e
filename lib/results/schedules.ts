// The Temporal Schedule of a results export job: `results-export/<id>` (scoped by the task queue when another
// installation holds that id, lib/temporal/schedules.ts), every `every` from `startAt`, paused exactly when the
// job is disabled. Catch-up as the recording export's (lib/schedules/policy.ts): one run covers everything since
// the watermark, so runs that find the previous one busy, and all but one missed in an outage, are skipped.
import type { Client } from '@temporalio/client';
import { CATCH_UP } from '../schedules/policy.js';
import { putJobSchedule } from '../temporal/schedules.js';
import {
  RESULTS_EXPORT_KIND, RESULTS_EXPORT_WORKFLOW, resultsExportScheduleId, resultsExportWorkflowIdPrefix,
} from '../../contracts/results.js';
import { runSearchAttributes } from '../../contracts/search-attributes.js';
import { resultsExportSpec, type ResultsExportConfig } from './export-jobs.js';

export async function upsertResultsExportSchedule(client: Client, input: {
  definitionId: string; campaignId: string; config: ResultsExportConfig; enabled: boolean; taskQueue: string;
  resume?: boolean; scheduleId?: string;
}): Promise<string> {
  return putJobSchedule(client, {
    scheduleId: input.scheduleId ?? resultsExportScheduleId(input.definitionId), scopeIfHeld: input.scheduleId === undefined,
    workflowType: RESULTS_EXPORT_WORKFLOW, workflowIdPrefix: resultsExportWorkflowIdPrefix(input.definitionId),
    args: [{ jobId: input.definitionId, triggeredBy: 'schedule' }], taskQueue: input.taskQueue, spec: resultsExportSpec(input.config)!,
    paused: !input.enabled, resume: input.resume, ...CATCH_UP['recording-export'],
    searchAttributes: runSearchAttributes({ kind: RESULTS_EXPORT_KIND, campaignId: input.campaignId, definitionId: input.definitionId, triggeredBy: 'schedule' }),
  });
}
