// Task log (seed 000 "Task Log"): finished runs, filtered, sorted by a column and paged, each linked to its
// run page and to Temporal UI. The filter form is a GET: the page's URL is the query.
import type { Router } from 'express';
import type { AppDeps } from '../../app.js';
import { handle } from '../index.js';
import { html, page, runHref, selectField, send, when } from '../html.js';

interface Entry {
  startedAt: string | null; endedAt: string | null; objectName: string | null; taskName: string; duration: string | null; sizeKb: number;
  result: string; error: string | null; type: string; step: string | null; runId: string; temporalUiUrl: string; actingUser: string | null;
}

const FILTERS = ['type', 'result', 'from', 'to', 'objectName', 'taskName', 'sort'] as const;
const COLUMNS: [string, string | null][] = [
  ['Started', 'startedAt'], ['Ended', 'endedAt'], ['Object', 'objectName'], ['Task', 'taskName'], ['Duration', 'duration'],
  ['Size (KB)', 'sizeKb'], ['Result', 'result'], ['Error', null], ['Type', 'type'], ['Step', null], ['Links', null],
];

/** datetime-local inputs give "2025-03-01T10:00" without an offset; the console's times are UTC. */
const utc = (value: string | undefined) => (value && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value) ? `${value}:00Z` : value || undefined);

export function register(router: Router, deps: AppDeps): void {
  router.get('/task-log', handle(deps, async (ctx) => {
    const q = Object.fromEntries(FILTERS.map((f) => [f, typeof ctx.req.query[f] === 'string' ? (ctx.req.query[f] as string) : ''])) as Record<(typeof FILTERS)[number], string>;
    const cursor = typeof ctx.req.query.cursor === 'string' ? ctx.req.query.cursor : undefined;
    const { items, nextCursor } = await ctx.api.get<{ items: Entry[]; nextCursor: string | null }>('/task-log', {
      ...q, from: utc(q.from), to: utc(q.to), sort: q.sort || undefined, limit: '25', cursor,
    });
    const link = (changes: Record<string, string | undefined>) => {
      const params = new URLSearchParams(Object.entries({ ...q, ...changes }).filter((e): e is [string, string] => !!e[1]));
      return `/console/task-log?${params}`;
    };
    const sort = q.sort || '-startedAt';
    const header = ([label, key]: [string, string | null]) => {
      if (!key) return html`<th>${label}</th>`;
      const active = sort.replace(/^-/, '') === key;
      const next = active && !sort.startsWith('-') ? `-${key}` : key;
      return html`<th aria-sort=${active ? (sort.startsWith('-') ? 'descending' : 'ascending') : undefined}><a href=${link({ sort: next })}>${label}</a></th>`;
    };
    send(ctx.res, 200, page('Task log', ctx.session, html`
      <form method="get" action="/console/task-log">
        <fieldset><legend>Filter</legend>
          <label>Type <input name="type" value=${q.type} /></label>
          ${selectField('Result', 'result', ['', 'completed', 'failed', 'cancelled'].map((r) => [r, r || 'any']), q.result)}
          <label>Started from <input type="datetime-local" name="from" value=${q.from} /></label>
          <label>Started before <input type="datetime-local" name="to" value=${q.to} /></label>
          <label>Object <input name="objectName" value=${q.objectName} /></label>
          <label>Task <input name="taskName" value=${q.taskName} /></label>
          <input type="hidden" name="sort" value=${q.sort} />
          <button type="submit">Filter</button>
        </fieldset>
      </form>
      <table>
        <thead><tr>${COLUMNS.map(header)}</tr></thead>
        <tbody>${items.length ? items.map((e) => html`<tr>
          <td>${when(e.startedAt)}</td><td>${when(e.endedAt)}</td><td>${e.objectName}</td><td>${e.taskName}</td><td>${e.duration}</td>
          <td>${e.sizeKb}</td><td>${e.result}</td><td>${e.error}</td><td>${e.type}</td><td>${e.step}</td>
          <td><a href=${runHref(e.runId)}>Run</a> · <a href=${e.temporalUiUrl} rel="noopener">Temporal UI</a></td>
        </tr>`) : html`<tr><td colspan="11">No finished runs match.</td></tr>`}</tbody>
      </table>
      ${nextCursor ? html`<p><a href=${`${link({})}&cursor=${encodeURIComponent(nextCursor)}`}>Next page</a></p>` : null}
    `, '/console/task-log'));
  }));
}
