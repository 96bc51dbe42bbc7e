// The run record (runs table) behind the task views. Workflows write it through these activities; the
// reconciler fills in what a workflow could not report itself (terminated from Temporal UI).
import type { Sql } from '../db/sql.js';
import type { RunEnd, RunStart, RunUpdate } from '../workflows/shared/runs.js';

export function createRunActivities({ sql }: { sql: Sql }) {
  return {
    async recordRunStart(run: RunStart): Promise<void> {
      await sql`
        insert into runs (run_id, type, name, object_name, definition_id, campaign_id, acting_user, status,
                          step, scheduled_at, started_at)
        values (${run.runId}, ${run.type}, ${run.name}, ${run.objectName ?? null}, ${run.definitionId ?? null},
                ${run.campaignId ?? null}, ${run.actingUser ?? null}, 'running', 'starting',
                ${run.scheduledAt ?? null}, now())
        on conflict (run_id) do update
          set status = 'running', ended_at = null, error = null,
              attempts = case when runs.status in ('running', 'scheduled') then runs.attempts else runs.attempts + 1 end`;
    },

    async recordRunProgress(update: RunUpdate): Promise<void> {
      await sql`
        update runs set
          step = coalesce(${update.step ?? null}, step),
          progress_done = coalesce(${update.done ?? null}, progress_done),
          progress_total = coalesce(${update.total ?? null}, progress_total),
          size_bytes = coalesce(${update.sizeBytes ?? null}, size_bytes)
        where run_id = ${update.runId}`;
    },

    async recordRunEnd(end: RunEnd): Promise<void> {
      await sql`
        update runs set
          status = ${end.status},
          step = coalesce(${end.step ?? null}, step),
          error = ${end.error ?? null},
          result = ${end.result === undefined ? null : sql.json(end.result as never)},
          size_bytes = coalesce(${end.sizeBytes ?? null}, size_bytes),
          progress_done = coalesce(${end.done ?? null}, progress_done),
          progress_total = coalesce(${end.total ?? null}, progress_total),
          ended_at = now()
        where run_id = ${end.runId}`;
    },
  };
}
