// The run record (runs table) behind the task views. Workflows write it through these activities; the
// reconciler (lib/runs/reconcile.ts) fills in what a workflow could not report itself (terminated from
// Temporal UI). The run metrics (lib/metrics.ts) move here too: progress is counted as the delta against
// the row, so a retried activity or a continued-as-new run is never counted twice.
import type { Sql } from '../db/sql.js';
import { recordRunEnded, recordRunStarted, recordRunTransferred } from '../lib/metrics.js';
import type { RunEnd, RunStart, RunUpdate } from '../workflows/shared/runs.js';

interface Moved { type: string; items: string; bytes: string; seconds: number | null }

function countMoved(moved: Moved | undefined): void {
  if (moved) recordRunTransferred(moved.type, Number(moved.items), Number(moved.bytes));
}

export function createRunActivities({ sql }: { sql: Sql }) {
  return {
    async recordRunStart(run: RunStart): Promise<void> {
      const [row] = await sql<{ counted: boolean }[]>`
        with before as (select status from runs where run_id = ${run.runId})
        insert into runs (run_id, type, name, object_name, definition_id, campaign_id, acting_user, status,
                          step, scheduled_at, started_at)
        values (${run.runId}, ${run.type}, ${run.name}, ${run.objectName ?? null}, ${run.definitionId ?? null},
                ${run.campaignId ?? null}, ${run.actingUser ?? null}, 'running', 'starting',
                ${run.scheduledAt ?? null}, now())
        on conflict (run_id) do update
          set status = 'running', ended_at = null, error = null,
              attempts = case when runs.status in ('running', 'scheduled') then runs.attempts else runs.attempts + 1 end
        returning coalesce((select status <> 'running' from before), true) as counted`;
      // A retried activity (the run already running) is not a new start; a first record or a re-run is.
      if (row?.counted) recordRunStarted(run.type);
    },

    async recordRunProgress(update: RunUpdate): Promise<void> {
      const [moved] = await sql<Moved[]>`
        with before as (select run_id, progress_done, size_bytes from runs where run_id = ${update.runId} for update)
        update runs set
          step = coalesce(${update.step ?? null}, step),
          progress_done = coalesce(${update.done ?? null}, runs.progress_done),
          progress_total = coalesce(${update.total ?? null}, progress_total),
          size_bytes = coalesce(${update.sizeBytes ?? null}, runs.size_bytes)
        from before where runs.run_id = before.run_id
        returning runs.type, runs.progress_done - before.progress_done as items,
                  runs.size_bytes - before.size_bytes as bytes, null::float8 as seconds`;
      countMoved(moved);
    },

    async recordRunEnd(end: RunEnd): Promise<void> {
      const [moved] = await sql<(Moved & { was_open: boolean })[]>`
        with before as (select run_id, progress_done, size_bytes, status from runs where run_id = ${end.runId} for update)
        update runs set
          status = ${end.status},
          step = coalesce(${end.step ?? null}, step),
          error = ${end.error ?? null},
          result = ${end.result === undefined ? null : sql.json(end.result as never)},
          size_bytes = coalesce(${end.sizeBytes ?? null}, runs.size_bytes),
          progress_done = coalesce(${end.done ?? null}, runs.progress_done),
          progress_total = coalesce(${end.total ?? null}, progress_total),
          ended_at = now()
        from before where runs.run_id = before.run_id
        returning runs.type, runs.progress_done - before.progress_done as items, runs.size_bytes - before.size_bytes as bytes,
                  extract(epoch from now() - runs.started_at)::float8 as seconds,
                  before.status in ('running', 'scheduled') as was_open`;
      countMoved(moved);
      // A retried end activity finds the row closed already and does not count the end twice.
      if (moved?.was_open) recordRunEnded(moved.type, end.status, moved.seconds ?? 0);
    },
  };
}
