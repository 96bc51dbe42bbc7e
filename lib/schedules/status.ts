// A schedule as the task views show it (GET /tasks, the definitions' nextRunAt): its next run, whether it is
// paused and by whom (an engineer's pause in Temporal, with its note), a drift of its spec from the definition
// (live: shown until the sync restores it, then the last one repaired, from schedule_findings), a schedule
// with our id held by another installation, and the runs Temporal skipped (overlap) or missed (outage
// longer than the catch-up window, lib/schedules/policy.ts).
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { operatorPauseNote, scheduleTaskQueue } from '../temporal/schedules.js';
import type { StoredFinding } from './findings.js';
import { specDrift, type WrittenSpec } from './spec.js';

export interface ScheduleStatus {
  nextRunAt: Date | null;
  paused: boolean;
  /** Paused in Temporal by an engineer (kept by the platform): the note given; null otherwise. */
  pausedNote: string | null;
  /** How Temporal's spec differs from the definition right now (the sync restores it); null when in line. */
  drift: string | null;
  lastDriftRepaired: { drift: string; at: Date } | null;
  /** Set when the schedule with this id starts workflows on another installation's task queue: an error. */
  heldByAnotherInstallation: boolean;
  skippedRuns: number;
  missedRuns: number;
}

/** Undefined when the schedule does not exist in Temporal. */
export async function scheduleStatus(client: Client, scheduleId: string, options: {
  taskQueue: string; spec?: WrittenSpec; finding?: StoredFinding;
}): Promise<ScheduleStatus | undefined> {
  // Whose it is first: another installation's payloads are encrypted with its key and cannot be described here.
  const queue = await scheduleTaskQueue(client, scheduleId);
  if (queue === null) return undefined;
  if (queue !== options.taskQueue) {
    return { nextRunAt: null, paused: false, pausedNote: null, drift: null, lastDriftRepaired: null, heldByAnotherInstallation: true, skippedRuns: 0, missedRuns: 0 };
  }
  let d;
  try {
    d = await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
  const f = options.finding;
  return {
    nextRunAt: d.state.paused ? null : d.info.nextActionTimes[0] ?? null,
    paused: d.state.paused,
    pausedNote: operatorPauseNote(d.state) ?? null,
    drift: options.spec ? specDrift(d.spec, options.spec) ?? null : null,
    lastDriftRepaired: f?.drift && f.driftRepairedAt ? { drift: f.drift, at: f.driftRepairedAt } : null,
    heldByAnotherInstallation: false,
    skippedRuns: d.info.numActionsSkippedOverlap,
    missedRuns: d.info.numActionsMissedCatchupWindow,
  };
}
