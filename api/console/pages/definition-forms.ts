// Create and edit forms of the job definitions listed on the Jobs page (recording export, results export and
// Salesforce export jobs). Each form posts to the console, which sends the API's own route (POST to create, PATCH with the
// changed fields to edit) with the session's key; the API validates, and its problem (400 naming the field, 409, 422) is shown
// above the form with the values as sent, nothing saved. No rule of the API is repeated here.
import type { Router } from 'express';
import { EXPORT_CONTENT_TYPES } from '../../../lib/export/file-names.js';
import type { AppDeps } from '../../app.js';
import { ApiError } from '../api-client.js';
import { campaignOptions, campaignSelect, type CampaignOption } from '../campaigns.js';
import { handle, problemView, type ConsoleContext } from '../index.js';
import { can, csrfField, html, page, selectField, send, type VNode } from '../html.js';
import type { Session } from '../sessions.js';
import { RESULT_FORMATS } from '../../../contracts/results.js';

type Form = Record<string, string | undefined>;
interface Option { id: string; name: string }
interface Choices { campaigns: CampaignOption[]; destinations: Option[]; accounts: Option[] }
interface RecordingExportJob {
  id: string; name: string; enabled: boolean; campaignId: string; contentType: string; voiceSignatureOnly: boolean;
  dispositions: 'all' | string[]; completedAfter: string; destinationId: string; fileNameTemplate: string; manifestTemplate: string;
  useForPlayback: boolean; schedule: { every?: string; cron?: string } | null;
}
interface ResultsExportJob {
  id: string; name: string; enabled: boolean; campaignId: string; format: string; listIds: string[]; dispositions: 'all' | string[];
  schedule: { startAt: string; every: string }; destinationId: string; path: string; timezone: string | null;
}

interface SalesforceExportJob {
  id: string; name: string; enabled: boolean; campaignId: string; format: string; listIds?: string[]; dispositions: 'all' | string[];
  exportCreatedAfter: string; schedule: { every: string; startAt?: string }; accountId: string; object: string; fieldMap: Record<string, string>; externalIdField?: string;
}

/** One kind of definition: its API route, its name in the console, and the translation between its JSON and the form.
 *  `clearable`: fields an edit sends as null when emptied (the API reads null as "clear"). */
interface DefinitionKind<Job> {
  base: string; noun: string; clearable?: string[];
  formOf(job: Job): Form;
  bodyOf(form: Form): Record<string, unknown>;
  fields(form: Form, choices: Choices, editing: boolean): VNode;
}

const checkbox = (label: string, name: string, form: Form) =>
  html`<label><input type="checkbox" name=${name} checked=${form[name] === 'on'} /> ${label}</label>`;
const text = (label: string, name: string, form: Form, attrs: { required?: boolean; help?: string; placeholder?: string } = {}) =>
  html`<p><label>${label} <input name=${name} value=${form[name] ?? ''} required=${attrs.required} placeholder=${attrs.placeholder}
    aria-describedby=${attrs.help ? `${name}-help` : undefined} /></label>${attrs.help ? html` <small id=${`${name}-help`}>${attrs.help}</small>` : null}</p>`;
/** A list field's text as sent: "all" (or empty) for all, else the items separated by commas. */
const listOrAll = (value: string | undefined) => {
  const trimmed = (value ?? '').trim();
  return trimmed === '' || trimmed === 'all' ? 'all' : trimmed.split(',').map((d) => d.trim());
};
const list = (value: string | undefined) => (value ?? '').split(',').map((d) => d.trim()).filter(Boolean);
const destinationSelect = (choices: Choices, form: Form) =>
  html`<p>${selectField('Destination', 'destinationId', choices.destinations.map((d) => [d.id, d.name]), form.destinationId, { required: true })}</p>`;
const commonFields = (form: Form, choices: Choices, editing: boolean) => html`
  ${text('Name', 'name', form, { required: true })}
  <p>${checkbox('Enabled', 'enabled', form)}</p>
  ${editing ? null : html`<p>${campaignSelect(choices.campaigns, form.campaignId)}</p>`}`;

const recordingExport: DefinitionKind<RecordingExportJob> = {
  base: 'recording-export-jobs', noun: 'recording export job',
  formOf: (job) => ({
    name: job.name, enabled: job.enabled ? 'on' : undefined, campaignId: job.campaignId, contentType: job.contentType,
    voiceSignatureOnly: job.voiceSignatureOnly ? 'on' : undefined, dispositions: job.dispositions === 'all' ? 'all' : job.dispositions.join(', '),
    completedAfter: job.completedAfter, destinationId: job.destinationId, fileNameTemplate: job.fileNameTemplate, manifestTemplate: job.manifestTemplate,
    useForPlayback: job.useForPlayback ? 'on' : undefined,
    scheduleKind: job.schedule?.cron !== undefined ? 'cron' : 'every', schedule: job.schedule?.cron ?? job.schedule?.every ?? '',
  }),
  bodyOf: (form) => ({
    name: form.name ?? '', enabled: form.enabled === 'on', campaignId: form.campaignId, contentType: form.contentType,
    voiceSignatureOnly: form.voiceSignatureOnly === 'on', useForPlayback: form.useForPlayback === 'on', dispositions: listOrAll(form.dispositions),
    completedAfter: form.completedAfter ?? '', destinationId: form.destinationId,
    schedule: { [form.scheduleKind === 'cron' ? 'cron' : 'every']: form.schedule ?? '' },
    // empty templates: the API's defaults
    ...(form.fileNameTemplate ? { fileNameTemplate: form.fileNameTemplate } : {}),
    ...(form.manifestTemplate ? { manifestTemplate: form.manifestTemplate } : {}),
  }),
  fields: (form, choices, editing) => html`
    ${commonFields(form, choices, editing)}
    <p>${selectField('Content type', 'contentType', EXPORT_CONTENT_TYPES.map((t) => [t, t]), form.contentType)}</p>
    <p>${checkbox('Voice signature only', 'voiceSignatureOnly', form)}</p>
    ${text('Dispositions', 'dispositions', form, { help: '"all", or dispositions separated by commas' })}
    ${text('Completed after', 'completedAfter', form, { required: !editing, placeholder: '2025-01-01T00:00:00Z', help: 'ISO date-time; changing it re-selects every recording this job has not exported' })}
    ${destinationSelect(choices, form)}
    ${text('File name template', 'fileNameTemplate', form, { help: 'empty: the default' })}
    ${text('Manifest template', 'manifestTemplate', form, { help: 'empty: the default' })}
    <p>${checkbox('Use for playback', 'useForPlayback', form)}</p>
    <p>${selectField('Schedule kind', 'scheduleKind', [['every', 'every (a duration like 1h)'], ['cron', 'crontab (GMT)']], form.scheduleKind)}</p>
    ${text('Schedule', 'schedule', form, { required: true, placeholder: '1h' })}`,
};

const resultsExport: DefinitionKind<ResultsExportJob> = {
  base: 'results-export-jobs', noun: 'results export job',
  formOf: (job) => ({
    name: job.name, enabled: job.enabled ? 'on' : undefined, campaignId: job.campaignId, format: job.format, listIds: job.listIds.join(', '),
    dispositions: job.dispositions === 'all' ? 'all' : job.dispositions.join(', '), startAt: job.schedule.startAt, every: job.schedule.every,
    destinationId: job.destinationId, path: job.path, timezone: job.timezone ?? '',
  }),
  bodyOf: (form) => ({
    name: form.name ?? '', enabled: form.enabled === 'on', campaignId: form.campaignId, format: form.format, listIds: list(form.listIds),
    dispositions: listOrAll(form.dispositions), schedule: { startAt: form.startAt ?? '', every: form.every ?? '' },
    destinationId: form.destinationId, path: form.path ?? '',
    ...(form.timezone ? { timezone: form.timezone } : {}), // empty: the campaign's
  }),
  fields: (form, choices, editing) => html`
    ${commonFields(form, choices, editing)}
    <p>${selectField('Format', 'format', RESULT_FORMATS.map((f) => [f, f]), form.format)}</p>
    ${text('List ids', 'listIds', form, { help: 'calling list ids separated by commas; empty: every list' })}
    ${text('Dispositions', 'dispositions', form, { help: '"all", or dispositions separated by commas' })}
    ${text('First run', 'startAt', form, { required: true, placeholder: '2025-03-01T10:00:00Z', help: 'ISO date-time; then every …' })}
    ${text('Every', 'every', form, { required: true, placeholder: '1h' })}
    ${destinationSelect(choices, form)}
    ${text('Path', 'path', form, { required: true, placeholder: 'results/spring.csv' })}
    ${text('Time zone', 'timezone', form, { placeholder: 'America/Los_Angeles', help: 'empty: the campaign\'s' })}`,
};

/** The field map's JSON, or a 400 naming the field (the console's only own check: the text must be JSON to send it). */
function fieldMapOf(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch (err) {
    throw new ApiError({ status: 400, title: 'Bad Request', detail: 'The fieldMap field is not JSON.', errors: [{ path: 'fieldMap', message: (err as Error).message }] });
  }
}

const salesforceExport: DefinitionKind<SalesforceExportJob> = {
  base: 'salesforce-export-jobs', noun: 'Salesforce export job', clearable: ['listIds', 'externalIdField'],
  formOf: (job) => ({
    name: job.name, enabled: job.enabled ? 'on' : undefined, campaignId: job.campaignId, format: job.format, listIds: (job.listIds ?? []).join(', '),
    dispositions: job.dispositions === 'all' ? 'all' : job.dispositions.join(', '), exportCreatedAfter: job.exportCreatedAfter,
    startAt: job.schedule.startAt ?? '', every: job.schedule.every, accountId: job.accountId, object: job.object,
    fieldMap: JSON.stringify(job.fieldMap, null, 2), externalIdField: job.externalIdField ?? '',
  }),
  bodyOf: (form) => ({
    name: form.name ?? '', enabled: form.enabled === 'on', campaignId: form.campaignId, format: form.format,
    ...(list(form.listIds).length ? { listIds: list(form.listIds) } : {}), dispositions: listOrAll(form.dispositions),
    exportCreatedAfter: form.exportCreatedAfter ?? '', schedule: { every: form.every ?? '', ...(form.startAt?.trim() ? { startAt: form.startAt.trim() } : {}) },
    accountId: form.accountId, object: form.object ?? '', fieldMap: fieldMapOf(form.fieldMap),
    ...(form.externalIdField?.trim() ? { externalIdField: form.externalIdField.trim() } : {}),
  }),
  fields: (form, choices, editing) => html`
    ${commonFields(form, choices, editing)}
    <p>${selectField('Format', 'format', [['simple', 'simple'], ['detailed', 'detailed']], form.format)}</p>
    ${text('List ids', 'listIds', form, { help: 'calling list ids separated by commas; empty: every list' })}
    ${text('Dispositions', 'dispositions', form, { help: '"all", or dispositions separated by commas' })}
    ${text('Export created after', 'exportCreatedAfter', form, { required: !editing, placeholder: '2025-03-01T00:00:00Z', help: 'ISO date-time; changing it re-sends every record completed after it' })}
    ${text('First run', 'startAt', form, { placeholder: '2025-03-01T10:00:00Z', help: 'optional ISO date-time; nothing is sent before it' })}
    ${text('Every', 'every', form, { required: true, placeholder: '15m' })}
    <p>${selectField('Salesforce account', 'accountId', choices.accounts.map((a) => [a.id, a.name]), form.accountId, { required: true })}</p>
    ${text('Object', 'object', form, { required: true, placeholder: 'Call_Result__c' })}
    <p><label>Field map <textarea name="fieldMap" rows="6" cols="60" aria-describedby="fieldMap-help">${form.fieldMap ?? '{\n  "Name": "name"\n}'}</textarea></label>
      <small id="fieldMap-help">JSON: { "Salesforce field": "result column" }</small></p>
    ${text('External ID field', 'externalIdField', form, { help: 'results are upserted on it; empty: created' })}`,
};

function definitionForm<Job>(kind: DefinitionKind<Job>, session: Session, action: string, form: Form, choices: Choices, editing: boolean): VNode {
  return html`<form method="post" action=${action}><fieldset><legend>${editing ? `Edit ${kind.noun}` : `New ${kind.noun}`}</legend>
    ${csrfField(session)}
    ${kind.fields(form, choices, editing)}
    <button type="submit">${editing ? `Save ${kind.noun}` : `Create ${kind.noun}`}</button>
  </fieldset></form>`;
}

async function choicesOf(ctx: ConsoleContext): Promise<Choices> {
  const [campaigns, destinations, accounts] = await Promise.all([
    campaignOptions(ctx.api), ctx.api.get<{ items: Option[] }>('/destinations', { limit: '500' }), ctx.api.get<{ items: Option[] }>('/salesforce-accounts', { limit: '500' }),
  ]);
  return { campaigns, destinations: destinations.items, accounts: accounts.items };
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
const titleCase = (noun: string) => noun[0].toUpperCase() + noun.slice(1);

function registerKind<Job extends { name: string }>(router: Router, deps: AppDeps, kind: DefinitionKind<Job>): void {
  const { base, noun } = kind, created = encodeURIComponent(`${titleCase(noun)} created`), saved = encodeURIComponent(`${titleCase(noun)} saved`);
  router.get(`/${base}/new`, handle(deps, async (ctx) => {
    const title = `New ${noun}`;
    if (!can(ctx.session, 'admin')) return send(ctx.res, 200, page(title, ctx.session, ADMIN_ONLY, '/console/jobs'));
    const form = definitionForm(kind, ctx.session, `/console/${base}`, { enabled: 'on', dispositions: 'all', scheduleKind: 'every' }, await choicesOf(ctx), false);
    send(ctx.res, 200, page(title, ctx.session, form, '/console/jobs'));
  }));
  router.post(`/${base}`, handle(deps, async (ctx) => {
    const form = ctx.req.body as Form;
    await saveOrShow(ctx, async () => {
      await ctx.api.send('POST', `/${base}`, kind.bodyOf(form));
      ctx.res.redirect(303, `/console/jobs?notice=${created}`);
    }, async () => ({ title: `New ${noun}`, form: definitionForm(kind, ctx.session, `/console/${base}`, form, await choicesOf(ctx), false) }));
  }));
  router.get(`/${base}/:id/edit`, handle(deps, async (ctx) => {
    const id = encodeURIComponent(ctx.req.params.id as string);
    const [job, choices] = await Promise.all([ctx.api.get<Job>(`/${base}/${id}`), choicesOf(ctx)]);
    send(ctx.res, 200, page(`${titleCase(noun)}: ${job.name}`, ctx.session,
      can(ctx.session, 'admin') ? definitionForm(kind, ctx.session, `/console/${base}/${id}/edit`, kind.formOf(job), choices, true) : ADMIN_ONLY, '/console/jobs'));
  }));
  router.post(`/${base}/:id/edit`, handle(deps, async (ctx) => {
    const id = encodeURIComponent(ctx.req.params.id as string);
    const form = ctx.req.body as Form;
    const job = await ctx.api.get<Job>(`/${base}/${id}`);
    await saveOrShow(ctx, async () => {
      // Only the fields that changed are sent (a watermark field — completedAfter, exportCreatedAfter — sent again would reset it).
      const current = kind.bodyOf(kind.formOf(job)), sent = kind.bodyOf(form);
      const changes: Record<string, unknown> = Object.fromEntries(Object.entries(sent).filter(([key, value]) => key !== 'campaignId' && JSON.stringify(value) !== JSON.stringify(current[key])));
      for (const key of kind.clearable ?? []) if (current[key] !== undefined && sent[key] === undefined) changes[key] = null;
      if (Object.keys(changes).length) await ctx.api.send('PATCH', `/${base}/${id}`, changes);
      ctx.res.redirect(303, `/console/jobs?notice=${saved}`);
    }, async () => ({ title: `${titleCase(noun)}: ${job.name}`, form: definitionForm(kind, ctx.session, `/console/${base}/${id}/edit`, form, await choicesOf(ctx), true) }));
  }));
}

export function register(router: Router, deps: AppDeps): void {
  registerKind(router, deps, recordingExport);
  registerKind(router, deps, resultsExport);
  registerKind(router, deps, salesforceExport);
}
