// Tasks (seed 000 "Scheduled and In-Progress Tasks") with live progress, and a run's own page.
import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import type { AppDeps } from '../../app.js';
import { handle, type ConsoleContext } from '../index.js';
import { actionButton, can, fragment, html, idFor, notice, page, progressBar, runHref, send, when } from '../html.js';
import type { Session } from '../sessions.js';

const LIVE_EVERY = 'every 2s';

interface Task {
  state: 'scheduled' | 'in progress'; nextRunAt?: string | null; startedAt?: string | null; objectName: string | null; taskName: string;
  attempts: number; progress: { done: number; total: number | null; percent: number | null } | null; type: string; step: string | null;
  runId?: string; definitionId?: string | null; runNow?: string; temporalUiUrl?: string;
}

function taskRow(session: Session, task: Task) {
  const actions = [];
  if (task.runId) actions.push(html`<a href=${runHref(task.runId)}>Open run</a> `);
  if (can(session, 'operator') && task.state === 'scheduled' && task.runNow && task.definitionId) {
    actions.push(actionButton(session, `/console/tasks/${task.definitionId}/run`, 'Run now', { id: idFor('run', task.definitionId), hidden: { _idem: randomUUID() } }));
  }
  if (can(session, 'operator') && task.state === 'in progress' && task.runId) {
    actions.push(actionButton(session, `/console/runs/${encodeURIComponent(task.runId)}/cancel`, 'Cancel', { id: idFor('cancel', task.runId) }));
  }
  return html`<tr>
    <td>${when(task.state === 'in progress' ? task.startedAt : task.nextRunAt)}</td><td>${task.objectName}</td><td>${task.taskName}</td>
    <td>${task.attempts}</td><td>${task.state}</td><td>${progressBar(task.progress, `Progress of ${task.taskName}`)}</td>
    <td>${task.type}</td><td>${task.step}</td><td>${actions}</td>
  </tr>`;
}

async function tasksTable(ctx: ConsoleContext) {
  const { items } = await ctx.api.get<{ items: Task[] }>('/tasks');
  return html`<section id="tasks-live" hx-get="/console/tasks/live" hx-trigger=${LIVE_EVERY} hx-swap="outerHTML" aria-live="polite">
    <table>
      <thead><tr><th>Next run / started</th><th>Object</th><th>Task</th><th>Attempts</th><th>State</th><th>Progress</th><th>Type</th><th>Step</th><th>Actions</th></tr></thead>
      <tbody>${items.length ? items.map((t) => taskRow(ctx.session, t)) : html`<tr><td colspan="9">No scheduled or running tasks.</td></tr>`}</tbody>
    </table>
  </section>`;
}

export interface RunView {
  runId: string; type: string; name: string; objectName: string | null; actingUser: string | null; status: string; step: string | null;
  progress: { done: number; total: number | null; percent: number | null }; attempts: number; startedAt: string | null; endedAt: string | null;
  sizeKb: number; error: string | null; result: unknown; temporalUiUrl: string;
}

/** A finished results download's file (its run id is results-download/<campaign id>/<time>), through the console. */
function resultsFile(run: RunView): string | undefined {
  const fileId = (run.result as { fileId?: unknown } | null)?.fileId;
  const campaignId = /^results-download\/(\d+)\//.exec(run.runId)?.[1];
  return run.type === 'results-download' && typeof fileId === 'string' && campaignId
    ? `/console/campaigns/${campaignId}/results/downloads/${encodeURIComponent(fileId)}` : undefined;
}

const FINISHED = new Set(['completed', 'failed', 'cancelled', 'terminated']);

async function runDetails(ctx: ConsoleContext, runId: string) {
  const run = await ctx.api.get<RunView>(`/runs/${encodeURIComponent(runId)}`);
  const live = !FINISHED.has(run.status);
  return html`<section id="run-live" hx-get=${live ? `${runHref(runId)}/live` : undefined} hx-trigger=${live ? LIVE_EVERY : undefined} hx-swap="outerHTML" aria-live="polite">
    <dl>
      <dt>Run</dt><dd><code>${run.runId}</code></dd>
      <dt>Task</dt><dd>${run.name} (${run.type})</dd>
      <dt>Object</dt><dd>${run.objectName}</dd>
      <dt>Status</dt><dd><strong data-status=${run.status}>${run.status}</strong></dd>
      <dt>Step</dt><dd>${run.step}</dd>
      <dt>Progress</dt><dd>${progressBar(run.progress, 'Run progress')}</dd>
      <dt>Attempts</dt><dd>${run.attempts}</dd>
      <dt>Started</dt><dd>${when(run.startedAt)}</dd><dt>Ended</dt><dd>${when(run.endedAt)}</dd>
      <dt>Size</dt><dd>${run.sizeKb} KB</dd>
      <dt>Started by</dt><dd>${run.actingUser}</dd>
      <dt>Error</dt><dd>${run.error}</dd>
      <dt>Result</dt><dd>${run.result === null || run.result === undefined ? '' : html`<pre>${JSON.stringify(run.result, null, 2)}</pre>`}</dd>
    </dl>
    <p><a href=${run.temporalUiUrl} rel="noopener">Open in Temporal UI</a>
      ${resultsFile(run) ? html` · <a href=${resultsFile(run)}>Download the results file</a>` : null}
      ${run.type === 'erasure' && can(ctx.session, 'admin') ? html` · <a href=${`/console/audit-log?runId=${encodeURIComponent(run.runId)}`}>Audit entries</a>` : null}</p>
    ${live && can(ctx.session, 'operator') ? actionButton(ctx.session, `${runHref(runId)}/cancel`, 'Cancel', { id: 'cancel-run' }) : null}
  </section>`;
}

export function register(router: Router, deps: AppDeps): void {
  router.get('/tasks', handle(deps, async (ctx) => {
    send(ctx.res, 200, page('Scheduled and in-progress tasks', ctx.session, html`${notice(ctx.req.query.notice as string)}${await tasksTable(ctx)}`, '/console/tasks'));
  }));
  router.get('/tasks/live', handle(deps, async (ctx) => send(ctx.res, 200, fragment(await tasksTable(ctx)))));
  router.post('/tasks/:definitionId/run', handle(deps, async (ctx) => {
    const reply = await ctx.api.send<{ runId: string | null }>('POST', `/tasks/${encodeURIComponent(ctx.req.params.definitionId as string)}/run`, undefined, idempotency(ctx));
    ctx.res.redirect(303, reply.runId ? runHref(reply.runId) : '/console/tasks?notice=The+run+was+requested');
  }));
  router.get('/runs/:runId', handle(deps, async (ctx) => {
    send(ctx.res, 200, page('Run', ctx.session, await runDetails(ctx, ctx.req.params.runId as string)));
  }));
  router.get('/runs/:runId/live', handle(deps, async (ctx) => send(ctx.res, 200, fragment(await runDetails(ctx, ctx.req.params.runId as string)))));
  router.post('/runs/:runId/cancel', handle(deps, async (ctx) => {
    const runId = ctx.req.params.runId as string;
    await ctx.api.send('POST', `/runs/${encodeURIComponent(runId)}/cancel`);
    ctx.res.redirect(303, runHref(runId));
  }));
}

/** A start form carries an Idempotency-Key made when the form was rendered: a resubmitted form starts nothing twice. */
export function idempotency(ctx: ConsoleContext): Record<string, string> {
  const key = ctx.req.body?._idem;
  return typeof key === 'string' && /^[A-Za-z0-9-]{8,64}$/.test(key) ? { 'idempotency-key': key } : {};
}
