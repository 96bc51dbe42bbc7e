// The account's blacklist (seed 001 "Blacklists"; API.md "Contact lists"): phone numbers and e-mail addresses.
// A blacklisted phone is Excluded on every contact that has it, from the moment the entry is added (existing
// contacts) and whenever a contact gets it later (imports, POST/PATCH contacts); removing the entry gives those
// phones their previous state back. Bulk import of entries: POST /blacklist/imports (an exclusions-import run).
import { z } from 'zod';
import { addBlacklistEntry, removeBlacklistEntry, searchBlacklist, type BlacklistEntry } from '../../lib/blacklist/entries.js';
import { BLACKLIST_URI_RULE, parseBlacklistUri } from '../../lib/blacklist/uri.js';
import { EXCLUSIONS_IMPORT_WORKFLOW, exclusionsImportWorkflowId, type ExclusionsImportInput } from '../../contracts/exclusions-import.js';
import { JOB_KINDS, runSearchAttributes, triggeredByKey } from '../../contracts/search-attributes.js';
import { callerOf } from '../auth.js';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest, conflict, notFound } from '../problem.js';
import { decodeCursor, idParams, iso, pageOf, pageQuery, paged, runAccepted } from '../schemas.js';
import { checkSource, importSource } from './imports.js';

const entry = z.object({
  id: z.string(), kind: z.enum(['phone', 'email']), uri: z.string().describe('normalized: a phone as its digits (with + when given), an e-mail lowercased'),
  name: z.string().nullable(), addedBy: z.string().nullable(), runId: z.string().nullable().describe('the exclusions-import run that added it'),
  createdAt: z.string(),
}).meta({ id: 'BlacklistEntry' });

const toEntry = (e: BlacklistEntry): z.input<typeof entry> => ({ ...e, createdAt: iso(e.createdAt)! });

export function register(r: RouteRegistry, deps: AppDeps) {
  const { sql } = deps;
  defineRoute(r, {
    method: 'post', path: '/blacklist', role: 'operator', status: 201,
    body: z.object({ uri: z.string().min(1).max(320).describe('a phone number or an e-mail address'), name: z.string().trim().max(200).optional() }),
    response: z.object({ id: z.string() }), errors: [409],
    summary: 'Add a phone number or an e-mail address to the blacklist',
    description: 'A phone entry makes that number Excluded on every contact phone that has it (compared on digits), in every campaign, '
      + 'at once; an e-mail entry shows as emailBlacklisted on contacts. 409 when the number or address is already an entry.',
    example: { body: { uri: '+1 512 555 0142', name: 'Dana Whitfield' }, response: { id: '12' } },
  }, async ({ body, req }) => {
    const uri = parseBlacklistUri(body.uri);
    if (!uri) throw badRequest('The uri is neither a phone number nor an e-mail address.', [{ path: 'uri', message: BLACKLIST_URI_RULE }]);
    const result = await addBlacklistEntry(sql, uri, { name: body.name ?? null, actor: callerOf(req).actor });
    if (!result.added) {
      throw conflict(`${uri.uri} is already on the blacklist (entry ${result.existing.id}).`, { entryId: result.existing.id }, 'blacklist-entry-exists');
    }
    return { id: result.entry.id };
  });

  defineRoute(r, {
    method: 'get', path: '/blacklist', role: 'viewer',
    query: pageQuery.extend({ q: z.string().trim().max(320).optional().describe('part of the number, address or name (case-insensitive); empty lists all') }),
    response: paged(entry),
    summary: 'Search the blacklist',
    example: { response: { items: [
      { id: '12', kind: 'phone', uri: '+15125550142', name: 'Dana Whitfield', addedBy: 'key:ops', runId: null, createdAt: '2025-03-01T10:02:11.000Z' },
    ], nextCursor: null } },
  }, async ({ query }) => {
    const rows = await searchBlacklist(sql, query.q || undefined, decodeCursor(query.cursor), query.limit + 1);
    const page = pageOf(rows, query.limit);
    return { items: page.items.map(toEntry), nextCursor: page.nextCursor };
  });

  defineRoute(r, {
    method: 'post', path: '/blacklist/imports', role: 'operator', status: 202, startsWork: true,
    body: z.object({ source: importSource }), response: runAccepted, errors: [422],
    summary: 'Import blacklist entries from a file (an exclusions-import run)',
    description: 'One entry per line, or a CSV whose header names a `uri` column (and optionally `name`). Lines that are neither a phone '
      + 'number nor an e-mail address are reported with their line number and skipped. Progress and counts: GET /runs/{runId}, '
      + 'GET /processes?type=exclusions-import, the task views (type exclusions-import).',
    example: { body: { source: { uploadId: 'upl_2f1c…' } }, response: { runId: 'exclusions-import/2025-03-01T10:15:00.000Z' } },
  }, async ({ body, req }) => {
    const caller = callerOf(req);
    await checkSource(deps, body.source);
    const workflowId = exclusionsImportWorkflowId(new Date());
    const input: ExclusionsImportInput = { source: body.source, actingUser: caller.actor };
    await deps.client.workflow.start(EXCLUSIONS_IMPORT_WORKFLOW, {
      workflowId, taskQueue: deps.config.TEMPORAL_TASK_QUEUE, args: [input],
      typedSearchAttributes: runSearchAttributes({ kind: JOB_KINDS.exclusionsImport, triggeredBy: triggeredByKey(caller.keyId) }),
    });
    return { runId: workflowId };
  });

  defineRoute(r, {
    method: 'delete', path: '/blacklist/{id}', role: 'operator', params: idParams,
    summary: 'Remove an entry from the blacklist',
    description: 'The contact phones it excluded get their previous state back; a phone that an import or an edit had excluded stays Excluded.',
  }, async ({ params, req }) => {
    const { removed } = await removeBlacklistEntry(sql, params.id, callerOf(req).actor);
    if (!removed) throw notFound(`Blacklist entry ${params.id} does not exist.`);
  });
}
