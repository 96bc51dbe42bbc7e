// Create and edit forms of the job definitions listed on the Jobs page (recording export jobs). Each form
// posts to the console, which sends the API's own route (POST to create, PATCH with the changed fields to
// edit) with the session's key; the API validates, and its problem (400 naming the field, 409, 422) is shown
// above the form with the values as sent, nothing saved. No rule of the API is repeated here.
import type { Router } from 'express';
import { EXPORT_CONTENT_TYPES } from '../../../lib/export/file-names.js';
import type { AppDeps } from '../../app.js';
import { ApiError } from '../api-client.js';
import { campaignOptions, campaignSelect, type CampaignOption } from '../campaigns.js';
import { handle, problemView, type ConsoleContext } from '../index.js';
import { can, csrfField, html, page, selectField, send, type VNode } from '../html.js';
import type { Session } from '../sessions.js';

type Form = Record<string, string | undefined>;
interface Option { id: string; name: string }
interface RecordingExportJob {
  id: string; name: string; enabled: boolean; campaignId: string; contentType: string; voiceSignatureOnly: boolean;
  dispositions: 'all' | string[]; completedAfter: string; destinationId: string; fileNameTemplate: string; manifestTemplate: string;
  useForPlayback: boolean; schedule: { every?: string; cron?: string } | null;
}

const BASE = 'recording-export-jobs';

/** The form's text of a job's values (what an edit form starts with). */
function formOf(job: RecordingExportJob): Form {
  return {
    name: job.name, enabled: job.enabled ? 'on' : undefined, campaignId: job.campaignId, contentType: job.contentType,
    voiceSignatureOnly: job.voiceSignatureOnly ? 'on' : undefined, dispositions: job.dispositions === 'all' ? 'all' : job.dispositions.join(', '),
    completedAfter: job.completedAfter, destinationId: job.destinationId, fileNameTemplate: job.fileNameTemplate, manifestTemplate: job.manifestTemplate,
    useForPlayback: job.useForPlayback ? 'on' : undefined,
    scheduleKind: job.schedule?.cron !== undefined ? 'cron' : 'every', schedule: job.schedule?.cron ?? job.schedule?.every ?? '',
  };
}

/** The API's body of a submitted form: text as sent, check boxes as booleans, a list split at commas; empty templates left out. */
function bodyOf(form: Form): Record<string, unknown> {
  const dispositions = (form.dispositions ?? '').trim();
  const body: Record<string, unknown> = {
    name: form.name ?? '', enabled: form.enabled === 'on', campaignId: form.campaignId, contentType: form.contentType,
    voiceSignatureOnly: form.voiceSignatureOnly === 'on', useForPlayback: form.useForPlayback === 'on',
    dispositions: dispositions === '' || dispositions === 'all' ? 'all' : dispositions.split(',').map((d) => d.trim()),
    completedAfter: form.completedAfter ?? '', destinationId: form.destinationId,
    schedule: { [form.scheduleKind === 'cron' ? 'cron' : 'every']: form.schedule ?? '' },
  };
  if (form.fileNameTemplate) body.fileNameTemplate = form.fileNameTemplate;
  if (form.manifestTemplate) body.manifestTemplate = form.manifestTemplate;
  return body;
}

const checkbox = (label: string, name: string, form: Form) =>
  html`<label><input type="checkbox" name=${name} checked=${form[name] === 'on'} /> ${label}</label>`;
const text = (label: string, name: string, form: Form, attrs: { required?: boolean; help?: string; placeholder?: string } = {}) =>
  html`<p><label>${label} <input name=${name} value=${form[name] ?? ''} required=${attrs.required} placeholder=${attrs.placeholder}
    aria-describedby=${attrs.help ? `${name}-help` : undefined} /></label>${attrs.help ? html` <small id=${`${name}-help`}>${attrs.help}</small>` : null}</p>`;

function recordingExportForm(session: Session, action: string, form: Form, choices: { campaigns: CampaignOption[]; destinations: Option[] }, editing: boolean): VNode {
  return html`<form method="post" action=${action}><fieldset><legend>${editing ? 'Edit recording export job' : 'New recording export job'}</legend>
    ${csrfField(session)}
    ${text('Name', 'name', form, { required: true })}
    <p>${checkbox('Enabled', 'enabled', form)}</p>
    ${editing ? null : html`<p>${campaignSelect(choices.campaigns, form.campaignId)}</p>`}
    <p>${selectField('Content type', 'contentType', EXPORT_CONTENT_TYPES.map((t) => [t, t]), form.contentType)}</p>
    <p>${checkbox('Voice signature only', 'voiceSignatureOnly', form)}</p>
    ${text('Dispositions', 'dispositions', form, { help: '"all", or dispositions separated by commas' })}
    ${text('Completed after', 'completedAfter', form, { required: !editing, placeholder: '2025-01-01T00:00:00Z', help: 'ISO date-time; changing it re-selects every recording this job has not exported' })}
    <p>${selectField('Destination', 'destinationId', choices.destinations.map((d) => [d.id, d.name]), form.destinationId, { required: true })}</p>
    ${text('File name template', 'fileNameTemplate', form, { help: 'empty: the default' })}
    ${text('Manifest template', 'manifestTemplate', form, { help: 'empty: the default' })}
    <p>${checkbox('Use for playback', 'useForPlayback', form)}</p>
    <p>${selectField('Schedule kind', 'scheduleKind', [['every', 'every (a duration like 1h)'], ['cron', 'crontab (GMT)']], form.scheduleKind)}</p>
    ${text('Schedule', 'schedule', form, { required: true, placeholder: '1h' })}
    <button type="submit">${editing ? 'Save recording export job' : 'Create recording export job'}</button>
  </fieldset></form>`;
}

async function choicesOf(ctx: ConsoleContext) {
  const [campaigns, destinations] = await Promise.all([campaignOptions(ctx.api), ctx.api.get<{ items: Option[] }>('/destinations', { limit: '500' })]);
  return { campaigns, destinations: destinations.items };
}

/** Runs `save`; a problem of the API is shown above the form again (with the values as sent), with its status. */
async function saveOrShow(ctx: ConsoleContext, save: () => Promise<void>, again: () => Promise<{ title: string; form: VNode }>): Promise<void> {
  try {
    await save();
  } catch (err) {
    if (!(err instanceof ApiError) || ![400, 409, 422].includes(err.problem.status)) throw err;
    const { title, form } = await again();
    send(ctx.res, err.problem.status, page(title, ctx.session, html`${problemView(err)}${form}`, '/console/jobs'));
  }
}

/** A viewer or operator gets the page without a form (the API would refuse the save anyway: 403). */
const ADMIN_ONLY = html`<p>Only an administrator creates or edits job definitions.</p>`;

export function register(router: Router, deps: AppDeps): void {
  router.get(`/${BASE}/new`, handle(deps, async (ctx) => {
    if (!can(ctx.session, 'admin')) return send(ctx.res, 200, page('New recording export job', ctx.session, ADMIN_ONLY, '/console/jobs'));
    const form = recordingExportForm(ctx.session, `/console/${BASE}`, { enabled: 'on', dispositions: 'all', scheduleKind: 'every' }, await choicesOf(ctx), false);
    send(ctx.res, 200, page('New recording export job', ctx.session, form, '/console/jobs'));
  }));
  router.post(`/${BASE}`, handle(deps, async (ctx) => {
    const form = ctx.req.body as Form;
    await saveOrShow(ctx, async () => {
      await ctx.api.send('POST', `/${BASE}`, bodyOf(form));
      ctx.res.redirect(303, '/console/jobs?notice=Recording+export+job+created');
    }, async () => ({ title: 'New recording export job', form: recordingExportForm(ctx.session, `/console/${BASE}`, form, await choicesOf(ctx), false) }));
  }));
  router.get(`/${BASE}/:id/edit`, handle(deps, async (ctx) => {
    const id = encodeURIComponent(ctx.req.params.id as string);
    const [job, choices] = await Promise.all([ctx.api.get<RecordingExportJob>(`/${BASE}/${id}`), choicesOf(ctx)]);
    send(ctx.res, 200, page(`Recording export job: ${job.name}`, ctx.session,
      can(ctx.session, 'admin') ? recordingExportForm(ctx.session, `/console/${BASE}/${id}/edit`, formOf(job), choices, true) : ADMIN_ONLY, '/console/jobs'));
  }));
  router.post(`/${BASE}/:id/edit`, handle(deps, async (ctx) => {
    const id = encodeURIComponent(ctx.req.params.id as string);
    const form = ctx.req.body as Form;
    const job = await ctx.api.get<RecordingExportJob>(`/${BASE}/${id}`);
    // Only the fields that changed are sent (sending completedAfter again would reset the job's watermark).
    const current = bodyOf(formOf(job)), sent = bodyOf(form);
    const changes = Object.fromEntries(Object.entries(sent).filter(([key, value]) => key !== 'campaignId' && JSON.stringify(value) !== JSON.stringify(current[key])));
    await saveOrShow(ctx, async () => {
      if (Object.keys(changes).length) await ctx.api.send('PATCH', `/${BASE}/${id}`, changes);
      ctx.res.redirect(303, '/console/jobs?notice=Recording+export+job+saved');
    }, async () => ({ title: `Recording export job: ${job.name}`, form: recordingExportForm(ctx.session, `/console/${BASE}/${id}/edit`, form, await choicesOf(ctx), true) }));
  }));
}
