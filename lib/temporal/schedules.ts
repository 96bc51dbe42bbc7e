// Job definitions that run periodically are Temporal Schedules: one per definition, id
// `<kind>/<definitionId>`, paused exactly when the definition is disabled. The schedule starts the job's
// workflow with the definition id; the workflow reads the definition itself, so edits apply to the next run.
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';

export interface JobScheduleInput {
  scheduleId: string;
  workflowType: string;
  workflowIdPrefix: string;          // schedule appends the scheduled time: `<prefix>-<iso time>`
  args: unknown[];
  taskQueue: string;
  /** `every` like "15m", "1h", "1d"; or `cron`: five fields in Temporal's own convention (0 = Sunday), UTC;
   *  several expressions run at the times of any of them. */
  spec: { every?: string; cron?: string | string[] };
  paused: boolean;
  note?: string;
  overlap?: 'skip' | 'buffer-one' | 'allow-all';
  searchAttributes?: SearchAttributePair[];
}

const OVERLAP = {
  'skip': ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
} as const;

function toSpec(spec: JobScheduleInput['spec']): ScheduleSpec {
  if (spec.cron?.length) return { cronExpressions: typeof spec.cron === 'string' ? [spec.cron] : spec.cron };
  if (spec.every) return { intervals: [{ every: spec.every as never }] };
  throw new Error('a schedule needs `every` or `cron`');
}

/** Creates the schedule or replaces its spec, action and paused state. */
export async function upsertJobSchedule(client: Client, input: JobScheduleInput): Promise<void> {
  const action = {
    type: 'startWorkflow' as const,
    workflowType: input.workflowType,
    workflowId: input.workflowIdPrefix,
    args: input.args,
    taskQueue: input.taskQueue,
    typedSearchAttributes: input.searchAttributes,
  };
  const policies = { overlap: OVERLAP[input.overlap ?? 'skip'], catchupWindow: '1 hour' as const };
  const handle = client.schedule.getHandle(input.scheduleId);
  try {
    await handle.update((previous) => ({
      ...previous,
      spec: toSpec(input.spec),
      action,
      policies,
      state: { ...previous.state, paused: input.paused, note: input.note },
    }));
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule.create({
      scheduleId: input.scheduleId,
      spec: toSpec(input.spec),
      action,
      policies,
      state: { paused: input.paused, note: input.note },
    });
  }
}

export async function deleteJobSchedule(client: Client, scheduleId: string): Promise<void> {
  try {
    await client.schedule.getHandle(scheduleId).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}

export async function pauseJobSchedule(client: Client, scheduleId: string, paused: boolean, note?: string): Promise<void> {
  const handle = client.schedule.getHandle(scheduleId);
  if (paused) await handle.pause(note);
  else await handle.unpause(note);
}

/** "Run now": an immediate action of the schedule, allowed even while another run is in progress is not. */
export async function triggerJobSchedule(client: Client, scheduleId: string): Promise<void> {
  await client.schedule.getHandle(scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
}

export async function nextRunTime(client: Client, scheduleId: string): Promise<Date | null> {
  try {
    const d = await client.schedule.getHandle(scheduleId).describe();
    if (d.state.paused) return null;
    return d.info.nextActionTimes[0] ?? null;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return null;
    throw err;
  }
}
