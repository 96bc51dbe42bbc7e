// Any run of any job, by its Temporal workflow id: status, step, progress, and cancellation. Cancellation
// reaches only runs of ours: the namespace may hold other applications' workflows, and the campaign-lock
// workflow is plumbing, not a run (cancelling it would strand the queue of runs waiting for the lock).
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { conflict, notFound } from '../problem.js';
import { closedState, describeExecution, describeRun } from '../run-view.js';
import { runAccepted } from '../schemas.js';
import { isJobKind, JOB_KIND } from '../../contracts/search-attributes.js';
import { CAMPAIGN_LOCK_KIND, CAMPAIGN_LOCK_WORKFLOW_TYPE, isCampaignLockWorkflowId } from '../../contracts/campaign-lock.js';


/** Why this execution is not a run the API may cancel, or undefined when it is one. */
function notCancellable(execution: WorkflowExecutionDescription, hasRunRecord: boolean): 'lock' | 'foreign' | undefined {
  if (isCampaignLockWorkflowId(execution.workflowId) || execution.type === CAMPAIGN_LOCK_WORKFLOW_TYPE) return 'lock';
  const kind = execution.typedSearchAttributes.get(JOB_KIND);
  if (kind === CAMPAIGN_LOCK_KIND) return 'lock';
  return hasRunRecord || isJobKind(kind) ? undefined : 'foreign';
}

const runParams = z.object({ runId: z.string().min(1).max(400).describe('the Temporal workflow id') });

const run = z.object({
  runId: z.string(), type: z.string(), name: z.string(), objectName: z.string().nullable(), actingUser: z.string().nullable(),
  status: z.enum(['scheduled', 'running', 'completed', 'failed', 'cancelled', 'terminated']),
  step: z.string().nullable(),
  progress: z.object({ done: z.number(), total: z.number().nullable(), percent: z.number().nullable() }),
  attempts: z.number().int(), startedAt: z.string().nullable(), endedAt: z.string().nullable(), sizeKb: z.number(),
  error: z.string().nullable(), result: z.unknown(), temporalUiUrl: z.string(),
}).meta({ id: 'Run' });

export function register(r: RouteRegistry, deps: AppDeps) {
  defineRoute(r, {
    method: 'get', path: '/runs/{runId}', role: 'viewer', params: runParams, response: run,
    summary: 'A run: status, step, progress, size, error, result, and its Temporal UI link',
    example: {
      response: {
        runId: 'list-import/3/2025-03-01T10:15:00.000Z', type: 'list-import', name: 'Import spring list', objectName: 'Spring renewals', actingUser: 'key:ops',
        status: 'running', step: 'applying', progress: { done: 5000, total: 20000, percent: 25 }, attempts: 1,
        startedAt: '2025-03-01T10:15:00.000Z', endedAt: null, sizeKb: 812, error: null, result: null,
        temporalUiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/list-import%2F3%2F2025-03-01T10%3A15%3A00.000Z',
      },
    },
  }, async ({ params }) => {
    const view = await describeRun(deps, params.runId);
    if (!view) throw notFound(`Run ${params.runId} does not exist (no workflow with that id and no run record).`);
    return view;
  });

  defineRoute(r, {
    method: 'post', path: '/runs/{runId}/cancel', role: 'operator', status: 202, params: runParams, response: runAccepted, errors: [409],
    summary: 'Ask a running run to cancel; it ends cancelled with its data consistent',
    description: 'Only runs of this application (a run record, or a job kind in `CcJobKind`): any other workflow of the '
      + 'namespace is 404. A campaign-lock workflow is not a run and is 409: cancel the run holding or awaiting the lock.',
    example: { response: { runId: 'list-import/3/2025-03-01T10:15:00.000Z' } },
  }, async ({ params }) => {
    const [execution, [record]] = await Promise.all([
      describeExecution(deps, params.runId),
      deps.sql`select 1 from runs where run_id = ${params.runId}`,
    ]);
    if (!execution) throw notFound(`Run ${params.runId} does not exist in Temporal.`);
    const refusal = notCancellable(execution, record !== undefined);
    if (refusal === 'foreign') throw notFound(`${params.runId} is not a run of cc-jobs (no run record and no known CcJobKind); it is not cancelled here.`);
    if (refusal === 'lock') {
      throw conflict(`${params.runId} is a campaign's lock workflow, not a run; cancelling it would strand the runs queued for the lock. Cancel the run that holds or awaits the lock instead (GET /campaigns/{id} shows lock.heldBy).`, undefined, 'campaign-lock-not-cancellable');
    }
    const closed = closedState(execution.status.name);
    if (closed) throw conflict(`Run ${params.runId} has already ended (${closed}); there is nothing to cancel.`);
    await deps.client.workflow.getHandle(params.runId).cancel();
    return { runId: params.runId };
  });
}
