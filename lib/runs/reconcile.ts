// Reconciling the runs table with Temporal. A workflow records its own end (activities/runs.ts), but a run
// terminated from Temporal UI, timed out, or killed with its worker never gets to: Temporal is the truth
// about whether an execution is closed, and these helpers copy that truth into the row. Used on read by the
// API (GET /runs/{id}, GET /tasks) and periodically by the worker, so the task log is complete either way.
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Logger } from 'pino';
import type { Sql } from '../../db/sql.js';
import type { RunState } from '../../workflows/shared/runs.js';
import { recordRunEnded } from '../metrics.js';
import { startPeriodic, type Periodic } from '../periodic.js';

const { HistoryEventFilterType } = proto.temporal.api.enums.v1;

/** Temporal's execution status as a run state; undefined while the execution is open. */
export function closedState(status: WorkflowExecutionDescription['status']['name']): RunState | undefined {
  switch (status) {
    case 'COMPLETED': return 'completed';
    case 'FAILED': case 'TIMED_OUT': return 'failed';
    case 'CANCELLED': return 'cancelled';
    case 'TERMINATED': return 'terminated';
    default: return undefined; // RUNNING, CONTINUED_AS_NEW (followed to the next run), PAUSED
  }
}

export async function describeExecution(client: Client, runId: string): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(runId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

export interface OpenRunRow { run_id: string; type: string; status: RunState; started_at: Date; progress_done: string; size_bytes: string }

/** Why the execution closed, from its close event only (not the whole history): the termination reason
 *  an engineer typed in Temporal UI, or the timeout. Failure messages are left alone: they may be encoded. */
export async function closeReason(client: Client, execution: WorkflowExecutionDescription): Promise<string | undefined> {
  try {
    const history = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId: execution.workflowId, runId: execution.runId },
      historyEventFilterType: HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
    });
    const event = history.history?.events?.[0];
    const reason = event?.workflowExecutionTerminatedEventAttributes?.reason;
    if (reason) return reason;
    if (event?.workflowExecutionTimedOutEventAttributes) return 'timed out';
  } catch {
    // the reason is a courtesy; the state is what matters
  }
  return undefined;
}

export function reconciledError(state: RunState, reason: string | undefined): string | null {
  if (state === 'completed') return null;
  const how = state === 'terminated' ? 'was terminated in Temporal (e.g. from Temporal UI)' : `ended ${state} in Temporal`;
  return `The workflow ${how} without recording its end${reason ? `: ${reason}` : ''}.`;
}

/** Records a closed execution on its row. Only rows still open are changed, so a workflow's own final
 *  record always wins a race; returns the updated row, or undefined when there was nothing to do. */
export async function recordClosedRun<T extends object>(
  sql: Sql, client: Client, runId: string, state: RunState, execution: WorkflowExecutionDescription,
): Promise<T | undefined> {
  const error = reconciledError(state, await closeReason(client, execution));
  const [updated] = await sql<(T & { type: string; started_at: Date; ended_at: Date })[]>`
    update runs set status = ${state}, ended_at = coalesce(ended_at, ${execution.closeTime ?? new Date()}),
      error = coalesce(error, ${error})
    where run_id = ${runId} and status in ('running', 'scheduled')
    returning *`;
  if (updated) recordRunEnded(updated.type, state, (updated.ended_at.getTime() - updated.started_at.getTime()) / 1000);
  return updated;
}

export interface ReconcileOptions {
  /** Rows younger than this are left alone (the workflow may be about to record its end itself). */
  minAgeMs?: number;
  /** A row whose workflow does not exist in Temporal at all (history deleted after retention) is closed
   *  as failed once it is this old. */
  missingAfterMs?: number;
  limit?: number;
}

export interface ReconcileReport { checked: number; reconciled: { runId: string; status: RunState }[] }

/** One pass: every open row is compared with its execution in Temporal, and closed ones are recorded. */
export async function reconcileOpenRuns(
  deps: { sql: Sql; client: Client; log?: Logger }, options: ReconcileOptions = {},
): Promise<ReconcileReport> {
  const { minAgeMs = 10_000, missingAfterMs = 3_600_000, limit = 500 } = options;
  const rows = await deps.sql<OpenRunRow[]>`
    select run_id, type, status, started_at, progress_done, size_bytes from runs
    where status in ('running', 'scheduled') and started_at < now() - ${minAgeMs / 1000} * interval '1 second'
    order by started_at limit ${limit}`;
  const report: ReconcileReport = { checked: rows.length, reconciled: [] };
  for (const row of rows) {
    const execution = await describeExecution(deps.client, row.run_id);
    const state = execution ? closedState(execution.status.name) : undefined;
    if (execution && state) {
      if (await recordClosedRun(deps.sql, deps.client, row.run_id, state, execution)) report.reconciled.push({ runId: row.run_id, status: state });
    } else if (!execution && Date.now() - row.started_at.getTime() > missingAfterMs) {
      if (await recordMissingRun(deps.sql, row.run_id)) report.reconciled.push({ runId: row.run_id, status: 'failed' });
    }
  }
  for (const { runId, status } of report.reconciled) deps.log?.info({ runId, status }, 'run reconciled from Temporal');
  return report;
}

async function recordMissingRun(sql: Sql, runId: string) {
  const [updated] = await sql<{ type: string; started_at: Date; ended_at: Date }[]>`
    update runs set status = 'failed', ended_at = now(),
      error = coalesce(error, 'The workflow no longer exists in Temporal (its history is gone); the run did not record its end.')
    where run_id = ${runId} and status in ('running', 'scheduled')
    returning type, started_at, ended_at`;
  if (updated) recordRunEnded(updated.type, 'failed', (updated.ended_at.getTime() - updated.started_at.getTime()) / 1000);
  return updated;
}

/** Runs `reconcileOpenRuns` every `intervalMs` until stopped; a failed pass is logged and retried next time. */
export function startRunReconciler(
  deps: { sql: Sql; client: Client; log?: Logger }, options: ReconcileOptions & { intervalMs: number },
): Periodic {
  return startPeriodic('run reconciliation', () => reconcileOpenRuns(deps, options).then(() => {}), options.intervalMs, deps.log);
}
