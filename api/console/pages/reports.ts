// Reports (seed 003): the definitions with their schedule and next run, creating one, running one now,
// and the saved files of the last 30 days.
import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import { REPORT_TYPES } from '../../../lib/reports/definition.js';
import { TIMEFRAME_KINDS } from '../../../lib/reports/timeframes.js';
import type { AppDeps } from '../../app.js';
import { campaignOptions, campaignSelect } from '../campaigns.js';
import { streamDownload } from '../downloads.js';
import { ApiError } from '../api-client.js';
import { handle, problemView } from '../index.js';
import { actionButton, can, csrfField, html, notice, page, runHref, selectField, send, when, type VNode } from '../html.js';
import type { Session } from '../sessions.js';
import { idempotency } from './tasks.js';

interface Report {
  id: string; name: string; enabled: boolean; type: string; campaignId: string; timeframe: { kind: string };
  output: { emails: string[]; destinationIds: string[]; fileNameFormat?: string; zip: boolean; skipIfEmpty: boolean };
  schedule: { cron: string } | null; nextRunAt: string | null;
}
type Form = Record<string, string | undefined>;
interface Saved { id: string; runId: string; kind: string; fileName: string; sizeBytes: number; rows: number; createdAt: string; expiresAt: string }

const runNow = (session: Session, id: string) => actionButton(session, `/console/reports/${id}/run`, 'Run now', { hidden: { _idem: randomUUID() } });

function createForm(session: Session, campaigns: { id: string; name: string }[]) {
  return html`<form method="post" action="/console/reports"><fieldset><legend>New report</legend>
    <input type="hidden" name="_csrf" value=${session.csrf} />
    <label>Name <input name="name" required maxlength="200" /></label>
    ${selectField('Type', 'type', REPORT_TYPES.map((t) => [t, t]))}
    ${campaignSelect(campaigns)}
    ${selectField('Timeframe', 'timeframe', TIMEFRAME_KINDS.filter((k) => k !== 'explicit').map((k) => [k, k]))}
    <label>Schedule <input name="cron" placeholder="0 6 * * 1-5" aria-describedby="cron-help" /></label>
    <small id="cron-help">crontab, 5 fields, GMT, day of week 1-7 with 1 = Monday; empty: generate once now</small>
    <label>E-mail to <input name="emails" placeholder="ops@example.com, …" /></label>
    <button type="submit">Create report</button>
  </fieldset></form>`;
}

/** A report's values as its edit form's text. */
function formOf(report: Report): Form {
  const tf = report.timeframe as Report['timeframe'] & { start?: string; end?: string; timezone?: string };
  return {
    name: report.name, enabled: report.enabled ? 'on' : undefined, timeframe: tf.kind, start: tf.start ?? '', end: tf.end ?? '', timezone: tf.timezone ?? '',
    cron: report.schedule?.cron ?? '', emails: report.output.emails.join(', '), fileNameFormat: report.output.fileNameFormat ?? '',
    zip: report.output.zip ? 'on' : undefined, skipIfEmpty: report.output.skipIfEmpty ? 'on' : undefined,
  };
}

/** The PATCH body of an edit form: only what differs from the report (empty schedule or file name format: null, removed). */
function changesOf(report: Report, form: Form): Record<string, unknown> {
  const was = formOf(report), changed = (key: string) => (form[key] ?? '').trim() !== (was[key] ?? '').trim();
  const body: Record<string, unknown> = {}, output: Record<string, unknown> = {};
  if (changed('name')) body.name = form.name ?? '';
  if ((form.enabled === 'on') !== report.enabled) body.enabled = form.enabled === 'on';
  if (['timeframe', 'start', 'end', 'timezone'].some(changed)) {
    body.timeframe = { kind: form.timeframe, ...Object.fromEntries(['start', 'end', 'timezone'].filter((k) => form[k]?.trim()).map((k) => [k, form[k]!.trim()])) };
  }
  if (changed('cron')) body.schedule = form.cron?.trim() ? { cron: form.cron.trim() } : null;
  if (changed('emails')) output.emails = (form.emails ?? '').split(/[,\s]+/).filter(Boolean);
  if (changed('fileNameFormat')) output.fileNameFormat = form.fileNameFormat?.trim() ? form.fileNameFormat : null;
  for (const key of ['zip', 'skipIfEmpty'] as const) if ((form[key] === 'on') !== report.output[key]) output[key] = form[key] === 'on';
  if (Object.keys(output).length) body.output = output;
  return body;
}

function editForm(session: Session, report: Report, form: Form): VNode {
  const text = (label: string, name: string, help?: string) => html`<p><label>${label} <input name=${name} value=${form[name] ?? ''}
    aria-describedby=${help ? `${name}-help` : undefined} /></label>${help ? html` <small id=${`${name}-help`}>${help}</small>` : null}</p>`;
  const box = (label: string, name: string) => html`<p><label><input type="checkbox" name=${name} checked=${form[name] === 'on'} /> ${label}</label></p>`;
  return html`<form method="post" action=${`/console/reports/${report.id}/edit`}><fieldset><legend>Edit report</legend>
    ${csrfField(session)}
    <p><label>Name <input name="name" required maxlength="200" value=${form.name ?? ''} /></label></p>
    ${box('Enabled', 'enabled')}
    <p>${selectField('Timeframe', 'timeframe', TIMEFRAME_KINDS.map((k) => [k, k]), form.timeframe)}</p>
    ${text('Start', 'start', 'explicit timeframe only: ISO 8601')}
    ${text('End', 'end', 'explicit timeframe only')}
    ${text('Time zone', 'timezone', 'explicit timeframe only: IANA zone')}
    ${text('Schedule', 'cron', 'crontab, 5 fields, GMT, day of week 1-7 with 1 = Monday; empty: no schedule')}
    ${text('E-mail to', 'emails')}
    ${text('File name format', 'fileNameFormat', 'empty: the default')}
    ${box('Zip', 'zip')}
    ${box('Skip if empty', 'skipIfEmpty')}
    <button type="submit">Save report</button>
  </fieldset></form>`;
}

export function register(router: Router, deps: AppDeps): void {
  router.get('/reports', handle(deps, async (ctx) => {
    const [{ items }, campaigns] = await Promise.all([ctx.api.get<{ items: Report[] }>('/reports', { limit: '500' }), campaignOptions(ctx.api)]);
    const campaignName = (id: string) => campaigns.find((c) => c.id === id)?.name ?? id;
    send(ctx.res, 200, page('Reports', ctx.session, html`
      ${notice(ctx.req.query.notice as string)}
      <table>
        <thead><tr><th>Name</th><th>Type</th><th>Campaign</th><th>Timeframe</th><th>Schedule (GMT)</th><th>Next run</th><th>Enabled</th><th>Actions</th></tr></thead>
        <tbody>${items.length ? items.map((r) => html`<tr>
          <td><a href=${`/console/reports/${r.id}`}>${r.name}</a></td><td>${r.type}</td><td>${campaignName(r.campaignId)}</td><td>${r.timeframe.kind}</td>
          <td>${r.schedule?.cron}</td><td>${when(r.nextRunAt)}</td><td>${r.enabled ? 'yes' : 'no'}</td>
          <td>${can(ctx.session, 'operator') ? runNow(ctx.session, r.id) : null}</td>
        </tr>`) : html`<tr><td colspan="8">No reports yet.</td></tr>`}</tbody>
      </table>
      ${can(ctx.session, 'admin') ? createForm(ctx.session, campaigns) : null}`, '/console/reports'));
  }));

  router.post('/reports', handle(deps, async (ctx) => {
    const form = ctx.req.body as Record<string, string>;
    const emails = (form.emails ?? '').split(/[,\s]+/).filter(Boolean);
    const created = await ctx.api.send<{ id: string; runId?: string }>('POST', '/reports', {
      name: form.name, type: form.type, campaignId: form.campaignId, timeframe: { kind: form.timeframe },
      ...(emails.length ? { output: { emails } } : {}),
      ...(form.cron?.trim() ? { schedule: { cron: form.cron.trim() } } : {}),
    });
    ctx.res.redirect(303, created.runId ? runHref(created.runId) : `/console/reports/${created.id}?notice=Report+created`);
  }));

  router.get('/reports/:id', handle(deps, async (ctx) => {
    const id = encodeURIComponent(ctx.req.params.id as string);
    const [report, saved] = await Promise.all([ctx.api.get<Report>(`/reports/${id}`), ctx.api.get<{ items: Saved[] }>(`/reports/${id}/saved`, { limit: '500' })]);
    send(ctx.res, 200, page(`Report: ${report.name}`, ctx.session, html`
      ${notice(ctx.req.query.notice as string)}
      <dl>
        <dt>Type</dt><dd>${report.type}</dd><dt>Timeframe</dt><dd>${report.timeframe.kind}</dd>
        <dt>Schedule (GMT)</dt><dd>${report.schedule?.cron ?? 'none'}</dd>
        <dt>Next run</dt><dd data-next-run>${report.nextRunAt ? when(report.nextRunAt) : 'not scheduled'}</dd>
        <dt>Enabled</dt><dd>${report.enabled ? 'yes' : 'no'}</dd>
        <dt>E-mail to</dt><dd>${report.output.emails.join(', ')}</dd>
      </dl>
      ${can(ctx.session, 'operator') ? runNow(ctx.session, report.id) : null}
      ${can(ctx.session, 'admin') ? editForm(ctx.session, report, formOf(report)) : null}
      <h2>Saved files (last 30 days)</h2>
      <table>
        <thead><tr><th>File</th><th>Kind</th><th>Rows</th><th>Size (bytes)</th><th>Created</th><th>Kept until</th><th>Run</th></tr></thead>
        <tbody>${saved.items.length ? saved.items.map((f) => html`<tr>
          <td><a href=${`/console/reports/${report.id}/saved/${f.id}`}>${f.fileName}</a></td><td>${f.kind}</td><td>${f.rows}</td><td>${f.sizeBytes}</td>
          <td>${when(f.createdAt)}</td><td>${when(f.expiresAt)}</td><td><a href=${runHref(f.runId)}>Run</a></td>
        </tr>`) : html`<tr><td colspan="7">No saved files.</td></tr>`}</tbody>
      </table>`, '/console/reports'));
  }));

  router.post('/reports/:id/edit', handle(deps, async (ctx) => {
    const id = encodeURIComponent(ctx.req.params.id as string);
    const form = ctx.req.body as Form;
    const report = await ctx.api.get<Report>(`/reports/${id}`);
    const changes = changesOf(report, form);
    try {
      if (Object.keys(changes).length) await ctx.api.send('PATCH', `/reports/${id}`, changes);
    } catch (err) {
      // The API's problem above the form, the values as typed; nothing was saved.
      if (!(err instanceof ApiError) || ![400, 409, 422].includes(err.problem.status)) throw err;
      return send(ctx.res, err.problem.status, page(`Report: ${report.name}`, ctx.session, html`${problemView(err)}${editForm(ctx.session, report, form)}`, '/console/reports'));
    }
    ctx.res.redirect(303, `/console/reports/${id}?notice=Report+saved`);
  }));

  router.post('/reports/:id/run', handle(deps, async (ctx) => {
    const reply = await ctx.api.send<{ runId: string }>('POST', `/reports/${encodeURIComponent(ctx.req.params.id as string)}/run`, undefined, idempotency(ctx));
    ctx.res.redirect(303, runHref(reply.runId));
  }));
  router.get('/reports/:id/saved/:fileId', handle(deps, (ctx) =>
    streamDownload(ctx, `/reports/${encodeURIComponent(ctx.req.params.id as string)}/saved/${encodeURIComponent(ctx.req.params.fileId as string)}`)));
}
