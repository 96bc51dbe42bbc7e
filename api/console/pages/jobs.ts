// Jobs (seed 002 "Jobs" tool and the job definitions): jobs made of steps — create, edit the steps and
// their success/failure links, enable/disable, run now, each run's per-step history — and the recording
// export, results export and Salesforce export jobs (run now, test, enable/disable). Step graphs are
// validated by the API on save, not here.
import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import type { AppDeps } from '../../app.js';
import { ApiError } from '../api-client.js';
import { handle, problemView, type ConsoleContext } from '../index.js';
import { actionButton, can, csrfField, html, notice, page, runHref, send, when } from '../html.js';
import type { Session } from '../sessions.js';
import { applyOp, rowsOfForm, rowsOfSteps, stepEditor, stepsOfRows, type ApiStep, type StepRow } from './step-editor.js';
import { idempotency } from './tasks.js';

interface Job { id: string; name: string; enabled: boolean; trigger: { kind: string }; steps: ApiStep[]; nextRunAt: string | null }
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

const EXAMPLE_STEPS: ApiStep[] = [{ name: 'daily report', kind: 'report', reportId: '1' }];
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

/** What the job form shows: the values as last sent (or the job's), the step cards and the JSON text. */
interface JobFormState { name: string; trigger: string; rows: StepRow[]; stepsJson: string }

const stateOfJob = (job?: Job): JobFormState => ({
  name: job?.name ?? '', trigger: JSON.stringify(job?.trigger ?? { kind: 'manual' }),
  rows: rowsOfSteps(job?.steps ?? EXAMPLE_STEPS), stepsJson: JSON.stringify(job?.steps ?? EXAMPLE_STEPS, null, 2),
});

/** The job form: name, trigger, the step cards (add/remove/reorder re-render it in place), and, under
 *  "Advanced", the steps as JSON. Both save buttons send the API's own route; the API validates. */
function jobForm(session: Session, action: string, state: JobFormState, editing: boolean) {
  return html`<form method="post" action=${action} id="job-form"><fieldset><legend>${editing ? 'Edit job' : 'New job'}</legend>
    ${csrfField(session)}
    <label>Name <input name="name" required maxlength="200" value=${state.name} /></label>
    <p><label>Trigger <textarea name="trigger" rows="2" cols="80">${state.trigger}</textarea></label></p>
    <h2>Steps</h2>
    ${stepEditor(state.rows, action)}
    <p><button type="submit" name="op" value="save">${editing ? 'Save job' : 'Create job'}</button></p>
    <details><summary>Advanced: steps as JSON</summary>
      <p><label>Steps as JSON <textarea name="stepsJson" rows="12" cols="80" aria-describedby="steps-help">${state.stepsJson}</textarea></label>
        <small id="steps-help">each step's name, kind and parameters, onSuccess (a step name, "end" or "fail"), onFailure (a step name, "end" or "fail")</small></p>
      <button type="submit" name="op" value="json" formnovalidate>${editing ? 'Save steps as JSON' : 'Create job from JSON'}</button>
    </details>
  </fieldset></form>`;
}

/** A job form's post: an editing operation re-renders the form with the change (nothing saved); "save" sends the
 *  step cards, "json" the JSON text, to the API. The API's problem (400 naming the step, 409) is shown above the
 *  form with the values as sent; anything else (403, 404) is the console's error page. */
async function postJobForm(ctx: ConsoleContext, id: string | undefined, render: (state: JobFormState, problem?: ApiError) => Promise<void>) {
  const body = (ctx.req.body ?? {}) as Record<string, unknown>;
  const op = String(body.op ?? 'save');
  const state: JobFormState = { name: String(body.name ?? ''), trigger: String(body.trigger ?? ''), rows: rowsOfForm(body), stepsJson: String(body.stepsJson ?? '') };
  if (op !== 'save' && op !== 'json') return render({ ...state, rows: applyOp(state.rows, op) });
  try {
    const payload = { name: state.name, trigger: jsonField(ctx, 'trigger'), steps: op === 'json' ? jsonField(ctx, 'stepsJson') : stepsOfRows(state.rows) };
    if (id) {
      await ctx.api.send('PATCH', `/jobs/${encodeURIComponent(id)}`, payload);
      return ctx.res.redirect(303, `/console/jobs/${encodeURIComponent(id)}?notice=Job+saved`);
    }
    const created = await ctx.api.send<{ id: string }>('POST', '/jobs', { ...payload, enabled: true });
    return ctx.res.redirect(303, `/console/jobs/${created.id}?notice=Job+created`);
  } catch (err) {
    if (!(err instanceof ApiError) || ![400, 409, 422].includes(err.problem.status)) throw err;
    return render(state, err);
  }
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
      ${admin ? html`<p><a href="/console/jobs/new">New job</a></p>` : null}
      ${DEFINITION_KINDS.map((kind, i) => definitionSection(ctx.session, kind, definitions[i].items))}`, '/console/jobs'));
  }));

  const newJobPage = (ctx: ConsoleContext, state: JobFormState, problem?: ApiError) => send(ctx.res, problem?.problem.status ?? 200, page('New job', ctx.session, html`
    ${problem ? problemView(problem) : null}
    ${jobForm(ctx.session, '/console/jobs', state, false)}`, '/console/jobs'));
  router.get('/jobs/new', handle(deps, async (ctx) => newJobPage(ctx, stateOfJob())));
  router.post('/jobs', handle(deps, (ctx) => postJobForm(ctx, undefined, async (state, problem) => newJobPage(ctx, state, problem))));

  /** A job's page: its steps (seed 002's columns), the edit form for administrators, and each run's per-step history. */
  const jobPage = async (ctx: ConsoleContext, id: string, state?: JobFormState, problem?: ApiError) => {
    const enc = encodeURIComponent(id);
    const [job, history] = await Promise.all([ctx.api.get<Job>(`/jobs/${enc}`), ctx.api.get<{ items: JobRun[] }>(`/jobs/${enc}/history`)]);
    send(ctx.res, problem?.problem.status ?? 200, page(`Job: ${job.name}`, ctx.session, html`
      ${notice(ctx.req.query.notice as string)}
      ${problem ? problemView(problem) : null}
      <p>Trigger: ${job.trigger.kind}; next run ${when(job.nextRunAt) || 'none'}; ${job.enabled ? 'enabled' : 'disabled'}.</p>
      ${can(ctx.session, 'operator') ? runNow(ctx.session, `/console/jobs/${job.id}/run`) : null}
      <table aria-label="Steps of the job">
        <thead><tr><th>Step</th><th>Type</th><th>Next Success Step</th><th>Next Failure Step</th></tr></thead>
        <tbody>${job.steps.map((s, i) => html`<tr><td>${s.name}</td><td>${s.kind}</td>
          <td>${s.onSuccess ?? job.steps[i + 1]?.name ?? 'end'}</td><td>${s.onFailure ?? 'fail'}</td></tr>`)}</tbody>
      </table>
      ${can(ctx.session, 'admin') ? jobForm(ctx.session, `/console/jobs/${job.id}/edit`, state ?? stateOfJob(job), true) : null}
      <h2>Runs</h2>
      ${history.items.length ? history.items.map((r) => html`<section>
        <h3><a href=${runHref(r.runId)}>${when(r.startedAt)}</a>: ${r.status}${r.error ? ` — ${r.error}` : ''}</h3>
        <table>
          <thead><tr><th>Step</th><th>Kind</th><th>Status</th><th>Started</th><th>Ended</th><th>Error</th></tr></thead>
          <tbody>${r.steps.map((s) => html`<tr><td>${s.childRunId ? html`<a href=${runHref(s.childRunId)}>${s.name}</a>` : s.name}</td>
            <td>${s.kind}</td><td>${s.status}</td><td>${when(s.startedAt)}</td><td>${when(s.endedAt)}</td><td>${s.error}</td></tr>`)}</tbody>
        </table></section>`) : html`<p>No runs yet.</p>`}`, '/console/jobs'));
  };
  router.get('/jobs/:id', handle(deps, (ctx) => jobPage(ctx, ctx.req.params.id as string)));
  router.post('/jobs/:id/edit', handle(deps, (ctx) => {
    const id = ctx.req.params.id as string;
    return postJobForm(ctx, id, (state, problem) => jobPage(ctx, id, state, problem));
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
