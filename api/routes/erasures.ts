// Job 4, erasure: POST /erasures/preview freezes and counts what a scope would destroy; POST /erasures
// confirms one preview and starts the erasure workflow. Both need the erase privilege ("can edit and
// erase interaction records"); the reason is mandatory and goes to the audit log with the run.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import { createPreview, foreignInteractions, previewDrift, type PreviewRow, type PreviewScope } from '../../lib/erasure/preview.js';
import type { erasure } from '../../workflows/erasure.js';
import { ERASABLE_ITEMS, erasureWorkflowId, type ErasureInput, type ErasureScope } from '../../contracts/erasure.js';
import { JOB_KINDS, runSearchAttributes, triggeredByKey } from '../../contracts/search-attributes.js';
import type { AppDeps } from '../app.js';
import { callerOf } from '../auth.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest, conflict, notFound, Problem, unprocessable } from '../problem.js';
import { id, iso, runAccepted } from '../schemas.js';

const day = z.iso.date().describe('YYYY-MM-DD, a day in the campaign\'s timezone');

const previewInput = z.object({
  campaignId: id,
  items: z.array(z.enum(ERASABLE_ITEMS)).min(1).max(ERASABLE_ITEMS.length)
    .refine((items) => new Set(items).size === items.length, 'list each item once'),
  date: day.optional(),
  from: day.optional(),
  to: day.optional(),
  interactionIds: z.array(id).min(1).max(10_000).optional().describe('only these interactions (of the campaign)'),
  reason: z.string({ error: 'a reason is required: say why the content is erased' }).trim()
    .min(1, 'a reason is required: say why the content is erased').max(2000),
}).superRefine((v, ctx) => {
  if (v.date && (v.from || v.to)) ctx.addIssue({ code: 'custom', path: ['date'], message: 'give either date or from+to, not both' });
  if (!v.from !== !v.to) ctx.addIssue({ code: 'custom', path: [v.from ? 'to' : 'from'], message: 'from and to go together' });
  if (v.from && v.to && v.from > v.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must not be before from' });
  if (!v.date && !v.from && !v.interactionIds) {
    ctx.addIssue({ code: 'custom', path: ['date'], message: 'give the interactions\' date (date, or from+to) and/or interactionIds' });
  }
});

const previewOutput = z.object({
  previewId: z.string(),
  counts: z.partialRecord(z.enum(ERASABLE_ITEMS), z.number().int()).describe('content items per kind (voice-recording counts the complete call and each agent segment)'),
  interactions: z.number().int().describe('interactions that lose content'),
  items: z.number().int(), sizeBytes: z.number().int(),
  campaignId: z.string(), timezone: z.string(), expiresAt: z.string(),
});

const confirmInput = z.object({
  previewId: z.string().min(1).max(100),
  confirm: z.literal(true, { error: 'confirm must be true: the erasure is irrevocable' }),
  batchSize: z.number().int().min(1).max(5000).optional().describe('items per batch (default ERASURE_BATCH_SIZE, 1000 unless configured); a cancel takes effect between batches'),
});

function scopeOf(campaignId: string, body: { items: PreviewScope['items']; date?: string; from?: string; to?: string; interactionIds?: string[] }): PreviewScope {
  return {
    campaignId, items: body.items, fromDay: body.date ?? body.from, toDay: body.date ?? body.to,
    interactionIds: body.interactionIds,
  };
}

export function register(r: RouteRegistry, deps: AppDeps) {
  const { sql } = deps;

  defineRoute(r, {
    method: 'post', path: '/erasures/preview', role: 'operator', privilege: 'erase', body: previewInput, response: previewOutput,
    summary: 'Preview an erasure: exactly what would be destroyed, frozen under a preview id for ERASURE_PREVIEW_TTL_MINUTES (default 15)',
    example: {
      body: { campaignId: '1', items: ['voice-recording', 'voice-transcript'], date: '2025-03-01', reason: 'GDPR erasure request #4711' },
      response: {
        previewId: 'ep_3q2-7wXbZxk4Ykp1', counts: { 'voice-recording': 12, 'voice-transcript': 4 }, interactions: 4, items: 16,
        sizeBytes: 768000, campaignId: '1', timezone: 'America/New_York', expiresAt: '2025-03-02T10:15:00.000Z',
      },
    },
  }, async ({ body, req }) => {
    const caller = callerOf(req);
    const [campaign] = await sql<{ timezone: string }[]>`select timezone from campaigns where id = ${body.campaignId}`;
    if (!campaign) throw badRequest(`Campaign ${body.campaignId} does not exist.`, [{ path: 'campaignId', message: 'no such campaign' }]);
    if (body.interactionIds) {
      const foreign = await foreignInteractions(sql, body.campaignId, body.interactionIds);
      if (foreign.length) {
        throw badRequest(`${foreign.length} interaction(s) are not interactions of campaign ${body.campaignId}: ${foreign.slice(0, 20).join(', ')}.`,
          [{ path: 'interactionIds', message: `not in campaign ${body.campaignId}: ${foreign.slice(0, 20).join(', ')}` }]);
      }
    }
    const request = { campaignId: body.campaignId, items: body.items, date: body.date, from: body.from, to: body.to, interactionIds: body.interactionIds, timezone: campaign.timezone };
    const preview = await createPreview(sql, {
      scope: scopeOf(body.campaignId, body), timezone: campaign.timezone, request, reason: body.reason,
      actor: caller.actor, apiKeyId: caller.keyId, now: new Date(), ttlMinutes: deps.config.ERASURE_PREVIEW_TTL_MINUTES,
    });
    return {
      previewId: preview.id, ...preview.summary, campaignId: body.campaignId, timezone: campaign.timezone,
      expiresAt: iso(preview.expiresAt)!,
    };
  });

  defineRoute(r, {
    method: 'post', path: '/erasures', role: 'operator', privilege: 'erase', status: 202, startsWork: true, body: confirmInput,
    response: runAccepted, errors: [409, 422],
    summary: 'Confirm a preview and start erasing exactly what it listed (irrevocable)',
    description: 'Refused when the preview is unknown (404), was made with another API key (403), has expired (422), '
      + 'was already confirmed (409, naming the run), or no longer matches what its scope covers (409: preview again).',
    example: { body: { previewId: 'ep_3q2-7wXbZxk4Ykp1', confirm: true }, response: { runId: 'erasure/1/2025-03-02T10:05:00.000Z' } },
  }, async ({ body, req }) => {
    const caller = callerOf(req);
    // The registry holds the Idempotency-Key around this handler (startsWork): a retry never claims the preview twice.
    const { input, workflowId } = await claimPreview(deps, body.previewId, caller.keyId, body.batchSize ?? deps.config.ERASURE_BATCH_SIZE);
    try {
      await deps.client.workflow.start<typeof erasure>('erasure', {
        workflowId, taskQueue: deps.config.TEMPORAL_TASK_QUEUE, args: [input],
        typedSearchAttributes: runSearchAttributes({ kind: JOB_KINDS.erasure, campaignId: input.scope.campaignId, triggeredBy: triggeredByKey(caller.keyId) }),
      });
    } catch (err) {
      // Not started: the preview may be confirmed again.
      await sql`update erasure_previews set run_id = null, confirmed_at = null where id = ${body.previewId} and run_id = ${workflowId}`;
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw conflict(`An erasure with id ${workflowId} is already running; confirm again.`);
      throw err;
    }
    return { runId: workflowId };
  });
}

/**
 * Checks the preview can be confirmed by this caller now and marks it confirmed by the new run, in one
 * transaction holding the preview's row. Committed before the workflow starts, so the workflow always
 * finds its preview confirmed for it.
 */
async function claimPreview(deps: AppDeps, previewId: string, keyId: string, batchSize: number): Promise<{ input: ErasureInput; workflowId: string }> {
  return deps.sql.begin(async (tx) => {
    const [preview] = await tx<PreviewRow[]>`select * from erasure_previews where id = ${previewId} for update`;
    if (!preview) throw notFound(`Erasure preview ${previewId} does not exist; make one with POST /erasures/preview.`);
    if (preview.api_key_id !== keyId) {
      throw new Problem(403, `Erasure preview ${previewId} was made with another API key; only the key that previewed an erasure may confirm it.`);
    }
    if (preview.run_id) throw conflict(`Erasure preview ${previewId} was already confirmed by run ${preview.run_id}.`, { runId: preview.run_id });
    const now = new Date();
    if (preview.expires_at <= now) {
      throw unprocessable(`Erasure preview ${previewId} expired at ${iso(preview.expires_at)}; make a new preview and confirm it within ${deps.config.ERASURE_PREVIEW_TTL_MINUTES} minutes.`);
    }
    const [campaign] = await tx<{ name: string; timezone: string }[]>`select name, timezone from campaigns where id = ${preview.campaign_id}`;
    const request = preview.scope as { date?: string; from?: string; to?: string; interactionIds?: string[]; timezone: string };
    const scope = scopeOf(preview.campaign_id, { items: preview.items, ...request });
    const drift = await previewDrift(tx, preview, scope, request.timezone);
    if (drift.gone || drift.added) {
      throw conflict(`Erasure preview ${previewId} no longer matches its scope (${drift.added} item(s) added, ${drift.gone} erased or removed since); make a new preview and confirm that.`, drift);
    }
    const workflowId = erasureWorkflowId(preview.campaign_id, now);
    await tx`update erasure_previews set run_id = ${workflowId}, confirmed_at = ${now} where id = ${previewId}`;
    const auditScope: ErasureScope = {
      previewId, campaignId: preview.campaign_id, timezone: request.timezone, items: preview.items,
      ...(request.date ? { date: request.date } : {}), ...(request.from ? { from: request.from, to: request.to } : {}),
      ...(request.interactionIds ? { interactionIds: request.interactionIds } : {}),
    };
    const input: ErasureInput = {
      previewId, actor: preview.actor, reason: preview.reason, scope: auditScope, campaignName: campaign.name, batchSize,
      preview: {
        ...preview.counts, items: Object.values(preview.counts).reduce((a, b) => a + b, 0),
        interactions: preview.interactions, bytes: Number(preview.size_bytes),
      },
    };
    return { input, workflowId };
  }) as Promise<{ input: ErasureInput; workflowId: string }>;
}

