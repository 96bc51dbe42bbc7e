// Destinations: where jobs deliver. Secrets are write-only: the page never shows or pre-fills a password or
// private key (the API returns them masked), it only sends a new one. Test connection asks the API to try.
import type { Router } from 'express';
import type { AppDeps } from '../../app.js';
import { handle } from '../index.js';
import { actionButton, can, csrfField, html, notice, page, selectField, send } from '../html.js';

interface Destination {
  id: string; name: string; protocol: string; host?: string; port?: number; path?: string; username?: string; bucket?: string;
  region?: string; endpoint?: string; password?: string; privateKey?: string;
}

const PROTOCOLS = ['sftp', 'ftp', 's3', 'file'];
const TEXT_FIELDS: [string, string][] = [['host', 'Host'], ['path', 'Path'], ['username', 'User name'], ['bucket', 'Bucket'], ['region', 'Region'], ['endpoint', 'Endpoint']];

/** The form's non-empty fields as the API's body (port a number). */
function bodyOf(form: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const key of ['name', 'protocol', ...TEXT_FIELDS.map(([k]) => k), 'password', 'privateKey']) if (form[key]) body[key] = form[key];
  if (form.port) body.port = Number(form.port);
  return body;
}

export function register(router: Router, deps: AppDeps): void {
  router.get('/destinations', handle(deps, async (ctx) => {
    const { items } = await ctx.api.get<{ items: Destination[] }>('/destinations', { limit: '500' });
    const admin = can(ctx.session, 'admin');
    send(ctx.res, 200, page('Destinations', ctx.session, html`
      ${notice(ctx.req.query.notice as string)}
      <table>
        <thead><tr><th>Name</th><th>Protocol</th><th>Where</th><th>User</th><th>Secret</th><th>Actions</th></tr></thead>
        <tbody>${items.length ? items.map((d) => html`<tr>
          <td>${d.name}</td><td>${d.protocol}</td><td>${[d.host, d.port, d.bucket, d.path].filter((v) => v !== undefined).join(' ')}</td>
          <td>${d.username}</td><td>${d.password ?? d.privateKey ?? ''}</td>
          <td>${can(ctx.session, 'operator') ? actionButton(ctx.session, `/console/destinations/${d.id}/test`, 'Test connection') : null}
            ${admin ? html`<form method="post" action=${`/console/destinations/${d.id}/secret`} class="inline">${csrfField(ctx.session)}
              <label>New password for ${d.name} <input type="password" name="password" autocomplete="new-password" required /></label>
              <button type="submit">Replace password</button></form>` : null}</td>
        </tr>`) : html`<tr><td colspan="6">No destinations.</td></tr>`}</tbody>
      </table>
      ${admin ? html`<form method="post" action="/console/destinations"><fieldset><legend>New destination</legend>
        ${csrfField(ctx.session)}
        <label>Name <input name="name" required /></label>
        ${selectField('Protocol', 'protocol', PROTOCOLS.map((p) => [p, p]))}
        ${TEXT_FIELDS.map(([key, label]) => html`<label>${label} <input name=${key} /></label>`)}
        <label>Port <input name="port" type="number" min="1" max="65535" /></label>
        <label>Password <input type="password" name="password" autocomplete="new-password" /></label>
        <p><label>Private key <textarea name="privateKey" rows="3" cols="60"></textarea></label></p>
        <button type="submit">Create destination</button>
      </fieldset></form>` : null}`, '/console/destinations'));
  }));
  router.post('/destinations', handle(deps, async (ctx) => {
    await ctx.api.send('POST', '/destinations', bodyOf(ctx.req.body as Record<string, string>));
    ctx.res.redirect(303, '/console/destinations?notice=Destination+created');
  }));
  router.post('/destinations/:id/secret', handle(deps, async (ctx) => {
    await ctx.api.send('PATCH', `/destinations/${encodeURIComponent(ctx.req.params.id as string)}`, { password: String(ctx.req.body?.password ?? '') });
    ctx.res.redirect(303, '/console/destinations?notice=Password+replaced');
  }));
  router.post('/destinations/:id/test', handle(deps, async (ctx) => {
    await ctx.api.send('POST', `/destinations/${encodeURIComponent(ctx.req.params.id as string)}/test`);
    ctx.res.redirect(303, '/console/destinations?notice=Connection+test+passed');
  }));
}
