// The cluster-wide chores' Temporal Schedules (contracts/chores.ts), ensured at every worker start:
// created when missing, their interval and action put back when they differ from this worker's settings,
// otherwise left alone — a pause an engineer made in Temporal UI is kept. Safe when several workers start at
// once: one creates each schedule, the others find it. Overlap SKIP: a pass still running when the next is
// due makes Temporal skip that one, so passes never run side by side, whatever the number of workers.
import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config.js';
import { ensurePlatformSchedule } from '../lib/temporal/platform-schedules.js';
import { CHORE_WORKFLOW, CHORES, choreScheduleId, type ChoreName } from '../contracts/chores.js';

/** How often the upload retention sweep runs (retention is counted in days: every few minutes is exact enough). */
export const UPLOAD_SWEEP_SECONDS = 600;

export const CHORE_NOTES: Record<ChoreName, string> = {
  'reconcile-runs': 'cc-jobs chore: records runs Temporal closed without the workflow recording it (RECONCILE_INTERVAL_SECONDS)',
  'schedule-sync': 'cc-jobs chore: puts job definitions\' schedules back in line with their definitions (RECONCILE_INTERVAL_SECONDS)',
  'campaign-lock-reaper': 'cc-jobs chore: frees campaign locks whose holder run has closed (CAMPAIGN_LOCK_REAP_SECONDS)',
  'upload-retention': 'cc-jobs chore: removes uploads older than UPLOAD_RETENTION_DAYS (every 10 minutes)',
};

/** Each chore's interval in seconds, from the settings. */
export function choreIntervals(cfg: Pick<Config, 'RECONCILE_INTERVAL_SECONDS' | 'CAMPAIGN_LOCK_REAP_SECONDS'>): Record<ChoreName, number> {
  return {
    'reconcile-runs': cfg.RECONCILE_INTERVAL_SECONDS,
    'schedule-sync': cfg.RECONCILE_INTERVAL_SECONDS,
    'campaign-lock-reaper': cfg.CAMPAIGN_LOCK_REAP_SECONDS,
    'upload-retention': UPLOAD_SWEEP_SECONDS,
  };
}

/** Ensures every chore's schedule; returns the schedule ids. */
export async function ensureChoreSchedules(client: Client, taskQueue: string, intervals: Record<ChoreName, number>): Promise<string[]> {
  const ids: string[] = [];
  for (const chore of CHORES) ids.push(await ensureChoreSchedule(client, taskQueue, chore, intervals[chore]));
  return ids;
}

/** A chore's schedule (lib/temporal/platform-schedules.ts); its one argument is the chore's name, which the
 *  workflow reads. A pass missed while Temporal or every worker was down is made up once. */
async function ensureChoreSchedule(client: Client, taskQueue: string, chore: ChoreName, seconds: number): Promise<string> {
  const scheduleId = choreScheduleId(chore, taskQueue);
  await ensurePlatformSchedule(client, {
    scheduleId, workflowType: CHORE_WORKFLOW, args: [{ chore }], taskQueue,
    spec: { every: `${seconds}s` }, catchupWindowMs: Math.max(60, seconds) * 1000, note: CHORE_NOTES[chore],
  });
  return scheduleId;
}
