// A run as the API shows it: the runs row the workflow keeps, the latest Temporal execution (so a run
// that continued as new is followed), and, while it runs, the live runStatus query. When Temporal says a
// run is closed but the row still says running (terminated from Temporal UI, a crashed workflow), the
// row is reconciled here; a closed run of ours that never wrote its row (it failed before recording its
// start) is recorded here with its real error.
import type { WorkflowExecutionDescription } from '@temporalio/client';
import {
  closedState, describeExecution as describeIn, recordClosedRun, recordUnrecordedExecution,
} from '../lib/runs/reconcile.js';
import type { RunState } from '../contracts/runs.js';
import { runStatusQuery, type RunStatus } from '../contracts/run-status.js';
import { JOB_KIND } from '../contracts/search-attributes.js';
import type { AppDeps } from './app.js';
import { iso } from './schemas.js';

const QUERY_TIMEOUT_MS = 2_000;

interface RunRow {
  run_id: string; type: string; name: string; object_name: string | null; acting_user: string | null; status: RunState;
  step: string | null; progress_done: string; progress_total: string | null; attempts: number; size_bytes: string;
  error: string | null; result: unknown; started_at: Date; ended_at: Date | null;
}

export interface RunView {
  runId: string; type: string; name: string; objectName: string | null; actingUser: string | null; status: RunState;
  step: string | null; progress: { done: number; total: number | null; percent: number | null }; attempts: number;
  startedAt: string | null; endedAt: string | null; sizeKb: number; error: string | null; result: unknown; temporalUiUrl: string;
}

export { closedState };

export function temporalUiUrl(config: AppDeps['config'], runId: string): string {
  const base = (config.TEMPORAL_UI_URL ?? `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`).replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(config.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(runId)}`;
}

export function describeExecution(deps: AppDeps, runId: string): Promise<WorkflowExecutionDescription | undefined> {
  return describeIn(deps.client, runId);
}

export async function describeRun(deps: AppDeps, runId: string): Promise<RunView | undefined> {
  const [[found], execution] = await Promise.all([
    deps.sql<RunRow[]>`select * from runs where run_id = ${runId}`,
    describeExecution(deps, runId),
  ]);
  let row = found;
  if (!row && !execution) return undefined;
  const closed = execution ? closedState(execution.status.name) : undefined;
  if (!row && closed && await recordUnrecordedExecution(deps.sql, deps.client, execution!)) {
    [row] = await deps.sql<RunRow[]>`select * from runs where run_id = ${runId}`;
  }
  if (row && closed && (row.status === 'running' || row.status === 'scheduled')) {
    await reconcile(deps, row, closed, execution!);
  }
  const live = execution && !closed ? await liveStatus(deps, runId) : undefined;
  const status: RunState = closed ?? (row?.status === 'scheduled' ? 'scheduled' : execution ? 'running' : row!.status);
  // The workflow's live progress when it knows some; else the row's, which activities write as they work (a list
  // import while reading, a contact process: their workflows are not told the progress).
  const liveProgress = live && (live.progress.done > 0 || live.progress.total !== null) ? live.progress : undefined;
  const done = liveProgress?.done ?? Number(row?.progress_done ?? 0);
  const total = liveProgress ? liveProgress.total : row?.progress_total != null ? Number(row.progress_total) : null;
  const sizeBytes = live?.sizeBytes || Number(row?.size_bytes ?? 0);
  return {
    runId,
    type: row?.type ?? execution?.typedSearchAttributes.get(JOB_KIND) ?? execution!.type,
    name: row?.name ?? execution!.type,
    objectName: row?.object_name ?? null,
    actingUser: row?.acting_user ?? null,
    status,
    step: live?.step ?? row?.step ?? null,
    progress: { done, total, percent: total ? Math.min(100, Math.round((done / total) * 100)) : status === 'completed' ? 100 : null },
    attempts: Math.max(row?.attempts ?? 1, closed ? 0 : activityAttempt(execution)),
    startedAt: iso(row?.started_at ?? execution?.startTime),
    endedAt: iso(row?.ended_at ?? execution?.closeTime),
    sizeKb: Math.ceil(sizeBytes / 1024),
    error: row?.error ?? (closed && closed !== 'completed' ? `the workflow ended ${closed} in Temporal` : null),
    result: row?.result ?? null,
    temporalUiUrl: temporalUiUrl(deps.config, runId),
  };
}

/** The attempt of the activity a run is working on (retries of it included): 0 when none is pending. */
function activityAttempt(execution: WorkflowExecutionDescription | undefined): number {
  return Math.max(0, ...(execution?.raw.pendingActivities ?? []).map((activity) => activity.attempt ?? 0));
}

async function liveStatus(deps: AppDeps, runId: string): Promise<RunStatus | undefined> {
  try {
    return await deps.client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () =>
      deps.client.workflow.getHandle(runId).query(runStatusQuery));
  } catch {
    return undefined; // no worker right now, or a workflow without the query: the row is the best we have
  }
}

/** Records the closed execution on the row (lib/runs/reconcile.ts); a workflow's own final record wins a race. */
async function reconcile(deps: AppDeps, row: RunRow, state: RunState, execution: WorkflowExecutionDescription) {
  const updated = await recordClosedRun<RunRow>(deps.sql, deps.client, row.run_id, state, execution);
  if (updated) Object.assign(row, updated);
}
