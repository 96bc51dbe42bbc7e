// The Temporal Schedule of the content expiry: one fixed id (`content-expiry`), so there is one per cluster
// however many workers start; ensured at every worker start like the saved-report retention
// (lib/reports/schedules.ts). Hourly: content leaves at most an hour after its storage time ends. It runs whether
// or not RECORDING_STORAGE_DAYS is set (unset, a run finds nothing to do), so setting it needs no other step.
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { CATCH_UP } from '../schedules/policy.js';
import { specDrift } from '../schedules/spec.js';
import { CONTENT_EXPIRY_SCHEDULE_ID, CONTENT_EXPIRY_WORKFLOW } from '../../contracts/content-expiry.js';
import { runSearchAttributes } from '../../contracts/search-attributes.js';

export const CONTENT_EXPIRY_CRON = '41 * * * *';
const CATCHUP_MS = 30 * 86_400_000;

export async function ensureContentExpirySchedule(client: Client, taskQueue: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await putSchedule(client, taskQueue);
      return;
    } catch (err) {
      // Another worker created or changed it between our read and our write: read again.
      if (attempt >= 3 || !(err instanceof ScheduleAlreadyRunning || /conflict|already/i.test(String(err)))) throw err;
    }
  }
}

async function putSchedule(client: Client, taskQueue: string): Promise<void> {
  const handle = client.schedule.getHandle(CONTENT_EXPIRY_SCHEDULE_ID);
  const action = {
    type: 'startWorkflow' as const, workflowType: CONTENT_EXPIRY_WORKFLOW, workflowId: CONTENT_EXPIRY_SCHEDULE_ID, args: [],
    taskQueue, typedSearchAttributes: runSearchAttributes({ kind: 'content-expiry', triggeredBy: 'schedule' }),
  };
  const spec = { cronExpressions: [CONTENT_EXPIRY_CRON] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCH_UP.maintenance.catchupWindow as never };
  let current;
  try {
    current = await handle.describe();
  } catch (err) {
    // Written by an earlier version with an encrypted argument under a key this process lacks: it cannot be read,
    // so it is replaced (the id is the platform's own; nothing else lives under it).
    const unreadable = !(err instanceof ScheduleNotFoundError) && /master key id/i.test(String(err));
    if (!(err instanceof ScheduleNotFoundError) && !unreadable) throw err;
    if (unreadable) await handle.delete();
    await client.schedule.create({
      scheduleId: CONTENT_EXPIRY_SCHEDULE_ID, spec, action, policies,
      state: { paused: false, note: 'removes interaction content older than RECORDING_STORAGE_DAYS' },
    });
    return;
  }
  // The spec is the platform's (an edit in Temporal is put back); a pause made by an operator is kept.
  // No arguments: an encrypted argument would make the schedule unreadable to a worker holding another master key
  // (a second installation or a test environment sharing the namespace), and its start would fail on describe.
  const upToDate = current.action.type === 'startWorkflow' && current.action.taskQueue === taskQueue
    && (current.action.args?.length ?? 0) === 0
    && current.action.workflowType === CONTENT_EXPIRY_WORKFLOW && !specDrift(current.spec, { cron: [CONTENT_EXPIRY_CRON] })
    && current.policies.catchupWindow === CATCHUP_MS;
  if (upToDate) return;
  await handle.update((previous) => ({ ...previous, spec, action, policies }));
}
