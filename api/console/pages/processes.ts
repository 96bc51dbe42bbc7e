// Contact List Processes (seed 001): imports and the campaign's other list processes, with status, counts,
// the file and the log to download, and Cancel while pending or running; refreshed live.
import type { Router } from 'express';
import type { AppDeps } from '../../app.js';
import { campaignOptions, campaignSelect } from '../campaigns.js';
import { streamDownload } from '../downloads.js';
import { handle, type ConsoleContext } from '../index.js';
import { actionButton, can, fragment, html, idFor, notice, page, runHref, selectField, send, when } from '../html.js';

interface Process {
  runId: string; scheduledAt: string | null; type: string; campaignId: string; campaign: string; user: string | null; status: string;
  step: string | null; progress: number | null; startedAt: string | null; endedAt: string | null; file: string | null; fileUrl: string | null;
  details: Record<string, number>; error: string | null;
}

interface ContactList { id: string; name: string; contacts: number; byStatus: Record<string, number> }

const TYPES = ['', 'import', 'export', 'delete'];
const STATUSES = ['', 'pending', 'running', 'finished', 'cancelled', 'failed'];
const COUNTS = ['imported', 'updated', 'deleted', 'rejected'];

function filtersOf(ctx: ConsoleContext) {
  const pick = (name: string) => (typeof ctx.req.query[name] === 'string' ? (ctx.req.query[name] as string) : '');
  return { campaignId: pick('campaignId'), type: pick('type'), status: pick('status') };
}

/** The chosen campaign's lists (seed 001), counted per status. */
async function listsOf(ctx: ConsoleContext, campaignId: string) {
  if (!campaignId) return null;
  const { items } = await ctx.api.get<{ items: ContactList[] }>(`/campaigns/${encodeURIComponent(campaignId)}/lists`);
  return html`<h2>The campaign's lists</h2>
    <table>
      <thead><tr><th>List</th><th>Contacts</th><th>By status</th></tr></thead>
      <tbody>${items.length ? items.map((l) => html`<tr><td>${l.name}</td><td>${l.contacts}</td>
        <td>${Object.entries(l.byStatus).map(([status, n]) => `${status}: ${n}`).join(', ')}</td></tr>`) : html`<tr><td colspan="3">No lists.</td></tr>`}</tbody>
    </table>`;
}

async function processTable(ctx: ConsoleContext) {
  const filters = filtersOf(ctx);
  const { items } = await ctx.api.get<{ items: Process[] }>('/processes', { ...filters, limit: '100' });
  const live = `/console/processes/live?${new URLSearchParams(filters)}`;
  const enc = encodeURIComponent;
  return html`<section id="processes-live" hx-get=${live} hx-trigger="every 2s" hx-swap="outerHTML" aria-live="polite">
    <table>
      <thead><tr><th>Scheduled</th><th>Type</th><th>Campaign</th><th>User</th><th>Status</th><th>Progress</th><th>Started</th><th>Ended</th>
        <th>File</th>${COUNTS.map((c) => html`<th>${c[0].toUpperCase() + c.slice(1)}</th>`)}<th>Error</th><th>Actions</th></tr></thead>
      <tbody>${items.length ? items.map((p) => html`<tr>
        <td>${when(p.scheduledAt)}</td><td>${p.type}</td><td>${p.campaign}</td><td>${p.user}</td><td data-status=${p.status}>${p.status}</td>
        <td>${p.progress === null ? '' : `${p.progress}%`}</td><td>${when(p.startedAt)}</td><td>${when(p.endedAt)}</td>
        <td>${p.fileUrl ? html`<a href=${`/console/processes/${enc(p.runId)}/file`}>${p.file}</a>` : p.file}</td>
        ${COUNTS.map((c) => html`<td>${p.details[c] ?? 0}</td>`)}<td>${p.error}</td>
        <td><a href=${runHref(p.runId)}>Run</a> · <a href=${`/console/processes/${enc(p.runId)}/log`}>Log</a>
          ${can(ctx.session, 'operator') && (p.status === 'pending' || p.status === 'running')
            ? actionButton(ctx.session, `/console/processes/${enc(p.runId)}/cancel`, 'Cancel', { id: idFor('cancel', p.runId) }) : null}</td>
      </tr>`) : html`<tr><td colspan="15">No processes match.</td></tr>`}</tbody>
    </table>
  </section>`;
}

export function register(router: Router, deps: AppDeps): void {
  router.get('/processes', handle(deps, async (ctx) => {
    const filters = filtersOf(ctx);
    const campaigns = await campaignOptions(ctx.api);
    send(ctx.res, 200, page('Contact list processes', ctx.session, html`
      ${notice(ctx.req.query.notice as string)}
      <form method="get" action="/console/processes"><fieldset><legend>Filter</legend>
        ${campaignSelect(campaigns, filters.campaignId, { any: true })}
        ${selectField('Type', 'type', TYPES.map((t) => [t, t || 'any']), filters.type)}
        ${selectField('Status', 'status', STATUSES.map((s) => [s, s || 'any']), filters.status)}
        <button type="submit">Filter</button>
      </fieldset></form>
      ${await processTable(ctx)}
      ${await listsOf(ctx, filters.campaignId)}`, '/console/processes'));
  }));
  router.get('/processes/live', handle(deps, async (ctx) => send(ctx.res, 200, fragment(await processTable(ctx)))));
  router.get('/processes/:runId/file', handle(deps, (ctx) => streamDownload(ctx, `/processes/${encodeURIComponent(ctx.req.params.runId as string)}/file`)));
  router.get('/processes/:runId/log', handle(deps, (ctx) => streamDownload(ctx, `/processes/${encodeURIComponent(ctx.req.params.runId as string)}/log`)));
  router.post('/processes/:runId/cancel', handle(deps, async (ctx) => {
    await ctx.api.send('POST', `/runs/${encodeURIComponent(ctx.req.params.runId as string)}/cancel`);
    ctx.res.redirect(303, '/console/processes?notice=Cancel+requested');
  }));
}
