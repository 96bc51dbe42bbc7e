// Jobs (seed 002 "Jobs" tool and the job definitions): jobs made of steps — create, edit the steps and
// their success/failure links, enable/disable, run now, each run's per-step history — and the recording
// export, results export and Salesforce export jobs (run now, test, enable/disable). Step graphs are
// validated by the API on save, not here.
import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import type { AppDeps } from '../../app.js';
import { ApiError } from '../api-client.js';
import { handle, type ConsoleContext } from '../index.js';
import { actionButton, can, csrfField, html, notice, page, runHref, send, when } from '../html.js';
import type { Session } from '../sessions.js';
import { idempotency } from './tasks.js';

interface Step { name: string; kind: string; onSuccess?: string; onFailure?: string; [param: string]: unknown }
interface Job { id: string; name: string; enabled: boolean; trigger: { kind: string }; steps: Step[]; nextRunAt: string | null }
interface JobRun { runId: string; status: string; step: string | null; startedAt: string; endedAt: string | null; error: string | null; triggeredBy: string | null;
  steps: { name: string; kind: string; status: string; childRunId: string | null; startedAt: string; endedAt: string | null; error: string | null }[] }
interface DefinitionJob { id: string; name: string; enabled: boolean; schedule: Record<string, string> | null; nextRunAt: string | null; [field: string]: unknown }

/** The job definitions of the job kinds (the Results tab's job dialogs, recording exports): same columns and actions. */
const DEFINITION_KINDS: { title: string; base: string; test?: string; forms?: string; what(job: DefinitionJob): string }[] = [
  { title: 'Recording export jobs', base: 'recording-export-jobs', forms: 'recording export job', what: (j) => String(j.contentType) },
  { title: 'Results export jobs', base: 'results-export-jobs', test: 'Test connection', forms: 'results export job', what: (j) => `${j.format} → ${j.path}` },
  { title: 'Salesforce export jobs', base: 'salesforce-export-jobs', test: 'Test mapping', forms: 'Salesforce export job', what: (j) => `${j.format} → ${j.object}` },
];

function definitionSection(session: Session, kind: (typeof DEFINITION_KINDS)[number], items: DefinitionJob[]) {
  const operator = can(session, 'operator'), admin = can(session, 'admin');
  return html`<h2>${kind.title}</h2>
    <table>
      <thead><tr><th>Name</th><th>What</th><th>Schedule</th><th>Next run</th><th>Enabled</th><th>Actions</th></tr></thead>
      <tbody>${items.length ? items.map((j) => html`<tr>
        <td>${admin && kind.forms ? html`<a href=${`/console/${kind.base}/${j.id}/edit`}>${j.name}</a>` : j.name}</td><td>${kind.what(j)}</td><td>${Object.values(j.schedule ?? {}).join(' ')}</td><td>${when(j.nextRunAt)}</td><td>${j.enabled ? 'yes' : 'no'}</td>
        <td>${operator ? runNow(session, `/console/${kind.base}/${j.id}/run`) : null}
          ${operator && kind.test ? actionButton(session, `/console/${kind.base}/${j.id}/test`, kind.test) : null}
          ${admin ? toggle(session, `/console/${kind.base}/${j.id}/enabled`, j.enabled) : null}</td>
      </tr>`) : html`<tr><td colspan="6">None.</td></tr>`}</tbody>
    </table>
    ${admin && kind.forms ? html`<p><a href=${`/console/${kind.base}/new`}>New ${kind.forms}</a></p>` : null}`;
}

const EXAMPLE_STEPS = JSON.stringify([{ name: 'daily report', kind: 'report', reportId: '1' }], null, 2);

const runNow = (session: Session, action: string) => actionButton(session, action, 'Run now', { hidden: { _idem: randomUUID() } });
const toggle = (session: Session, action: string, enabled: boolean) =>
  actionButton(session, action, enabled ? 'Disable' : 'Enable', { hidden: { enabled: enabled ? 'false' : 'true' } });

/** A JSON field of a form, or a 400 naming it (the console's only own check: the text must be JSON to send it). */
function jsonField(ctx: ConsoleContext, name: string): unknown {
  const text = String(ctx.req.body?.[name] ?? '');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError({ status: 400, title: 'Bad Request', detail: `The ${name} field is not JSON.`, errors: [{ path: name, message: (err as Error).message }] });
  }
}

function jobForm(session: Session, action: string, job?: Job) {
  return html`<form method="post" action=${action}><fieldset><legend>${job ? 'Edit job' : 'New job'}</legend>
    ${csrfField(session)}
    <label>Name <input name="name" required maxlength="200" value=${job?.name} /></label>
    <p><label>Trigger <textarea name="trigger" rows="2" cols="80">${JSON.stringify(job?.trigger ?? { kind: 'manual' })}</textarea></label></p>
    <p><label>Steps <textarea name="steps" rows="12" cols="80" aria-describedby="steps-help">${job ? JSON.stringify(job.steps, null, 2) : EXAMPLE_STEPS}</textarea></label>
      <small id="steps-help">JSON: each step's name, kind and parameters, onSuccess (a step name or "end"), onFailure (a step name or "fail")</small></p>
    <button type="submit">${job ? 'Save job' : 'Create job'}</button>
  </fieldset></form>`;
}

export function register(router: Router, deps: AppDeps): void {
  router.get('/jobs', handle(deps, async (ctx) => {
    const [jobs, ...definitions] = await Promise.all([
      ctx.api.get<{ items: Job[] }>('/jobs', { showDisabled: 'true', limit: '500' }),
      ...DEFINITION_KINDS.map((kind) => ctx.api.get<{ items: DefinitionJob[] }>(`/${kind.base}`, { limit: '500' })),
    ]);
    const operator = can(ctx.session, 'operator'), admin = can(ctx.session, 'admin');
    send(ctx.res, 200, page('Jobs', ctx.session, html`
      ${notice(ctx.req.query.notice as string)}
      <h2>Jobs made of steps</h2>
      <table>
        <thead><tr><th>Name</th><th>Trigger</th><th>Steps</th><th>Next run</th><th>Enabled</th><th>Actions</th></tr></thead>
        <tbody>${jobs.items.length ? jobs.items.map((j) => html`<tr>
          <td><a href=${`/console/jobs/${j.id}`}>${j.name}</a></td><td>${j.trigger.kind}</td><td>${j.steps.map((s) => s.name).join(' → ')}</td>
          <td>${when(j.nextRunAt)}</td><td>${j.enabled ? 'yes' : 'no'}</td>
          <td>${operator ? runNow(ctx.session, `/console/jobs/${j.id}/run`) : null} ${admin ? toggle(ctx.session, `/console/jobs/${j.id}/enabled`, j.enabled) : null}</td>
        </tr>`) : html`<tr><td colspan="6">No jobs yet.</td></tr>`}</tbody>
      </table>
      ${admin ? jobForm(ctx.session, '/console/jobs') : null}
      ${DEFINITION_KINDS.map((kind, i) => definitionSection(ctx.session, kind, definitions[i].items))}`, '/console/jobs'));
  }));

  router.post('/jobs', handle(deps, async (ctx) => {
    const created = await ctx.api.send<{ id: string }>('POST', '/jobs', {
      name: ctx.req.body?.name, enabled: true, trigger: jsonField(ctx, 'trigger'), steps: jsonField(ctx, 'steps'),
    });
    ctx.res.redirect(303, `/console/jobs/${created.id}?notice=Job+created`);
  }));

  router.get('/jobs/:id', handle(deps, async (ctx) => {
    const id = encodeURIComponent(ctx.req.params.id as string);
    const [job, history] = await Promise.all([ctx.api.get<Job>(`/jobs/${id}`), ctx.api.get<{ items: JobRun[] }>(`/jobs/${id}/history`)]);
    send(ctx.res, 200, page(`Job: ${job.name}`, ctx.session, html`
      ${notice(ctx.req.query.notice as string)}
      <p>Trigger: ${job.trigger.kind}; next run ${when(job.nextRunAt) || 'none'}; ${job.enabled ? 'enabled' : 'disabled'}.</p>
      ${can(ctx.session, 'operator') ? runNow(ctx.session, `/console/jobs/${job.id}/run`) : null}
      <h2>Steps</h2>
      <table>
        <thead><tr><th>Step</th><th>Kind</th><th>On success</th><th>On failure</th></tr></thead>
        <tbody>${job.steps.map((s, i) => html`<tr><td>${s.name}</td><td>${s.kind}</td>
          <td>${s.onSuccess ?? job.steps[i + 1]?.name ?? 'end'}</td><td>${s.onFailure ?? 'fail'}</td></tr>`)}</tbody>
      </table>
      ${can(ctx.session, 'admin') ? jobForm(ctx.session, `/console/jobs/${job.id}/edit`, job) : null}
      <h2>Runs</h2>
      ${history.items.length ? history.items.map((r) => html`<section>
        <h3><a href=${runHref(r.runId)}>${when(r.startedAt)}</a>: ${r.status}${r.error ? ` — ${r.error}` : ''}</h3>
        <table>
          <thead><tr><th>Step</th><th>Kind</th><th>Status</th><th>Started</th><th>Ended</th><th>Error</th></tr></thead>
          <tbody>${r.steps.map((s) => html`<tr><td>${s.childRunId ? html`<a href=${runHref(s.childRunId)}>${s.name}</a>` : s.name}</td>
            <td>${s.kind}</td><td>${s.status}</td><td>${when(s.startedAt)}</td><td>${when(s.endedAt)}</td><td>${s.error}</td></tr>`)}</tbody>
        </table></section>`) : html`<p>No runs yet.</p>`}`, '/console/jobs'));
  }));

  router.post('/jobs/:id/edit', handle(deps, async (ctx) => {
    const id = encodeURIComponent(ctx.req.params.id as string);
    await ctx.api.send('PATCH', `/jobs/${id}`, { name: ctx.req.body?.name, trigger: jsonField(ctx, 'trigger'), steps: jsonField(ctx, 'steps') });
    ctx.res.redirect(303, `/console/jobs/${id}?notice=Job+saved`);
  }));
  for (const { base, test } of DEFINITION_KINDS.filter((kind) => kind.test)) {
    router.post(`/${base}/:id/test`, handle(deps, async (ctx) => {
      await ctx.api.send('POST', `/${base}/${encodeURIComponent(ctx.req.params.id as string)}/test`);
      ctx.res.redirect(303, `/console/jobs?notice=${encodeURIComponent(`${test}: passed`)}`);
    }));
  }
  for (const base of ['jobs', ...DEFINITION_KINDS.map((kind) => kind.base)]) {
    router.post(`/${base}/:id/run`, handle(deps, async (ctx) => {
      const reply = await ctx.api.send<{ runId: string }>('POST', `/${base}/${encodeURIComponent(ctx.req.params.id as string)}/run`, undefined, idempotency(ctx));
      ctx.res.redirect(303, runHref(reply.runId));
    }));
    router.post(`/${base}/:id/enabled`, handle(deps, async (ctx) => {
      await ctx.api.send('PATCH', `/${base}/${encodeURIComponent(ctx.req.params.id as string)}`, { enabled: ctx.req.body?.enabled === 'true' });
      ctx.res.redirect(303, '/console/jobs?notice=Saved');
    }));
  }
}
