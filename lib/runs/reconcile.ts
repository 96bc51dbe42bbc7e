// Reconciling the runs table with Temporal. A workflow records its own end (activities/runs.ts), but a run
// terminated from Temporal UI, timed out, killed with its worker, or failed before its first bookkeeping
// step never gets to: Temporal is the truth about whether an execution is closed, and these helpers copy
// that truth into the run record (written by lib/runs/record.ts). Used on read by the API (GET /runs/{id},
// GET /tasks) and every RECONCILE_INTERVAL_SECONDS by the cluster-wide chore `reconcile-runs` (contracts/chores.ts), so the task log is complete either way.
import {
  WorkflowNotFoundError, type Client, type WorkflowExecutionDescription, type WorkflowExecutionInfo,
} from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Logger } from 'pino';
import type { Sql } from '../../db/sql.js';
import type { RunState } from '../../contracts/runs.js';
import { CAMPAIGN_ID, isJobKind, JOB_DEFINITION_ID, JOB_KIND, JOB_KINDS, TRIGGERED_BY } from '../../contracts/search-attributes.js';
import { recordRunClosedElsewhere, recordUnrecordedClosedRun, type UnrecordedRun } from './record.js';
import { visibilityString } from '../temporal/visibility.js';


/** What both a listed and a described execution tell. */
export type ExecutionSummary = Omit<WorkflowExecutionInfo, 'raw'>;

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
export async function closeReason(client: Client, execution: Pick<ExecutionSummary, 'workflowId' | 'runId'>): Promise<string | undefined> {
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
  return recordRunClosedElsewhere<T>(sql, runId, state, error, execution.closeTime ?? new Date());
}

/** The run an execution of ours is, read from its search attributes (ids only) and the names they point
 *  at; undefined for an execution that is no run of ours. */
export async function unrecordedRunOf(sql: Sql, execution: ExecutionSummary): Promise<UnrecordedRun | undefined> {
  const attributes = execution.typedSearchAttributes;
  const kind = attributes.get(JOB_KIND);
  if (!isJobKind(kind)) return undefined;
  const [known] = await sql<{ definition_id: string | null; task: string | null; campaign_id: string | null; object: string | null }[]>`
    select d.id as definition_id, d.name as task, c.id as campaign_id, c.name as object
    from (select 1) one
    left join job_definitions d on d.id::text = ${attributes.get(JOB_DEFINITION_ID) ?? ''}
    left join campaigns c on c.id::text = ${attributes.get(CAMPAIGN_ID) ?? ''}`;
  return {
    runId: execution.workflowId, executionId: execution.runId, type: kind, name: known?.task ?? execution.type,
    objectName: known?.object ?? null, definitionId: known?.definition_id ?? null, campaignId: known?.campaign_id ?? null,
    actingUser: attributes.get(TRIGGERED_BY) ?? null, startedAt: execution.startTime ?? null,
  };
}

/** The deepest message of a failure chain: the activity's own error rather than "Activity task failed". */
function innermostMessage(err: unknown): string | undefined {
  let message: string | undefined;
  for (let at: unknown = err; at instanceof Error; at = at.cause) if (at.message) message = at.message;
  return message;
}

/** Why a closed execution did not complete: the workflow's failure (decoded by the client's codec), or the
 *  termination reason / timeout. */
export async function closedRunError(client: Client, execution: ExecutionSummary, state: RunState): Promise<string | null> {
  if (state === 'completed') return null;
  if (state === 'failed') {
    try {
      await client.workflow.getHandle(execution.workflowId, execution.runId, { followRuns: false }).result();
    } catch (err) {
      const message = innermostMessage(err);
      if (message) return `${message} (the run failed before it recorded its start)`;
    }
  }
  return reconciledError(state, await closeReason(client, execution));
}

/** Records a closed execution of ours that wrote no row at all; true when it was recorded now. */
export async function recordUnrecordedExecution(sql: Sql, client: Client, execution: ExecutionSummary): Promise<boolean> {
  const state = closedState(execution.status.name);
  if (!state || state === 'running' || state === 'scheduled') return false;
  const run = await unrecordedRunOf(sql, execution);
  if (!run) return false;
  const error = await closedRunError(client, execution, state);
  return recordUnrecordedClosedRun(sql, run, state, error, execution.closeTime ?? new Date());
}

export interface ReconcileOptions {
  /** Rows younger than this are left alone (the workflow may be about to record its end itself). */
  minAgeMs?: number;
  /** Executions of ours closed this recently without writing a row are recorded (visibility is listed). */
  unrecordedWithinMs?: number;
  /** A row whose workflow does not exist in Temporal at all (history deleted after retention) is closed
   *  as failed once it is this old. */
  missingAfterMs?: number;
  limit?: number;
  /** Our task queue: the executions listed as unrecorded are this installation's only (another one sharing the
   *  namespace runs the same job kinds on its own queue, and records its own runs). */
  taskQueue: string;
}

export interface ReconcileReport { checked: number; reconciled: { runId: string; status: RunState }[]; unrecorded: string[] }

/** One pass: every open row is compared with its execution in Temporal, and closed ones are recorded. */
export async function reconcileOpenRuns(
  deps: { sql: Sql; client: Client; log?: Logger }, options: ReconcileOptions,
): Promise<ReconcileReport> {
  const { minAgeMs = 10_000, missingAfterMs = 3_600_000, limit = 500, unrecordedWithinMs = 24 * 3_600_000 } = options;
  const rows = await deps.sql<OpenRunRow[]>`
    select run_id, type, status, started_at, progress_done, size_bytes from runs
    where status in ('running', 'scheduled') and started_at < now() - ${minAgeMs / 1000} * interval '1 second'
    order by started_at limit ${limit}`;
  const report: ReconcileReport = { checked: rows.length, reconciled: [], unrecorded: [] };
  for (const row of rows) {
    const execution = await describeExecution(deps.client, row.run_id);
    const state = execution ? closedState(execution.status.name) : undefined;
    if (execution && state) {
      if (await recordClosedRun(deps.sql, deps.client, row.run_id, state, execution)) report.reconciled.push({ runId: row.run_id, status: state });
    } else if (!execution && Date.now() - row.started_at.getTime() > missingAfterMs) {
      if (await recordMissingRun(deps.sql, row.run_id)) report.reconciled.push({ runId: row.run_id, status: 'failed' });
    }
  }
  report.unrecorded = await recordUnrecordedExecutions(deps, unrecordedWithinMs, limit, options.taskQueue);
  for (const { runId, status } of report.reconciled) deps.log?.info({ runId, status }, 'run reconciled from Temporal');
  for (const runId of report.unrecorded) deps.log?.info({ runId }, 'run that ended before recording its start recorded from Temporal');
  return report;
}

/** Closed executions of ours (by CcJobKind) that never wrote a row: listed from visibility (eventually
 *  consistent, so a later pass catches what this one missed) and recorded with their real error. */
async function recordUnrecordedExecutions(
  deps: { sql: Sql; client: Client }, withinMs: number, limit: number, taskQueue: string,
): Promise<string[]> {
  const since = new Date(Date.now() - withinMs).toISOString();
  const kinds = Object.values(JOB_KINDS).map((kind) => `'${kind}'`).join(', ');
  const recorded: string[] = [];
  let seen = 0;
  const query = `ExecutionStatus != 'Running' AND CloseTime > '${since}' AND CcJobKind IN (${kinds}) AND TaskQueue = ${visibilityString(taskQueue)}`;
  for await (const execution of deps.client.workflow.list({ query, pageSize: 100 })) {
    if (++seen > limit) break;
    const [row] = await deps.sql`select 1 from runs where run_id = ${execution.workflowId}`;
    if (row) continue;
    if (await recordUnrecordedExecution(deps.sql, deps.client, execution)) recorded.push(execution.workflowId);
  }
  return recorded;
}

function recordMissingRun(sql: Sql, runId: string) {
  return recordRunClosedElsewhere(sql, runId, 'failed',
    'The workflow no longer exists in Temporal (its history is gone); the run did not record its end.', new Date());
}
