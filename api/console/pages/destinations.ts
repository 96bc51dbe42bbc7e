// Destinations and Salesforce accounts: where jobs deliver. Secrets are write-only: the page never shows or pre-fills a password or
// private key (the API returns them masked), it only sends a new one. Test connection asks the API to try.
import type { Router } from 'express';
import type { AppDeps } from '../../app.js';
import { handle } from '../index.js';
import { actionButton, can, csrfField, html, notice, page, selectField, send } from '../html.js';
import type { Session } from '../sessions.js';

interface Destination {
  id: string; name: string; protocol: string; host?: string; port?: number; path?: string; username?: string; bucket?: string;
  region?: string; endpoint?: string; password?: string; privateKey?: string;
}

interface SalesforceAccount { id: string; name: string; loginUrl: string; username: string; password: string }

const PROTOCOLS = ['sftp', 'ftp', 's3', 'file'];
const TEXT_FIELDS: [string, string][] = [['host', 'Host'], ['path', 'Path'], ['username', 'User name'], ['bucket', 'Bucket'], ['region', 'Region'], ['endpoint', 'Endpoint']];

/** The form's non-empty fields as the API's body (port a number). */
function bodyOf(form: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const key of ['name', 'protocol', ...TEXT_FIELDS.map(([k]) => k), 'password', 'privateKey']) if (form[key]) body[key] = form[key];
  if (form.port) body.port = Number(form.port);
  return body;
}

/** Salesforce accounts (the Results tab's Salesforce jobs deliver to them): secrets write-only too. */
function salesforceSection(session: Session, accounts: SalesforceAccount[]) {
  return html`<h2>Salesforce accounts</h2>
    <table>
      <thead><tr><th>Name</th><th>Login URL</th><th>User</th><th>Password</th><th>Actions</th></tr></thead>
      <tbody>${accounts.length ? accounts.map((a) => html`<tr><td>${a.name}</td><td>${a.loginUrl}</td><td>${a.username}</td><td>${a.password}</td>
        <td>${can(session, 'operator') ? actionButton(session, `/console/salesforce-accounts/${a.id}/test`, 'Test connection') : null}</td></tr>`)
        : html`<tr><td colspan="5">No Salesforce accounts.</td></tr>`}</tbody>
    </table>
    ${can(session, 'admin') ? html`<form method="post" action="/console/salesforce-accounts"><fieldset><legend>New Salesforce account</legend>
      ${csrfField(session)}
      <label>Name <input name="name" required /></label>
      <label>Login URL <input name="loginUrl" type="url" required /></label>
      <label>User name <input name="username" required /></label>
      <label>Password <input type="password" name="password" autocomplete="new-password" required /></label>
      <label>Security token <input type="password" name="securityToken" autocomplete="off" /></label>
      <button type="submit">Create Salesforce account</button>
    </fieldset></form>` : null}`;
}

export function register(router: Router, deps: AppDeps): void {
  router.get('/destinations', handle(deps, async (ctx) => {
    const [{ items }, salesforce] = await Promise.all([
      ctx.api.get<{ items: Destination[] }>('/destinations', { limit: '500' }),
      ctx.api.get<{ items: SalesforceAccount[] }>('/salesforce-accounts', { limit: '500' }),
    ]);
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
      </fieldset></form>` : null}
      ${salesforceSection(ctx.session, salesforce.items)}`, '/console/destinations'));
  }));
  router.post('/destinations', handle(deps, async (ctx) => {
    await ctx.api.send('POST', '/destinations', bodyOf(ctx.req.body as Record<string, string>));
    ctx.res.redirect(303, '/console/destinations?notice=Destination+created');
  }));
  router.post('/destinations/:id/secret', handle(deps, async (ctx) => {
    await ctx.api.send('PATCH', `/destinations/${encodeURIComponent(ctx.req.params.id as string)}`, { password: String(ctx.req.body?.password ?? '') });
    ctx.res.redirect(303, '/console/destinations?notice=Password+replaced');
  }));
  router.post('/salesforce-accounts', handle(deps, async (ctx) => {
    const form = ctx.req.body as Record<string, string>;
    await ctx.api.send('POST', '/salesforce-accounts', {
      name: form.name, loginUrl: form.loginUrl, username: form.username, password: form.password, ...(form.securityToken ? { securityToken: form.securityToken } : {}),
    });
    ctx.res.redirect(303, '/console/destinations?notice=Salesforce+account+created');
  }));
  router.post('/salesforce-accounts/:id/test', handle(deps, async (ctx) => {
    await ctx.api.send('POST', `/salesforce-accounts/${encodeURIComponent(ctx.req.params.id as string)}/test`);
    ctx.res.redirect(303, '/console/destinations?notice=Connection+test+passed');
  }));
  router.post('/destinations/:id/test', handle(deps, async (ctx) => {
    await ctx.api.send('POST', `/destinations/${encodeURIComponent(ctx.req.params.id as string)}/test`);
    ctx.res.redirect(303, '/console/destinations?notice=Connection+test+passed');
  }));
}
