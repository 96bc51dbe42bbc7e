// The platform's own Temporal Schedules, each under one fixed id (saved-report retention, content expiry, the
// cluster chores): ensured at every worker start, so every installation has them. One rule for all of them:
// - missing: created, running;
// - present: its spec, action and policies are the platform's (an edit in Temporal is put back), but a pause an
//   operator made in Temporal is kept (a restart does not overrule it);
// - unreadable (written with an encrypted argument under a master key this process lacks — an earlier
//   version, or another installation or test environment sharing the namespace): replaced, since the id is
//   the platform's own and nothing else lives under it. New ones carry no argument unless the workflow needs
//   one (a chore's name), so any worker can read them whatever its key.
// Safe when several workers start at once: one creates, the others find it (a write that raced is read again).
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { specDrift, type WrittenSpec } from '../schedules/spec.js';
import { toSpec } from './schedules.js';

/** A maintenance schedule's catch-up window (lib/schedules/policy.ts, CATCH_UP.maintenance): 30 days. */
export const MAINTENANCE_CATCHUP_MS = 30 * 86_400_000;

export interface PlatformScheduleInput {
  /** The fixed id; also the workflow id prefix of its runs. */
  scheduleId: string;
  workflowType: string;
  /** Empty unless the workflow needs one (see the top of this file). */
  args?: unknown[];
  taskQueue: string;
  spec: WrittenSpec;
  /** Overlap is always SKIP: one late pass does the work of many. */
  catchupWindowMs: number;
  /** Shown in Temporal UI on the schedule. */
  note: string;
  searchAttributes?: SearchAttributePair[];
}

export async function ensurePlatformSchedule(client: Client, input: PlatformScheduleInput): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await putPlatformSchedule(client, input);
      return;
    } catch (err) {
      // Another worker created or changed it between our read and our write: read again.
      if (attempt >= 5 || !(err instanceof ScheduleAlreadyRunning || /conflict|already/i.test(String(err)))) throw err;
    }
  }
}

async function putPlatformSchedule(client: Client, input: PlatformScheduleInput): Promise<void> {
  const { scheduleId, workflowType, taskQueue } = input;
  const args = input.args ?? [];
  const handle = client.schedule.getHandle(scheduleId);
  const action = { type: 'startWorkflow' as const, workflowType, workflowId: scheduleId, args, taskQueue, typedSearchAttributes: input.searchAttributes };
  const spec = toSpec(input.spec);
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: input.catchupWindowMs };
  let current;
  try {
    current = await handle.describe();
  } catch (err) {
    const unreadable = !(err instanceof ScheduleNotFoundError) && /master key id/i.test(String(err));
    if (!(err instanceof ScheduleNotFoundError) && !unreadable) throw err;
    if (unreadable) await handle.delete();
    await client.schedule.create({ scheduleId, spec, action, policies, state: { paused: false, note: input.note } });
    return;
  }
  const upToDate = current.action.type === 'startWorkflow' && current.action.workflowType === workflowType
    && current.action.taskQueue === taskQueue && current.action.workflowId === scheduleId
    && JSON.stringify(current.action.args ?? []) === JSON.stringify(args)
    && !specDrift(current.spec, input.spec)
    && current.policies.overlap === ScheduleOverlapPolicy.SKIP && current.policies.catchupWindow === input.catchupWindowMs;
  if (!upToDate) await handle.update((previous) => ({ ...previous, spec, action, policies }));
}
