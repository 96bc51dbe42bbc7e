// Erasure (seed 000's erase dialog): scope and reason → Preview with counts → the seed's irrevocability
// warning → Confirm erasure, which starts the run; the run's page links to its audit entries.
import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import { ERASABLE_ITEMS } from '../../../contracts/erasure.js';
import type { AppDeps } from '../../app.js';
import { campaignOptions, campaignSelect } from '../campaigns.js';
import { handle } from '../index.js';
import { can, html, page, runHref, send, when } from '../html.js';
import { idempotency } from './tasks.js';

/** What the seed's warning names for each item: "[recording/transcript/message body]". */
const DESTROYS: Record<(typeof ERASABLE_ITEMS)[number], string> = {
  'voice-recording': 'recording', 'voice-transcript': 'transcript', 'chat-transcript': 'transcript',
  'email-message': 'message body', 'screen-recording': 'screen recording',
};

export function irrevocabilityWarning(items: string[]): string {
  const names = [...new Set(items.map((item) => DESTROYS[item as keyof typeof DESTROYS] ?? item))];
  return `The requested operation will irrevocably destroy the ${names.join('/')} of selected interaction(s).`;
}

interface Preview { previewId: string; counts: Record<string, number>; interactions: number; items: number; sizeBytes: number; expiresAt: string }

export function register(router: Router, deps: AppDeps): void {
  router.get('/erasure', handle(deps, async (ctx) => {
    if (!can(ctx.session, 'operator') || !ctx.session.erase) {
      return send(ctx.res, 200, page('Erasure', ctx.session, html`<p>Erasing needs the operator role and the erase privilege
        ("can edit and erase interaction records"); the key "${ctx.session.name}" does not have them.</p>`, '/console/erasure'));
    }
    const campaigns = await campaignOptions(ctx.api);
    send(ctx.res, 200, page('Erasure', ctx.session, html`
      <form method="post" action="/console/erasure/preview"><fieldset><legend>What to erase</legend>
        <input type="hidden" name="_csrf" value=${ctx.session.csrf} />
        ${campaignSelect(campaigns)}
        <fieldset><legend>Items</legend>
          ${ERASABLE_ITEMS.map((item) => html`<label><input type="checkbox" name="items" value=${item} /> ${item}</label>`)}
        </fieldset>
        <label>Date <input type="date" name="date" /></label> or
        <label>From <input type="date" name="from" /></label>
        <label>To <input type="date" name="to" /></label>
        <label>Interaction ids <input name="interactionIds" placeholder="12, 13" /></label>
        <p><label>Reason <textarea name="reason" required rows="2" cols="60"></textarea></label></p>
        <button type="submit">Preview</button>
      </fieldset></form>`, '/console/erasure'));
  }));

  router.post('/erasure/preview', handle(deps, async (ctx) => {
    const form = ctx.req.body as Record<string, string | string[]>;
    const list = (value: string | string[] | undefined) => (Array.isArray(value) ? value : value ? [value] : []);
    const text = (name: string) => (typeof form[name] === 'string' && form[name] ? (form[name] as string) : undefined);
    const items = list(form.items);
    const ids = (text('interactionIds') ?? '').split(/[,\s]+/).filter(Boolean);
    const preview = await ctx.api.send<Preview>('POST', '/erasures/preview', {
      campaignId: text('campaignId'), items, date: text('date'), from: text('from'), to: text('to'),
      interactionIds: ids.length ? ids : undefined, reason: typeof form.reason === 'string' ? form.reason : undefined,
    });
    send(ctx.res, 200, page('Erasure preview', ctx.session, html`
      <table>
        <thead><tr><th>Item</th><th>Count</th></tr></thead>
        <tbody>${Object.entries(preview.counts).map(([item, n]) => html`<tr><td>${item}</td><td>${n}</td></tr>`)}</tbody>
      </table>
      <p>Interactions losing content: <strong data-interactions>${preview.interactions}</strong>; ${preview.sizeBytes} bytes.
        This preview expires at ${when(preview.expiresAt)}.</p>
      <p class="warning" role="alert" id="erasure-warning">${irrevocabilityWarning(items)}</p>
      <form method="post" action="/console/erasure/confirm">
        <input type="hidden" name="_csrf" value=${ctx.session.csrf} />
        <input type="hidden" name="previewId" value=${preview.previewId} />
        <input type="hidden" name="_idem" value=${randomUUID()} />
        <button type="submit" aria-describedby="erasure-warning">Confirm erasure</button>
        <a href="/console/erasure">Back</a>
      </form>`, '/console/erasure'));
  }));

  router.post('/erasure/confirm', handle(deps, async (ctx) => {
    const previewId = String(ctx.req.body?.previewId ?? '');
    const reply = await ctx.api.send<{ runId: string }>('POST', '/erasures', { previewId, confirm: true }, idempotency(ctx));
    ctx.res.redirect(303, runHref(reply.runId));
  }));
}
