// Any run of any job, by its Temporal workflow id: status, step, progress, and cancellation.
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { conflict, notFound } from '../problem.js';
import { closedState, describeExecution, describeRun } from '../run-view.js';
import { runAccepted } from '../schemas.js';

const runParams = z.object({ runId: z.string().min(1).max(400).describe('the Temporal workflow id') });

const run = z.object({
  runId: z.string(), type: z.string(), name: z.string(), objectName: z.string().nullable(), actingUser: z.string().nullable(),
  status: z.enum(['scheduled', 'running', 'completed', 'failed', 'cancelled', 'terminated']),
  step: z.string().nullable(),
  progress: z.object({ done: z.number(), total: z.number().nullable(), percent: z.number().nullable() }),
  attempts: z.number().int(), startedAt: z.string().nullable(), endedAt: z.string().nullable(), sizeKb: z.number(),
  error: z.string().nullable(), result: z.unknown(), temporalUiUrl: z.string(),
});

export function register(r: RouteRegistry, deps: AppDeps) {
  defineRoute(r, {
    method: 'get', path: '/runs/{runId}', role: 'viewer', params: runParams, response: run,
    summary: 'A run: status, step, progress, size, error, result, and its Temporal UI link',
    example: {
      response: {
        runId: 'list-import-3-20250301T101500Z', type: 'list-import', name: 'Import spring list', objectName: 'Spring renewals', actingUser: 'key:ops',
        status: 'running', step: 'importing', progress: { done: 5000, total: 20000, percent: 25 }, attempts: 1,
        startedAt: '2025-03-01T10:15:00.000Z', endedAt: null, sizeKb: 812, error: null, result: null,
        temporalUiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/list-import-3-20250301T101500Z',
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
    example: { response: { runId: 'list-import/3/2025-03-01T10:15:00.000Z' } },
  }, async ({ params }) => {
    const execution = await describeExecution(deps, params.runId);
    if (!execution) throw notFound(`Run ${params.runId} does not exist in Temporal.`);
    const closed = closedState(execution.status.name);
    if (closed) throw conflict(`Run ${params.runId} has already ended (${closed}); there is nothing to cancel.`);
    await deps.client.workflow.getHandle(params.runId).cancel();
    return { runId: params.runId };
  });
}
