// The blacklist (seed 001's exclusions): search, add a phone number or e-mail address, remove an entry, and import
// entries from a file on a destination (an exclusions-import run, shown on its run page). The API normalizes and
// validates; its problem is shown above the forms.
import type { Router } from 'express';
import type { AppDeps } from '../../app.js';
import { ApiError } from '../api-client.js';
import { handle, problemView, type ConsoleContext } from '../index.js';
import { actionButton, can, csrfField, html, notice, page, runHref, selectField, send, when } from '../html.js';
import { idempotency } from './tasks.js';

interface Entry { id: string; kind: string; uri: string; name: string | null; addedBy: string | null; runId: string | null; createdAt: string }

async function blacklistPage(ctx: ConsoleContext, problem?: ApiError): Promise<void> {
  const q = typeof ctx.req.query.q === 'string' ? ctx.req.query.q : '';
  const operator = can(ctx.session, 'operator');
  const [entries, destinations] = await Promise.all([
    ctx.api.get<{ items: Entry[] }>('/blacklist', { q, limit: '200' }),
    operator ? ctx.api.get<{ items: { id: string; name: string }[] }>('/destinations', { limit: '500' }) : { items: [] },
  ]);
  const form = (problem ? ctx.req.body : {}) as Record<string, string | undefined>;
  send(ctx.res, problem?.problem.status ?? 200, page('Blacklist', ctx.session, html`
    ${notice(ctx.req.query.notice as string)}
    ${problem ? problemView(problem) : null}
    <form method="get" action="/console/blacklist"><fieldset><legend>Search</legend>
      <label>Number, address or name <input name="q" value=${q} /></label> <button type="submit">Search</button>
    </fieldset></form>
    <table>
      <thead><tr><th>Entry</th><th>Kind</th><th>Name</th><th>Added by</th><th>Added</th><th>Actions</th></tr></thead>
      <tbody>${entries.items.length ? entries.items.map((e) => html`<tr><td>${e.uri}</td><td>${e.kind}</td><td>${e.name}</td>
        <td>${e.runId ? html`<a href=${runHref(e.runId)}>${e.addedBy ?? 'import'}</a>` : e.addedBy}</td><td>${when(e.createdAt)}</td>
        <td>${operator ? actionButton(ctx.session, `/console/blacklist/${encodeURIComponent(e.id)}/remove`, 'Remove', { hidden: {} }) : null}</td></tr>`)
        : html`<tr><td colspan="6">No entries${q ? ' match' : ''}.</td></tr>`}</tbody>
    </table>
    ${operator ? html`
      <form method="post" action="/console/blacklist"><fieldset><legend>Add to the blacklist</legend>
        ${csrfField(ctx.session)}
        <label>Phone number or e-mail address <input name="uri" required maxlength="320" value=${form.uri ?? ''} /></label>
        <label>Name <input name="name" maxlength="200" value=${form.name ?? ''} /></label>
        <button type="submit">Add</button>
      </fieldset></form>
      <form method="post" action="/console/blacklist/imports"><fieldset><legend>Import blacklist entries</legend>
        ${csrfField(ctx.session)}<input type="hidden" name="_idem" value=${crypto.randomUUID()} />
        ${selectField('Destination', 'destinationId', destinations.items.map((d) => [d.id, d.name]), form.destinationId, { required: true })}
        <label>File path <input name="path" required maxlength="1000" value=${form.path ?? ''} /></label>
        <button type="submit">Import</button>
      </fieldset></form>` : null}`, '/console/blacklist'));
}

function blacklistAction(deps: AppDeps, act: (ctx: ConsoleContext) => Promise<void>) {
  return handle(deps, async (ctx) => {
    try {
      await act(ctx);
    } catch (err) {
      if (!(err instanceof ApiError) || ![400, 409, 422].includes(err.problem.status)) throw err;
      await blacklistPage(ctx, err);
    }
  });
}

export function register(router: Router, deps: AppDeps): void {
  router.get('/blacklist', handle(deps, (ctx) => blacklistPage(ctx)));
  router.post('/blacklist', blacklistAction(deps, async (ctx) => {
    const name = String(ctx.req.body?.name ?? '').trim();
    await ctx.api.send('POST', '/blacklist', { uri: String(ctx.req.body?.uri ?? ''), ...(name ? { name } : {}) });
    ctx.res.redirect(303, '/console/blacklist?notice=Added+to+the+blacklist');
  }));
  router.post('/blacklist/imports', blacklistAction(deps, async (ctx) => {
    const reply = await ctx.api.send<{ runId: string }>('POST', '/blacklist/imports',
      { source: { destinationId: ctx.req.body?.destinationId, path: ctx.req.body?.path } }, idempotency(ctx));
    ctx.res.redirect(303, runHref(reply.runId));
  }));
  router.post('/blacklist/:id/remove', blacklistAction(deps, async (ctx) => {
    await ctx.api.send('DELETE', `/blacklist/${encodeURIComponent(ctx.req.params.id as string)}`);
    ctx.res.redirect(303, '/console/blacklist?notice=Removed+from+the+blacklist');
  }));
}
