// Job definitions that run periodically are Temporal Schedules: one per definition, id
// `<kind>/<definitionId>`, paused exactly when the definition is disabled. The schedule starts the job's
// workflow with the definition id; the workflow reads the definition itself, so edits apply to the next run.
//
// This module is the only writer of those schedules (the API on save, the sync in lib/runs/schedule-sync.ts
// on repair). Two rules hold for every write:
// - A schedule with our id whose action starts workflows on another task queue belongs to another
//   installation sharing the namespace: it is never overwritten (ScheduleOwnedElsewhereError).
// - A pause made in Temporal on purpose (any note but the platform's own) is kept when the definition is
//   merely saved again; only setting `enabled` again (`resume`) lifts it.
import {
  ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleSpec,
} from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import type { OverlapPolicy } from '../schedules/policy.js';
import type { WrittenSpec } from '../schedules/spec.js';

export interface JobScheduleInput {
  scheduleId: string;
  workflowType: string;
  workflowIdPrefix: string;          // schedule appends the scheduled time: `<prefix>-<iso time>`
  args: unknown[];
  taskQueue: string;
  /** `every` like "15m", "1h", "1d"; or `cron`: Temporal cron expressions (0 = Sunday), UTC, made from the
   *  API's crontab by lib/schedules/cron.ts; several expressions run at the times of any of them. */
  spec: WrittenSpec;
  paused: boolean;
  /** Lift a pause made in Temporal (the definition's `enabled` was set just now). */
  resume?: boolean;
  /** What happens to runs that could not start on time (lib/schedules/policy.ts has each kind's). */
  overlap?: OverlapPolicy;
  catchupWindow?: string;
  searchAttributes?: SearchAttributePair[];
}

/** The notes the platform writes when it pauses or resumes a schedule; any other note on a pause is an operator's. */
export const PLATFORM_NOTES = {
  disabled: 'paused by cc-jobs: the job definition is disabled',
  enabled: 'running by cc-jobs: the job definition is enabled',
} as const;
// Notes earlier versions wrote (a report's `report <id>`, the sync's restore note): theirs too.
const LEGACY_NOTE = /^(report \d+|restored by the schedule sync: .*)$/;

/** A pause an operator made in Temporal (respected), as opposed to the platform's own. */
export function operatorPauseNote(state: ScheduleDescription['state']): string | undefined {
  if (!state.paused) return undefined;
  const note = state.note?.trim() ?? '';
  if (!note || Object.values(PLATFORM_NOTES).includes(note as never) || LEGACY_NOTE.test(note)) return undefined;
  return note;
}

export class ScheduleOwnedElsewhereError extends Error {
  constructor(readonly scheduleId: string, readonly foreignTaskQueue: string, taskQueue: string) {
    super(`Temporal Schedule ${scheduleId} already exists in this namespace and starts workflows on task queue `
      + `${JSON.stringify(foreignTaskQueue)}, not this installation's ${JSON.stringify(taskQueue)}: another installation shares the namespace. `
      + 'It was left as it is; give each installation its own Temporal namespace.');
    this.name = 'ScheduleOwnedElsewhereError';
  }
}

const OVERLAP = {
  'skip': ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
} as const;

/** The Temporal spec of a written spec (intervals with their phase and start, or cron expressions). */
export function toSpec(spec: WrittenSpec): ScheduleSpec {
  if (spec.cron?.length) return { cronExpressions: spec.cron };
  if (spec.every && spec.offset) return { intervals: [{ every: spec.every as never, offset: spec.offset as never }], startAt: spec.startAt ? new Date(spec.startAt) : undefined };
  if (spec.every) return { intervals: [{ every: spec.every as never }] };
  throw new Error('a schedule needs `every` or `cron`');
}

/** The task queue a schedule starts its workflows on (undefined for another kind of action). */
export function actionTaskQueue(schedule: ScheduleDescription): string | undefined {
  return schedule.action.type === 'startWorkflow' ? schedule.action.taskQueue : undefined;
}

const GRPC_NOT_FOUND = 5;

/**
 * Whose a schedule is, read without decoding its payloads: another installation's action arguments are
 * encrypted with its own master key, which this process cannot (and must not need to) decode. `null` when the
 * schedule does not exist; `''` when its action starts no workflow.
 */
export async function scheduleTaskQueue(client: Client, scheduleId: string): Promise<string | null> {
  try {
    const raw = await client.workflowService.describeSchedule({ namespace: client.options.namespace, scheduleId });
    return raw.schedule?.action?.startWorkflow?.taskQueue?.name ?? '';
  } catch (err) {
    if ((err as { code?: number }).code === GRPC_NOT_FOUND) return null;
    throw err;
  }
}

/**
 * A new definition's schedule id when `<kind>/<id>` is already another installation's: scoped by our task
 * queue, so both installations keep their own (job_definitions.schedule_id remembers which one is ours).
 */
export const scopedScheduleId = (scheduleId: string, taskQueue: string) => `${scheduleId}@${taskQueue}`;

/**
 * Creates the schedule or replaces its spec, action, policies and paused state; returns the id written. With
 * `scopeIfHeld` (a definition being created), an id held by another installation is not refused but replaced
 * by the scoped one (scopedScheduleId).
 */
export async function putJobSchedule(client: Client, input: JobScheduleInput & { scopeIfHeld?: boolean }): Promise<string> {
  try {
    await upsertJobSchedule(client, input);
    return input.scheduleId;
  } catch (err) {
    if (!(err instanceof ScheduleOwnedElsewhereError) || !input.scopeIfHeld) throw err;
    const scheduleId = scopedScheduleId(input.scheduleId, input.taskQueue);
    await upsertJobSchedule(client, { ...input, scheduleId });
    return scheduleId;
  }
}

/** Creates the schedule or replaces its spec, action, policies and paused state. */
export async function upsertJobSchedule(client: Client, input: JobScheduleInput): Promise<void> {
  const action = {
    type: 'startWorkflow' as const,
    workflowType: input.workflowType,
    workflowId: input.workflowIdPrefix,
    args: input.args,
    taskQueue: input.taskQueue,
    typedSearchAttributes: input.searchAttributes,
  };
  const policies = { overlap: OVERLAP[input.overlap ?? 'skip'], catchupWindow: (input.catchupWindow ?? '1 hour') as never };
  const note = input.paused ? PLATFORM_NOTES.disabled : PLATFORM_NOTES.enabled;
  // Whose it is, read before decoding anything (another installation's payloads use its own key).
  const refuseForeign = (queue: string | null) => {
    if (queue !== null && queue !== input.taskQueue) throw new ScheduleOwnedElsewhereError(input.scheduleId, queue || '(none)', input.taskQueue);
  };
  const update = () => client.schedule.getHandle(input.scheduleId).update((previous) => {
    refuseForeign(actionTaskQueue(previous) ?? '');
    const keepOperatorPause = !input.paused && !input.resume && operatorPauseNote(previous.state) !== undefined;
    const state = keepOperatorPause ? previous.state : { ...previous.state, paused: input.paused, note };
    return { ...previous, spec: toSpec(input.spec), action, policies, state };
  });
  const existing = await scheduleTaskQueue(client, input.scheduleId);
  refuseForeign(existing);
  if (existing !== null) return update();
  try {
    await client.schedule.create({ scheduleId: input.scheduleId, spec: toSpec(input.spec), action, policies, state: { paused: input.paused, note } });
  } catch (err) {
    // Another worker (or the API, or another installation) created it between our look and our create.
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    refuseForeign(await scheduleTaskQueue(client, input.scheduleId));
    await update();
  }
}

/** Deletes the schedule; with `taskQueue`, only when it is this installation's (another's is left alone). */
export async function deleteJobSchedule(client: Client, scheduleId: string, taskQueue?: string): Promise<void> {
  const handle = client.schedule.getHandle(scheduleId);
  try {
    if (taskQueue !== undefined && (await scheduleTaskQueue(client, scheduleId)) !== taskQueue) return;
    await handle.delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
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
