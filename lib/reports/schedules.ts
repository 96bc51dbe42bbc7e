// The Temporal Schedules of reports: one per scheduled report definition (the seed crontab converted to
// Temporal's convention), and one daily schedule removing saved reports older than 30 days.
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { CATCH_UP } from '../schedules/policy.js';
import { specDrift } from '../schedules/spec.js';
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
const RETENTION_CATCHUP_MS = 30 * 86_400_000;

/**
 * Makes sure the daily removal of expired saved reports exists and starts on `taskQueue`; run at every
 * worker start, so it exists on every installation. Idempotent and safe when several workers start at
 * once (one creates, the others find it). An existing schedule keeps its paused state: an operator who
 * paused it from Temporal UI is not overruled by a restart.
 */
export async function ensureReportRetentionSchedule(client: Client, taskQueue: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await putRetentionSchedule(client, taskQueue);
      return;
    } catch (err) {
      // Another worker created or changed it between our read and our write: read again.
      if (attempt >= 3 || !(err instanceof ScheduleAlreadyRunning || /conflict/i.test(String(err)))) throw err;
    }
  }
}

async function putRetentionSchedule(client: Client, taskQueue: string): Promise<void> {
  const handle = client.schedule.getHandle(REPORT_RETENTION_SCHEDULE_ID);
  const action = {
    type: 'startWorkflow' as const, workflowType: REPORT_RETENTION_WORKFLOW, workflowId: REPORT_RETENTION_SCHEDULE_ID, args: [],
    taskQueue, typedSearchAttributes: runSearchAttributes({ kind: 'report', triggeredBy: 'schedule' }),
  };
  const spec = { cronExpressions: [RETENTION_CRON] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCH_UP.maintenance.catchupWindow as never };
  let current;
  try {
    current = await handle.describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule.create({
      scheduleId: REPORT_RETENTION_SCHEDULE_ID, spec, action, policies,
      state: { paused: false, note: 'removes saved reports older than 30 days' },
    });
    return;
  }
  // The spec is the platform's like a definition's is (an edit in Temporal is put back); a pause is kept.
  const upToDate = current.action.type === 'startWorkflow' && current.action.taskQueue === taskQueue
    && current.action.workflowType === REPORT_RETENTION_WORKFLOW && !specDrift(current.spec, { cron: [RETENTION_CRON] })
    && current.policies.catchupWindow === RETENTION_CATCHUP_MS;
  if (upToDate) return;
  await handle.update((previous) => ({ ...previous, spec, action, policies }));
}
