// The Temporal Schedule of the content expiry: one fixed id (`content-expiry`), so there is one per cluster
// however many workers start; ensured at every worker start like the saved-report retention
// (lib/reports/schedules.ts). Hourly: content leaves at most an hour after its storage time ends. It runs whether
// or not RECORDING_STORAGE_DAYS is set (unset, a run finds nothing to do), so setting it needs no other step.
import type { Client } from '@temporalio/client';
import { ensurePlatformSchedule, MAINTENANCE_CATCHUP_MS } from '../temporal/platform-schedules.js';
import { CONTENT_EXPIRY_SCHEDULE_ID, CONTENT_EXPIRY_WORKFLOW } from '../../contracts/content-expiry.js';
import { runSearchAttributes } from '../../contracts/search-attributes.js';

export const CONTENT_EXPIRY_CRON = '41 * * * *';

/** Ensured as every platform schedule is (lib/temporal/platform-schedules.ts): no argument, so a worker holding
 *  another master key can read it; one an earlier version wrote with an encrypted argument is replaced. */
export async function ensureContentExpirySchedule(client: Client, taskQueue: string): Promise<void> {
  await ensurePlatformSchedule(client, {
    scheduleId: CONTENT_EXPIRY_SCHEDULE_ID, workflowType: CONTENT_EXPIRY_WORKFLOW, taskQueue,
    spec: { cron: [CONTENT_EXPIRY_CRON] }, catchupWindowMs: MAINTENANCE_CATCHUP_MS,
    note: 'removes interaction content older than RECORDING_STORAGE_DAYS',
    searchAttributes: runSearchAttributes({ kind: 'content-expiry', triggeredBy: 'schedule' }),
  });
}
