// API keys (admins): who may call the API and the console. A new key is shown once, on the page that
// created it, never in a URL or again.
import type { Router } from 'express';
import { ROLES } from '../../auth.js';
import type { AppDeps } from '../../app.js';
import { handle, type ConsoleContext } from '../index.js';
import { actionButton, csrfField, html, notice, page, selectField, send, when } from '../html.js';

interface ApiKey { id: string; name: string; role: string; erase: boolean; createdAt: string; revokedAt: string | null }

async function keysPage(ctx: ConsoleContext, created?: { name: string; key: string }) {
  const { items } = await ctx.api.get<{ items: ApiKey[] }>('/api-keys', { limit: '500' });
  send(ctx.res, created ? 201 : 200, page('API keys', ctx.session, html`
    ${notice(ctx.req.query.notice as string)}
    ${created ? html`<div role="status"><p>The key "${created.name}" — copy it now, it is not shown again:</p><p class="secret" data-new-key>${created.key}</p></div>` : null}
    <table>
      <thead><tr><th>Name</th><th>Role</th><th>Erase</th><th>Created</th><th>Revoked</th><th>Actions</th></tr></thead>
      <tbody>${items.map((k) => html`<tr>
        <td>${k.name}</td><td>${k.role}</td><td>${k.erase ? 'yes' : 'no'}</td><td>${when(k.createdAt)}</td><td>${when(k.revokedAt)}</td>
        <td>${k.revokedAt ? null : actionButton(ctx.session, `/console/api-keys/${k.id}/revoke`, 'Revoke')}</td>
      </tr>`)}</tbody>
    </table>
    <form method="post" action="/console/api-keys"><fieldset><legend>New key</legend>
      ${csrfField(ctx.session)}
      <label>Name <input name="name" required maxlength="100" /></label>
      ${selectField('Role', 'role', ROLES.map((r) => [r, r]), 'viewer')}
      <label><input type="checkbox" name="erase" value="true" /> Can edit and erase interaction records</label>
      <button type="submit">Create key</button>
    </fieldset></form>`, '/console/api-keys'));
}

export function register(router: Router, deps: AppDeps): void {
  router.get('/api-keys', handle(deps, (ctx) => keysPage(ctx)));
  router.post('/api-keys', handle(deps, async (ctx) => {
    const form = ctx.req.body as Record<string, string>;
    const { key } = await ctx.api.send<{ key: string }>('POST', '/api-keys', { name: form.name, role: form.role, erase: form.erase === 'true' });
    await keysPage(ctx, { name: form.name, key });
  }));
  router.post('/api-keys/:id/revoke', handle(deps, async (ctx) => {
    await ctx.api.send('DELETE', `/api-keys/${encodeURIComponent(ctx.req.params.id as string)}`);
    ctx.res.redirect(303, '/console/api-keys?notice=Key+revoked');
  }));
}
