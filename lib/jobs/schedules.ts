// The Temporal Schedule of a job with a schedule trigger (seed crontab or a preset): `job/<id>`, paused exactly
// when the job is disabled, written through lib/temporal/schedules.ts like every definition's schedule.
import type { Client } from '@temporalio/client';
import type { Sql } from '../../db/sql.js';
import { CATCH_UP } from '../schedules/policy.js';
import { deleteJobSchedule, nextRunTime, putJobSchedule } from '../temporal/schedules.js';
import {
  JOB_FILE_POLL_WORKFLOW, JOB_WORKFLOW, jobFilePollWorkflowIdPrefix, jobScheduledWorkflowIdPrefix, jobScheduleId, type JobFilePollInput, type JobRunInput,
} from '../../contracts/job.js';
import { JOB_KINDS, runSearchAttributes } from '../../contracts/search-attributes.js';
import { jobScheduleSpec, type JobConfig, type JobDefinition } from './definition.js';
import { setJobScheduleId } from './definitions.js';

/** Creates or updates the Temporal Schedule of a job with a schedule trigger (runs the job) or a file-arrival
 *  trigger (polls its folder); returns the id written (the API on save, the schedule sync on repair). */
export async function upsertJobRunSchedule(client: Client, input: {
  definitionId: string; config: JobConfig; enabled: boolean; taskQueue: string; resume?: boolean;
  /** The definition's job_definitions.schedule_id; none for a new schedule (its id is chosen here). */
  scheduleId?: string | null;
}): Promise<string> {
  const spec = jobScheduleSpec(input.config.trigger);
  if (!spec) throw new Error(`job ${input.definitionId} has no schedule or file-arrival trigger`);
  const { definitionId } = input;
  const polls = input.config.trigger.kind === 'file-arrival';
  const common = {
    scheduleId: input.scheduleId ?? jobScheduleId(definitionId), scopeIfHeld: !input.scheduleId, taskQueue: input.taskQueue,
    spec, paused: !input.enabled, resume: input.resume,
  };
  if (polls) {
    // The poll is plumbing, not a run: no job kind, so it never appears in the task log.
    const args: JobFilePollInput[] = [{ definitionId }];
    return putJobSchedule(client, { ...common, workflowType: JOB_FILE_POLL_WORKFLOW, workflowIdPrefix: jobFilePollWorkflowIdPrefix(definitionId), args, overlap: 'skip', catchupWindow: '1 minute' });
  }
  const args: JobRunInput[] = [{ definitionId, triggeredBy: 'schedule' }];
  return putJobSchedule(client, {
    ...common, workflowType: JOB_WORKFLOW, workflowIdPrefix: jobScheduledWorkflowIdPrefix(definitionId), args,
    // Like a report: each scheduled delivery matters, so runs missed in an outage of up to a day are made up.
    ...CATCH_UP.report,
    searchAttributes: runSearchAttributes({ kind: JOB_KINDS.job, definitionId, triggeredBy: 'schedule' }),
  });
}

export function jobSchedule(client: Client, taskQueue: string) {
  return {
    /** Creates or updates the schedule a saved definition needs (inside the save's transaction) and stores its id. */
    async save(tx: Sql, definitionId: string, def: { enabled: boolean; config: JobConfig }, savedScheduleId: string | null, resume = false): Promise<void> {
      if (!jobScheduleSpec(def.config.trigger)) {
        await setJobScheduleId(tx, definitionId, null);
        return;
      }
      const scheduleId = await upsertJobRunSchedule(client, { definitionId, config: def.config, enabled: def.enabled, taskQueue, resume, scheduleId: savedScheduleId });
      await setJobScheduleId(tx, definitionId, scheduleId);
    },
    /** After the commit: the schedule of a definition whose trigger is no longer a schedule. */
    async removeUnwanted(config: JobConfig, previousScheduleId: string | null): Promise<void> {
      if (previousScheduleId && !jobScheduleSpec(config.trigger)) await deleteJobSchedule(client, previousScheduleId, taskQueue);
    },

    async remove(scheduleId: string): Promise<void> {
      await deleteJobSchedule(client, scheduleId, taskQueue);
    },

    /** The schedule id and next run shown with a definition. */
    async shown(sql: Sql, def: JobDefinition): Promise<{ scheduleId: string | null; nextRunAt: string | null }> {
      if (!jobScheduleSpec(def.config.trigger)) return { scheduleId: null, nextRunAt: null };
      const [row] = await sql<{ schedule_id: string | null }[]>`select schedule_id from job_definitions where id = ${def.id}`;
      const scheduleId = row?.schedule_id ?? null;
      const next = scheduleId ? await nextRunTime(client, scheduleId).catch(() => null) : null;
      return { scheduleId, nextRunAt: next ? next.toISOString() : null };
    },
  };
}
