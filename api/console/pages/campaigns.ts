// Campaigns (seed 001's contact list processes started by hand, and the campaign's state): start, stop and
// complete the campaign; export its contacts; delete or change the status of the contacts a filter matches, each
// with a dry run first; download its results (the file is linked from the run's page). Every form sends the API's
// own route; the filter is the API's contact filter as JSON and the API validates it (its problem is shown above
// the forms, nothing started).
import type { Router } from 'express';
import type { AppDeps } from '../../app.js';
import { ApiError } from '../api-client.js';
import { streamDownload } from '../downloads.js';
import { handle, problemView, type ConsoleContext } from '../index.js';
import { actionButton, can, csrfField, html, notice, page, runHref, selectField, send } from '../html.js';
import { idempotency } from './tasks.js';
import { RESULT_FORMATS } from '../../../contracts/results.js';

interface Campaign { id: string; name: string; timezone: string; state: 'running' | 'stopped' | 'completed'; lock: { type: string } | null }

const STATE_ACTIONS: [state: Campaign['state'], label: string][] = [['running', 'Start'], ['stopped', 'Stop'], ['completed', 'Complete']];
const enc = encodeURIComponent;

const filterField = (label: string, name: string, value: string | undefined) => html`<p><label>${label}
  <textarea name=${name} rows="2" cols="60" aria-describedby="filter-help">${value ?? ''}</textarea></label></p>`;

async function campaignPage(ctx: ConsoleContext, id: string, problem?: ApiError, status = 200): Promise<void> {
  const campaign = await ctx.api.get<Campaign>(`/campaigns/${enc(id)}`);
  const operator = can(ctx.session, 'operator');
  const form = (problem ? ctx.req.body : {}) as Record<string, string | undefined>;
  const action = (what: string) => `/console/campaigns/${enc(campaign.id)}/${what}`;
  const dryRunAndGo = (label: string) => html`<button type="submit" name="dryRun" value="true">Dry run</button> <button type="submit">${label}</button>`;
  send(ctx.res, problem?.problem.status ?? status, page(`Campaign: ${campaign.name}`, ctx.session, html`
    ${notice(ctx.req.query.notice as string)}
    ${problem ? problemView(problem) : null}
    <p>State: <strong data-state=${campaign.state}>${campaign.state}</strong>; time zone ${campaign.timezone}${campaign.lock ? `; locked by a ${campaign.lock.type}` : ''}.
      <a href=${`/console/processes?campaignId=${enc(campaign.id)}`}>Its processes and lists</a></p>
    ${operator ? html`
      <fieldset><legend>Campaign state</legend>
        ${STATE_ACTIONS.filter(([state]) => state !== campaign.state).map(([state, label]) => actionButton(ctx.session, action('state'), label, { hidden: { state } }))}
      </fieldset>
      <p><small id="filter-help">Filter: the API's contact filter as JSON, e.g. <code>{"statuses": ["Closed"]}</code>; empty matches every contact.</small></p>
      <form method="post" action=${action('exports')}><fieldset><legend>Export contacts</legend>
        ${csrfField(ctx.session)}<input type="hidden" name="_idem" value=${crypto.randomUUID()} />
        <p><label>Fields <input name="fields" value=${form.fields ?? ''} placeholder="client_id, name, phone" aria-describedby="fields-help" /></label>
          <small id="fields-help">separated by commas; empty: the default columns</small></p>
        ${filterField('Export filter', 'filter', form.filter)}
        <button type="submit">Export contacts</button>
      </fieldset></form>
      <form method="post" action=${action('deletions')}><fieldset><legend>Delete contacts</legend>
        ${csrfField(ctx.session)}<input type="hidden" name="_idem" value=${crypto.randomUUID()} />
        ${filterField('Deletion filter', 'filter', form.filter)}
        ${dryRunAndGo('Delete contacts')}
      </fieldset></form>
      <form method="post" action=${action('status-changes')}><fieldset><legend>Change status</legend>
        ${csrfField(ctx.session)}<input type="hidden" name="_idem" value=${crypto.randomUUID()} />
        ${filterField('Status change filter', 'filter', form.filter)}
        <p>${selectField('New status', 'status', [['', 'unchanged'], ['Remaining', 'Remaining'], ['Inactive', 'Inactive']], form.status)}
          <label>Priority <input name="priority" type="number" value=${form.priority ?? ''} /></label>
          <label><input type="checkbox" name="clearRetryCount" /> Clear retry count</label>
          <label><input type="checkbox" name="activatePhones" /> Activate phones</label></p>
        ${dryRunAndGo('Change status')}
      </fieldset></form>
      <form method="post" action=${action('results-downloads')}><fieldset><legend>Download results</legend>
        ${csrfField(ctx.session)}<input type="hidden" name="_idem" value=${crypto.randomUUID()} />
        <p>${selectField('Format', 'format', RESULT_FORMATS.map((f) => [f, f]), form.format)}</p>
        <button type="submit">Download results</button>
      </fieldset></form>` : null}`, '/console/campaigns'));
}

/** The form's filter as the API takes it; text that is not JSON is the console's one own check (a 400 naming it). */
function filterOf(ctx: ConsoleContext): unknown {
  const text = String(ctx.req.body?.filter ?? '').trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError({ status: 400, title: 'Bad Request', detail: 'The filter is not JSON.', errors: [{ path: 'filter', message: (err as Error).message }] });
  }
}

/** Runs an action; the API's 400/409/422 re-renders the campaign page with the problem and the values as sent. */
function campaignAction(deps: AppDeps, act: (ctx: ConsoleContext, id: string) => Promise<void>) {
  return handle(deps, async (ctx) => {
    const id = ctx.req.params.id as string;
    try {
      await act(ctx, id);
    } catch (err) {
      if (!(err instanceof ApiError) || ![400, 409, 422].includes(err.problem.status)) throw err;
      await campaignPage(ctx, id, err);
    }
  });
}

export function register(router: Router, deps: AppDeps): void {
  router.get('/campaigns', handle(deps, async (ctx) => {
    const { items } = await ctx.api.get<{ items: Campaign[] }>('/campaigns', { limit: '500' });
    send(ctx.res, 200, page('Campaigns', ctx.session, html`<table>
      <thead><tr><th>Campaign</th><th>State</th><th>Time zone</th></tr></thead>
      <tbody>${items.length ? items.map((c) => html`<tr><td><a href=${`/console/campaigns/${enc(c.id)}`}>${c.name}</a></td><td>${c.state}</td><td>${c.timezone}</td></tr>`)
        : html`<tr><td colspan="3">No campaigns.</td></tr>`}</tbody></table>`, '/console/campaigns'));
  }));
  router.get('/campaigns/:id', handle(deps, (ctx) => campaignPage(ctx, ctx.req.params.id as string)));

  router.post('/campaigns/:id/state', campaignAction(deps, async (ctx, id) => {
    const reply = await ctx.api.send<{ state: string }>('POST', `/campaigns/${enc(id)}/state`, { state: ctx.req.body?.state });
    ctx.res.redirect(303, `/console/campaigns/${enc(id)}?notice=${enc(`The campaign is ${reply.state}.`)}`);
  }));
  router.post('/campaigns/:id/exports', campaignAction(deps, async (ctx, id) => {
    const fields = String(ctx.req.body?.fields ?? '').split(',').map((f) => f.trim()).filter(Boolean);
    const reply = await ctx.api.send<{ runId: string }>('POST', `/campaigns/${enc(id)}/exports`,
      { filter: filterOf(ctx), ...(fields.length ? { fields } : {}) }, idempotency(ctx));
    ctx.res.redirect(303, runHref(reply.runId));
  }));
  const dryRunnable = (what: 'deletions' | 'status-changes', body: (ctx: ConsoleContext) => Record<string, unknown>) =>
    campaignAction(deps, async (ctx, id) => {
      const dryRun = ctx.req.body?.dryRun === 'true';
      const reply = await ctx.api.send<{ runId?: string; matched?: number }>('POST', `/campaigns/${enc(id)}/${what}`,
        { filter: filterOf(ctx), ...body(ctx), dryRun }, dryRun ? {} : idempotency(ctx));
      if (reply.runId) return ctx.res.redirect(303, runHref(reply.runId));
      ctx.res.redirect(303, `/console/campaigns/${enc(id)}?notice=${enc(`Dry run: ${reply.matched} contact${reply.matched === 1 ? '' : 's'} match; nothing was changed.`)}`);
    });
  router.post('/campaigns/:id/deletions', dryRunnable('deletions', () => ({})));
  router.post('/campaigns/:id/status-changes', dryRunnable('status-changes', (ctx) => {
    const b = ctx.req.body ?? {};
    const set = { ...(b.status ? { status: b.status } : {}), ...(b.priority !== undefined && b.priority !== '' ? { priority: Number(b.priority) } : {}) };
    return { set, clearRetryCount: b.clearRetryCount === 'on', activatePhones: b.activatePhones === 'on' };
  }));
  router.post('/campaigns/:id/results-downloads', campaignAction(deps, async (ctx, id) => {
    const reply = await ctx.api.send<{ runId: string }>('POST', `/campaigns/${enc(id)}/results/downloads`, { format: ctx.req.body?.format }, idempotency(ctx));
    ctx.res.redirect(303, runHref(reply.runId));
  }));
  router.get('/campaigns/:id/results/downloads/:fileId', handle(deps, (ctx) =>
    streamDownload(ctx, `/campaigns/${enc(ctx.req.params.id as string)}/results/downloads/${enc(ctx.req.params.fileId as string)}`)));
}
