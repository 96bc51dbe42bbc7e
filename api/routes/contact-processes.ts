// List export, bulk delete and bulk status change of a campaign (issue 14; API.md "Contact lists"; seed 001
// "Export Contact Records", "Delete Contact Records", "Contact Status Change"). Validated before anything starts
// (unknown export field, invalid filter, a status the seed does not allow, an unknown encoding: 400 naming the
// field); a dry run answers how many contacts the filter matches; otherwise the process starts under the
// campaign lock exactly like an import (admitLockRequest in the start's transaction; `wait: false` → 409).
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { admitLockRequest, runOpenOrUnknownIn } from '../../lib/campaign-lock/index.js';
import { unknownExportFields } from '../../lib/contact-processes/export.js';
import { exportOptionsShape, folderNeedsDestination } from '../../lib/contact-processes/export-options.js';
import { countMatching } from '../../lib/contacts/filter.js';
import {
  CONTACT_PROCESS_WORKFLOW_TYPE, contactProcessWorkflowId, STANDARD_EXPORT_FIELDS, type ContactProcessInput,
} from '../../contracts/contact-process.js';
import { JOB_KINDS, runSearchAttributes, triggeredByKey } from '../../contracts/search-attributes.js';
import { callerOf } from '../auth.js';
import type { AppDeps } from '../app.js';
import { rethrowAsLockConflict } from '../campaign-lock-problems.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest, notFound, unprocessable } from '../problem.js';
import { idParams, isoDateTime, runAccepted } from '../schemas.js';
import { contactFilterSchema } from '../../contracts/contact-filter.js';

const KINDS = { export: JOB_KINDS.listExport, delete: JOB_KINDS.listDelete, 'status-change': JOB_KINDS.listStatusChange } as const;

const common = {
  scheduledAt: isoDateTime.optional().describe('start no earlier than this; pending (cancellable) until then'),
  comment: z.string().max(1000).optional(),
  wait: z.boolean().default(true).describe('false: 409 instead of waiting when another process holds the campaign lock or already waits for it'),
};

export const exportRequest = z.object({ ...exportOptionsShape, ...common }).refine(...folderNeedsDestination);

export const deletionRequest = z.object({
  filter: contactFilterSchema,
  dryRun: z.boolean().default(false).describe('true: answer 200 { matched } and delete nothing'),
  ...common,
});

export const statusChangeRequest = z.object({
  filter: contactFilterSchema,
  set: z.object({
    status: z.enum(['Remaining', 'Inactive']).optional().describe('seed 001: a status change assigns Remaining or Inactive'),
    priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  }).strict().default({}),
  clearRetryCount: z.boolean().default(false),
  activatePhones: z.boolean().default(false).describe('phones in any state but Blocked and Excluded become Active'),
  dryRun: z.boolean().default(false),
  ...common,
}).refine((b) => b.set.status !== undefined || b.set.priority !== undefined || b.clearRetryCount || b.activatePhones,
  { path: ['set'], message: 'change something: set.status, set.priority, clearRetryCount or activatePhones' });

const matchedReply = z.object({ matched: z.number().int().describe('contacts the filter matches (dry run: nothing changed)') });
const acceptedOrMatched = z.union([runAccepted, matchedReply]);

export function register(r: RouteRegistry, deps: AppDeps) {
  const { sql } = deps;

  defineRoute(r, {
    method: 'post', path: '/campaigns/{id}/exports', role: 'operator', status: 202, startsWork: true, params: idParams, body: exportRequest,
    response: runAccepted, errors: [409, 422],
    summary: "Export the campaign's contacts (chosen fields, filter, separator, header, encoding) under the campaign lock",
    description: 'Streamed from one consistent snapshot; downloadable from GET /processes/{runId}/file; with destinationId the file is also '
      + 'sent as <folder>/<campaign id>.export.<yyyyMMddHHmmss> with a .log beside it.',
    example: {
      body: { fields: ['client_id', 'name', 'phone', 'region'], separator: ';', encoding: 'windows-1252', filter: { statuses: ['Closed'] },
        destinationId: '2', folder: 'exports' },
      response: { runId: 'list-export/3/2025-03-01T10:15:00.000Z' },
    },
  }, async ({ params, body, req }) => {
    const caller = callerOf(req);
    await campaignOf(sql, params.id);
    const unknown = await unknownExportFields(sql, params.id, body.fields);
    if (unknown.length) {
      throw badRequest(`Unknown export field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: neither a standard field `
        + `(${STANDARD_EXPORT_FIELDS.join(', ')}) nor a custom field of campaign ${params.id}'s contacts.`,
      unknown.map((field) => ({ path: `fields.${body.fields.indexOf(field)}`, message: `unknown field "${field}"` })));
    }
    if (body.destinationId) {
      const [destination] = await sql`select 1 from destinations where id = ${body.destinationId}`;
      if (!destination) throw badRequest(`Destination ${body.destinationId} does not exist.`, [{ path: 'destinationId', message: 'no such destination' }]);
    }
    const input: ContactProcessInput = {
      type: 'export', campaignId: params.id, filter: body.filter, fields: body.fields, separator: body.separator, hasHeader: body.hasHeader,
      encoding: body.encoding, destinationId: body.destinationId ?? null, folder: body.folder ?? null, wait: body.wait,
      scheduledAt: body.scheduledAt ?? null, comment: body.comment ?? null, actingUser: caller.actor,
    };
    return { runId: await startUnderLockCheck(deps, input, triggeredByKey(caller.keyId)) };
  });

  defineRoute(r, {
    method: 'post', path: '/campaigns/{id}/deletions', role: 'operator', status: 202, startsWork: true, params: idParams, body: deletionRequest,
    response: acceptedOrMatched, errors: [409, 422],
    summary: "Delete the filter's contacts in one transaction under the campaign lock (dryRun: 200 { matched })",
    description: 'All or nothing; cancellable until it commits. The deleted contacts stay downloadable as CSV from GET /processes/{runId}/file.',
    example: { body: { filter: { statuses: ['Closed'], majorReasons: ['SALE'] } }, response: { runId: 'list-delete/3/2025-03-01T10:15:00.000Z' } },
  }, async ({ params, body, req, res }) => {
    const caller = callerOf(req);
    await campaignOf(sql, params.id);
    if (body.dryRun) {
      res.status(200);
      return { matched: await countMatching(sql, params.id, body.filter) };
    }
    const input: ContactProcessInput = {
      type: 'delete', campaignId: params.id, filter: body.filter, wait: body.wait, scheduledAt: body.scheduledAt ?? null,
      comment: body.comment ?? null, actingUser: caller.actor,
    };
    return { runId: await startUnderLockCheck(deps, input, triggeredByKey(caller.keyId)) };
  });

  defineRoute(r, {
    method: 'post', path: '/campaigns/{id}/status-changes', role: 'operator', status: 202, startsWork: true, params: idParams, body: statusChangeRequest,
    response: acceptedOrMatched, errors: [409, 422],
    summary: "Set the filter's contacts to Remaining or Inactive and/or a priority, clear retry counts, activate phones (running campaigns only)",
    description: 'All or nothing under the campaign lock; 422 unless the campaign is running; dryRun: 200 { matched }.',
    example: { body: { filter: { statuses: ['Postponed'] }, set: { status: 'Remaining' }, clearRetryCount: true, activatePhones: true },
      response: { runId: 'list-status-change/3/2025-03-01T10:15:00.000Z' } },
  }, async ({ params, body, req, res }) => {
    const caller = callerOf(req);
    const campaign = await campaignOf(sql, params.id);
    if (campaign.state !== 'running') {
      throw unprocessable(`Campaign ${params.id} is ${campaign.state}; a status change runs only on a running campaign.`, { state: campaign.state });
    }
    if (body.dryRun) {
      res.status(200);
      return { matched: await countMatching(sql, params.id, body.filter) };
    }
    const input: ContactProcessInput = {
      type: 'status-change', campaignId: params.id, filter: body.filter, set: body.set, clearRetryCount: body.clearRetryCount,
      activatePhones: body.activatePhones, wait: body.wait, scheduledAt: body.scheduledAt ?? null, comment: body.comment ?? null,
      actingUser: caller.actor,
    };
    return { runId: await startUnderLockCheck(deps, input, triggeredByKey(caller.keyId)) };
  });
}

async function campaignOf(sql: Sql, campaignId: string): Promise<{ name: string; state: string }> {
  const [campaign] = await sql<{ name: string; state: string }[]>`select name, state from campaigns where id = ${campaignId}`;
  if (!campaign) throw notFound(`Campaign ${campaignId} does not exist.`);
  return campaign;
}

/** As the import's start (api/routes/imports.ts): the workflow started in the transaction where the lock's owner
 *  admits its request (the campaign row locked, `wait: false` refused with 409, the request recorded). */
async function startUnderLockCheck(deps: AppDeps, input: ContactProcessInput, triggeredBy: string): Promise<string> {
  const { sql, client, config } = deps;
  const workflowId = contactProcessWorkflowId(input.type, input.campaignId, new Date());
  await sql.begin(async (tx) => {
    const asksNow = !input.scheduledAt || Date.parse(input.scheduledAt) <= Date.now();
    await admitLockRequest(tx as unknown as Sql, input.campaignId, { runId: workflowId, type: input.type, wait: input.wait, asksNow }, runOpenOrUnknownIn(client))
      .catch(rethrowAsLockConflict('retry later or send wait: true to queue behind it.'));
    await client.workflow.start(CONTACT_PROCESS_WORKFLOW_TYPE, {
      workflowId, taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input],
      typedSearchAttributes: runSearchAttributes({ kind: KINDS[input.type], campaignId: input.campaignId, triggeredBy }),
    });
  });
  return workflowId;
}
