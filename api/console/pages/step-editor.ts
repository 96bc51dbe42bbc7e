// The visual step editor of a job made of steps (seed 002's Jobs tool): each step a card with its name, type,
// settings, "Next Success Step" and "Next Failure Step". Add, remove and reorder post the form to the console,
// which renders it again with the change (htmx swaps the form in place; nothing is saved until "Save"). The
// links are sent by position (`#2`) and turned into step names on save, so renaming a step keeps its links.
// Whether the graph is valid (unknown links, cycles, unreachable steps) is the API's to say, on save.
import { stepSchema } from '../../../lib/jobs/definition.js';
import { ApiError } from '../api-client.js';
import { html, selectField, type VNode } from '../html.js';

export interface ApiStep { name: string; kind: string; onSuccess?: string; onFailure?: string; [param: string]: unknown }
/** A step as the form holds it: links are '' (the default), 'end', 'fail', '#<position>' or '=<a name no step has>'. */
export interface StepRow { name: string; kind: string; settings: string; next: string; fail: string }

/** The step types the API takes (its schema's own list, not a copy). */
export const STEP_KINDS: string[] = (stepSchema.options as unknown as { shape: { kind: { value: string } } }[]).map((o) => o.shape.kind.value);

export function rowsOfSteps(steps: ApiStep[]): StepRow[] {
  const link = (target: string | undefined) => {
    if (target === undefined) return '';
    const at = steps.findIndex((s) => s.name === target);
    if (at >= 0) return `#${at}`;
    return target === 'end' || target === 'fail' ? target : `=${target}`;
  };
  return steps.map(({ name, kind, onSuccess, onFailure, ...settings }) => ({
    name, kind, settings: JSON.stringify(settings), next: link(onSuccess), fail: link(onFailure),
  }));
}

export function rowsOfForm(body: Record<string, unknown>): StepRow[] {
  const count = Math.min(Number(body.stepCount) || 0, 200);
  const field = (i: number, name: string) => String(body[`s${i}_${name}`] ?? '');
  return Array.from({ length: count }, (_, i) => ({
    name: field(i, 'name'), kind: field(i, 'kind'), settings: field(i, 'settings'), next: field(i, 'next'), fail: field(i, 'fail'),
  }));
}

/** The steps the API is sent. A settings text that is not a JSON object is the console's one own check (it
 *  cannot send it otherwise): a 400 naming the step's settings, like the API names a field. */
export function stepsOfRows(rows: StepRow[]): ApiStep[] {
  const target = (link: string): string | undefined => {
    if (link === '') return undefined;
    if (link.startsWith('#')) return rows[Number(link.slice(1))]?.name ?? link;
    return link.startsWith('=') ? link.slice(1) : link;
  };
  return rows.map((row, i) => {
    let settings: unknown;
    try {
      settings = row.settings.trim() === '' ? {} : JSON.parse(row.settings);
    } catch (err) {
      settings = err;
    }
    if (!settings || typeof settings !== 'object' || Array.isArray(settings) || settings instanceof Error) {
      throw new ApiError({
        status: 400, title: 'Bad Request', detail: `The settings of step ${i + 1} ("${row.name}") are not a JSON object.`,
        errors: [{ path: `steps.${i}.settings`, message: settings instanceof Error ? settings.message : 'expected a JSON object, e.g. {"reportId": "4"}' }],
      });
    }
    const onSuccess = target(row.next), onFailure = target(row.fail);
    return { name: row.name, kind: row.kind, ...settings, ...(onSuccess === undefined ? {} : { onSuccess }), ...(onFailure === undefined ? {} : { onFailure }) };
  });
}

/** Applies an editing operation ("add", "remove:2", "up:2", "down:2"); links follow the steps they point at. */
export function applyOp(rows: StepRow[], op: string): StepRow[] {
  const [verb, at] = [op.split(':')[0], Number(op.split(':')[1])];
  if (verb === 'add') return [...rows, { name: '', kind: STEP_KINDS[0], settings: '{}', next: '', fail: '' }];
  if (!Number.isInteger(at) || at < 0 || at >= rows.length) return rows;
  // order[newPosition] = oldPosition
  const order = rows.map((_, i) => i);
  if (verb === 'remove') order.splice(at, 1);
  else if (verb === 'up' && at > 0) [order[at - 1], order[at]] = [order[at], order[at - 1]];
  else if (verb === 'down' && at < rows.length - 1) [order[at + 1], order[at]] = [order[at], order[at + 1]];
  else return rows;
  const moved = (link: string) => {
    if (!link.startsWith('#')) return link;
    const now = order.indexOf(Number(link.slice(1)));
    return now < 0 ? '' : `#${now}`;
  };
  return order.map((old) => ({ ...rows[old], next: moved(rows[old].next), fail: moved(rows[old].fail) }));
}

function linkOptions(rows: StepRow[], self: number, link: string, defaultText: string, ends: [string, string][]): [string, string][] {
  const options: [string, string][] = [['', defaultText]];
  rows.forEach((row, j) => { if (j !== self) options.push([`#${j}`, `step ${j + 1}: ${row.name || '(unnamed)'}`]); });
  options.push(...ends);
  if (link.startsWith('=')) options.push([link, link.slice(1)]);
  return options;
}

/** The step cards of a job form; `action` is where add/remove/reorder post (the form's own action). */
export function stepEditor(rows: StepRow[], action: string): VNode {
  const op = (label: string, value: string, name: string) =>
    html`<button type="button" hx-post=${action} hx-vals=${JSON.stringify({ op: value })} hx-target="#job-form" hx-select="#job-form" hx-swap="outerHTML"
      aria-label=${name ? `${label} (${name})` : undefined}>${label}</button>`;
  return html`<div id="step-editor">
    <input type="hidden" name="stepCount" value=${String(rows.length)} />
    <ol class="steps">${rows.map((row, i) => {
      const title = `Step ${i + 1}`;
      return html`<li><fieldset class="step"><legend>${title}${row.name ? `: ${row.name}` : ''}</legend>
        <p><label>Step name <input name=${`s${i}_name`} value=${row.name} required maxlength="100" /></label>
          ${selectField('Type', `s${i}_kind`, STEP_KINDS.map((k) => [k, k]), row.kind)}</p>
        <p><label>Settings <textarea name=${`s${i}_settings`} rows="2" cols="60" aria-describedby="settings-help">${row.settings}</textarea></label></p>
        <p>${selectField('Next Success Step', `s${i}_next`, linkOptions(rows, i, row.next, i + 1 < rows.length ? 'the next step (default)' : 'end (default)',
          [['end', 'end: the job completes'], ['fail', 'fail: the job fails']]), row.next)}
          ${selectField('Next Failure Step', `s${i}_fail`, linkOptions(rows, i, row.fail, 'fail (default)', [['end', 'end: the job completes']]), row.fail)}</p>
        <p>${op('Move up', `up:${i}`, title)} ${op('Move down', `down:${i}`, title)} ${op('Remove', `remove:${i}`, title)}</p>
      </fieldset></li>`;
    })}</ol>
    <p>${op('Add step', 'add', '')} <small id="settings-help">Settings: the step's parameters as a JSON object, e.g. <code>{"reportId": "4"}</code>
      for a report, <code>{"to": ["ops@example.com"]}</code> for an e-mail (API.md "Jobs made of steps").</small></p>
  </div>`;
}
