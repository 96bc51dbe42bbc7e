// The console's markup: htm templates over preact vnodes, rendered to a string on the server. Every
// interpolated value is text (or an attribute value) and is escaped by preact-render-to-string; no page
// builds HTML by concatenation, so a campaign named `<img src=x onerror=...>` shows as those characters.
import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { createRequire } from 'node:module';
import type { Session } from './sessions.js';
import { roleAtLeast, type Role } from '../auth.js';

// Loaded without their type declarations: preact's pull the DOM library into the whole program, which
// changes the global fetch types every other file compiles against. These three signatures are all we use.
const load = createRequire(import.meta.url);
/** A preact element (opaque here: only rendered). */
export interface VNode { readonly type: unknown; readonly props: unknown }
const { h } = load('preact') as { h(type: unknown, props: unknown, ...children: unknown[]): VNode };
const { render } = load('preact-render-to-string') as { render(node: VNode): string };
const htm = load('htm') as { bind(factory: typeof h): (strings: TemplateStringsArray, ...values: unknown[]) => VNode };

export const html = htm.bind(h);

const NAV: [string, string][] = [
  ['Tasks', '/console/tasks'], ['Task log', '/console/task-log'], ['Processes', '/console/processes'], ['Campaigns', '/console/campaigns'],
  ['Blacklist', '/console/blacklist'], ['Jobs', '/console/jobs'],
  ['Reports', '/console/reports'], ['Erasure', '/console/erasure'], ['Audit log', '/console/audit-log'],
  ['Destinations', '/console/destinations'], ['API keys', '/console/api-keys'],
];

// htmx options for a strict CSP: no eval, no inline <style> for its indicators, no <script> from responses.
const HTMX_CONFIG = JSON.stringify({ includeIndicatorStyles: false, allowEval: false, allowScriptTags: false, historyEnabled: false });

function head(title: string): VNode {
  return html`<head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="htmx-config" content=${HTMX_CONFIG} />
    <title>${title} · cc-jobs console</title>
    <link rel="stylesheet" href="/console/assets/console.css" />
    <script src="/console/assets/htmx.min.js" defer></script>
  </head>`;
}

export function page(title: string, session: Session | undefined, body: VNode, current?: string): string {
  const nav = session && html`<header>
    <nav aria-label="Console">
      <ul>${NAV.map(([name, href]) => html`<li><a href=${href} aria-current=${href === current ? 'page' : undefined}>${name}</a></li>`)}</ul>
    </nav>
    <form method="post" action="/console/sign-out" class="who">
      <span>${session.name} (${session.role}${session.erase ? ', erase' : ''})</span>
      ${csrfField(session)}
      <button type="submit">Sign out</button>
    </form>
  </header>`;
  return '<!doctype html>' + render(html`<html lang="en">${head(title)}<body>${nav}<main><h1>${title}</h1>${body}</main></body></html>`);
}

export function fragment(node: VNode): string {
  return render(node);
}

export function send(res: Response, status: number, markup: string): void {
  res.status(status).type('html').send(markup);
}

export function csrfField(session: Session): VNode {
  return html`<input type="hidden" name="_csrf" value=${session.csrf} />`;
}

/** A form of one button posting to a console action (CSRF field included). */
export function actionButton(session: Session, action: string, label: string, options: { id?: string; hidden?: Record<string, string>; describedBy?: string } = {}): VNode {
  return html`<form method="post" action=${action} class="inline">
    ${csrfField(session)}
    ${Object.entries(options.hidden ?? {}).map(([name, value]) => html`<input type="hidden" name=${name} value=${value} />`)}
    <button type="submit" id=${options.id} aria-describedby=${options.describedBy}>${label}</button>
  </form>`;
}

export const can = (session: Session, role: Role) => roleAtLeast(session.role, role);

/** A stable element id for a value (htmx keeps focus on an element whose id survives a refresh). */
export const idFor = (prefix: string, value: string) => `${prefix}-${createHash('sha1').update(value).digest('hex').slice(0, 12)}`;

export function when(value: string | null | undefined): string {
  if (!value) return '';
  return new Date(value).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

export function progressBar(progress: { done: number; total: number | null; percent: number | null } | null | undefined, label: string): VNode | string {
  if (!progress) return '';
  const text = progress.percent !== null ? `${progress.percent}%` : `${progress.done}${progress.total !== null ? ` / ${progress.total}` : ''}`;
  return html`<progress max="100" value=${progress.percent ?? undefined} aria-label=${label}>${text}</progress> <span>${text}</span>`;
}

export const runHref = (runId: string) => `/console/runs/${encodeURIComponent(runId)}`;

export function notice(text: string | undefined): VNode | null {
  return text ? html`<p role="status" class="notice">${text}</p>` : null;
}

/** A labelled select. The label points at it (for=) rather than wrapping it, so the field's accessible name
 *  is the label alone, not the label plus the chosen option's text. */
export function selectField(label: string, name: string, options: [value: string, text: string][], selected?: string, attrs: { required?: boolean } = {}): VNode {
  const id = `field-${name}`;
  return html`<span class="field"><label for=${id}>${label}</label> <select id=${id} name=${name} required=${attrs.required}>
    ${options.map(([value, text]) => html`<option value=${value} selected=${value === selected}>${text}</option>`)}
  </select></span>`;
}
