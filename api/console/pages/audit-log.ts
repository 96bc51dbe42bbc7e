// The audit log (admins): append-only, hash-chained entries, and Verify, which checks the whole chain.
import type { Router } from 'express';
import type { AppDeps } from '../../app.js';
import { handle } from '../index.js';
import { html, page, runHref, send, when } from '../html.js';

interface Entry {
  seq: number; at: string; actor: string; action: string; reason: string | null; scope: Record<string, unknown>;
  counts: Record<string, unknown>; runId: string | null; hash: string; prevHash: string;
}
type Verdict = { ok: true; entries: number; headHash: string } | { ok: false; entries: number; problem: string; firstBadSeq: number | null };

const FILTERS = ['action', 'runId'] as const;

export function register(router: Router, deps: AppDeps): void {
  router.get('/audit-log', handle(deps, async (ctx) => {
    const q = Object.fromEntries(FILTERS.map((f) => [f, typeof ctx.req.query[f] === 'string' ? (ctx.req.query[f] as string) : ''])) as Record<(typeof FILTERS)[number], string>;
    const cursor = typeof ctx.req.query.cursor === 'string' ? ctx.req.query.cursor : undefined;
    const [list, verdict] = await Promise.all([
      ctx.api.get<{ items: Entry[]; nextCursor: string | null }>('/audit-log', { ...q, cursor, limit: '100' }),
      ctx.req.query.verify ? ctx.api.get<Verdict>('/audit-log/verify') : undefined,
    ]);
    const next = new URLSearchParams(Object.entries(q).filter(([, v]) => v));
    if (list.nextCursor) next.set('cursor', list.nextCursor);
    send(ctx.res, 200, page('Audit log', ctx.session, html`
      <form method="get" action="/console/audit-log">
        <input type="hidden" name="verify" value="1" />
        <button type="submit">Verify</button>
      </form>
      ${verdict ? html`<p role="status" class=${verdict.ok ? 'notice' : 'problem'}>${verdict.ok
        ? `Chain verified: ${verdict.entries} entries, head ${verdict.headHash.slice(0, 16)}…`
        : `Chain broken${verdict.firstBadSeq === null ? '' : ` at entry ${verdict.firstBadSeq}`}: ${verdict.problem}`}</p>` : null}
      <form method="get" action="/console/audit-log"><fieldset><legend>Filter</legend>
        <label>Action <input name="action" value=${q.action} placeholder="erasure.completed" /></label>
        <label>Run <input name="runId" value=${q.runId} /></label>
        <button type="submit">Filter</button>
      </fieldset></form>
      <table>
        <thead><tr><th>#</th><th>At</th><th>Actor</th><th>Action</th><th>Reason</th><th>Scope</th><th>Counts</th><th>Run</th><th>Hash</th></tr></thead>
        <tbody>${list.items.length ? list.items.map((e) => html`<tr>
          <td>${e.seq}</td><td>${when(e.at)}</td><td>${e.actor}</td><td>${e.action}</td><td>${e.reason}</td>
          <td><code>${JSON.stringify(e.scope)}</code></td><td><code>${JSON.stringify(e.counts)}</code></td>
          <td>${e.runId ? html`<a href=${runHref(e.runId)}>Run</a>` : ''}</td><td><code title=${e.hash}>${e.hash.slice(0, 12)}…</code></td>
        </tr>`) : html`<tr><td colspan="9">No entries.</td></tr>`}</tbody>
      </table>
      ${list.nextCursor ? html`<p><a href=${`/console/audit-log?${next}`}>Next page</a></p>` : null}`, '/console/audit-log'));
  }));
}
