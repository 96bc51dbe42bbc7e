// The Temporal Schedule of a job with a schedule trigger (seed crontab or a preset): `job/<id>`, paused exactly
// when the job is disabled, written through lib/temporal/schedules.ts like every definition's schedule.
import type { Client } from '@temporalio/client';
import type { Sql } from '../../db/sql.js';
import { seedCronToTemporal, temporalCronExpressions } from '../schedules/cron.js';
import { CATCH_UP } from '../schedules/policy.js';
import { deleteJobSchedule, nextRunTime, putJobSchedule } from '../temporal/schedules.js';
import { JOB_WORKFLOW, jobScheduledWorkflowIdPrefix, jobScheduleId, type JobRunInput } from '../../workflows/job-shared.js';
import { JOB_KINDS, runSearchAttributes } from '../../workflows/shared/search-attributes.js';
import { triggerCron, type JobConfig, type JobDefinition } from './definition.js';
import { setJobScheduleId } from './definitions.js';

export function jobSchedule(client: Client, taskQueue: string) {
  return {
    /** Creates or updates the schedule a saved definition needs (inside the save's transaction) and stores its id. */
    async save(tx: Sql, definitionId: string, def: { name: string; enabled: boolean; config: JobConfig }, savedScheduleId: string | null, resume = false): Promise<void> {
      const cron = triggerCron(def.config.trigger);
      if (!cron) {
        await setJobScheduleId(tx, definitionId, null);
        return;
      }
      const input: JobRunInput = { definitionId, triggeredBy: 'schedule' };
      const scheduleId = await putJobSchedule(client, {
        scheduleId: savedScheduleId ?? jobScheduleId(definitionId), scopeIfHeld: savedScheduleId === null,
        workflowType: JOB_WORKFLOW, workflowIdPrefix: jobScheduledWorkflowIdPrefix(definitionId), args: [input], taskQueue,
        spec: { cron: temporalCronExpressions(seedCronToTemporal(cron)) }, paused: !def.enabled, resume,
        ...CATCH_UP.report,
        searchAttributes: runSearchAttributes({ kind: JOB_KINDS.job, campaignId: def.config.trigger.kind === 'campaign-end' ? def.config.trigger.campaignId : null, definitionId, triggeredBy: 'schedule' }),
      });
      await setJobScheduleId(tx, definitionId, scheduleId);
    },

    /** After the commit: the schedule of a definition whose trigger is no longer a schedule. */
    async removeUnwanted(config: JobConfig, previousScheduleId: string | null): Promise<void> {
      if (previousScheduleId && !triggerCron(config.trigger)) await deleteJobSchedule(client, previousScheduleId, taskQueue);
    },

    async remove(scheduleId: string): Promise<void> {
      await deleteJobSchedule(client, scheduleId, taskQueue);
    },

    /** The schedule id and next run shown with a definition. */
    async shown(sql: Sql, def: JobDefinition): Promise<{ scheduleId: string | null; nextRunAt: string | null }> {
      if (!triggerCron(def.config.trigger)) return { scheduleId: null, nextRunAt: null };
      const [row] = await sql<{ schedule_id: string | null }[]>`select schedule_id from job_definitions where id = ${def.id}`;
      const scheduleId = row?.schedule_id ?? null;
      const next = scheduleId ? await nextRunTime(client, scheduleId).catch(() => null) : null;
      return { scheduleId, nextRunAt: next ? next.toISOString() : null };
    },
  };
}
