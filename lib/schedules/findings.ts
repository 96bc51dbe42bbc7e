// schedule_findings (migration 0021): what the schedule sync found on its last look at each schedule of this
// installation. The sync writes it through this module; the task views and /healthz read it.
import type { Sql } from '../../db/sql.js';

export interface ScheduleFinding {
  /** The drift from the definition repaired in this pass (kept, with its time, until another is repaired). */
  drift?: string;
  /** A pause an engineer made in Temporal while the definition is enabled: kept; its note. */
  pausedNote?: string | null;
  /** Our id, another installation's schedule (its task queue): an error, left alone. */
  foreignTaskQueue?: string;
  skippedRuns?: number;
  missedRuns?: number;
}

export interface StoredFinding {
  scheduleId: string; checkedAt: Date; drift: string | null; driftRepairedAt: Date | null; pausedNote: string | null;
  foreignTaskQueue: string | null; skippedRuns: number; missedRuns: number;
}

export async function recordFinding(sql: Sql, scheduleId: string, f: ScheduleFinding): Promise<void> {
  await sql`
    insert into schedule_findings (schedule_id, checked_at, drift, drift_repaired_at, paused_note, foreign_task_queue, skipped_runs, missed_runs)
    values (${scheduleId}, now(), ${f.drift ?? null}, ${f.drift ? sql`now()` : null}, ${f.pausedNote ?? null}, ${f.foreignTaskQueue ?? null},
            ${f.skippedRuns ?? 0}, ${f.missedRuns ?? 0})
    on conflict (schedule_id) do update set
      checked_at = now(),
      drift = coalesce(excluded.drift, schedule_findings.drift),
      drift_repaired_at = coalesce(excluded.drift_repaired_at, schedule_findings.drift_repaired_at),
      paused_note = excluded.paused_note, foreign_task_queue = excluded.foreign_task_queue,
      skipped_runs = excluded.skipped_runs, missed_runs = excluded.missed_runs`;
}

/** Forgets the findings of schedules the last pass did not see (deleted, or no longer ours). */
export async function clearFindings(sql: Sql, seen: string[]): Promise<void> {
  await sql`delete from schedule_findings where schedule_id <> all(${seen}::text[])`;
}

export async function readFindings(sql: Sql, scheduleIds?: string[]): Promise<Map<string, StoredFinding>> {
  const rows = await sql<StoredFinding[]>`
    select schedule_id as "scheduleId", checked_at as "checkedAt", drift, drift_repaired_at as "driftRepairedAt", paused_note as "pausedNote",
           foreign_task_queue as "foreignTaskQueue", skipped_runs as "skippedRuns", missed_runs as "missedRuns"
    from schedule_findings ${scheduleIds ? sql`where schedule_id = any(${scheduleIds}::text[])` : sql``}`;
  return new Map(rows.map((r) => [r.scheduleId, r]));
}
