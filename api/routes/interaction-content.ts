// Content uploads: the raw body streams through the content store's encryption into storage (never held
// in memory); then the interaction_content row is pointed at the new object in one transaction, and only
// after that commits is a replaced object removed, so a failure never leaves the row pointing at nothing.
//
// These routes must not be a way around erasure: an empty body is refused (it would wipe content without an
// erasure run), replacing content is recorded in the audit log (content.replaced) in the same transaction,
// and content erased for a privacy request comes back only from a key with the erase privilege, recorded as
// content.restored with the erasure it undoes.
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import type { TransactionSql } from 'postgres';
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { appendAuditInTransaction } from '../../lib/audit/index.js';
import type { AppDeps } from '../app.js';
import { authorize, callerOf, type Caller } from '../auth.js';
import { defineRoute, rawBody, type RouteRegistry } from '../openapi.js';
import { badRequest, notFound } from '../problem.js';
import { id } from '../schemas.js';

const MAX_CONTENT_BYTES = 2 * 1024 ** 3;
const WAV_TYPES = ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave', 'application/octet-stream'];
const OTHER_KINDS = ['voice-transcript', 'chat-transcript', 'email-message', 'screen-recording'] as const;

const stored = z.object({ sizeBytes: z.number().int(), sha256: z.string() });

const GUARDS = 'An empty body is 400 (content is removed only by an erasure). Replacing content is recorded in the audit log '
  + '(`content.replaced`); content that was erased comes back only with the erase privilege (403 otherwise), recorded as `content.restored`.';

export const CONTENT_AUDIT_ACTIONS = { replaced: 'content.replaced', restored: 'content.restored' } as const;

interface ContentTarget { interactionId: string; kind: string; segment: number | null; completedAt: Date }
interface StoredObject { key: string; sizeBytes: number; sha256: string }
interface PreviousContent {
  id: string; store_key: string | null; size_bytes: string | null; sha256: string | null;
  erased_at: Date | null; erased_by: string | null; erased_run: string | null;
}

export function register(r: RouteRegistry, deps: AppDeps) {
  const { sql } = deps;

  defineRoute(r, {
    method: 'put', path: '/interactions/{id}/recording', role: 'operator',
    params: z.object({ id }), body: rawBody({ contentTypes: WAV_TYPES, maxBytes: MAX_CONTENT_BYTES, description: 'The complete call recording (WAV).' }),
    response: stored, errors: [413, 415],
    summary: 'Upload (or replace) the complete call recording; it completed at the interaction end',
    description: GUARDS,
    example: { response: { sizeBytes: 480044, sha256: '9f86d0…' } },
  }, async ({ params, body, req }) => {
    const [row] = await sql<{ ended_at: Date }[]>`select ended_at from interactions where id = ${params.id}`;
    if (!row) throw notFound(`Interaction ${params.id} does not exist.`);
    return storeContent(deps, req, body, { interactionId: params.id, kind: 'voice-recording', segment: null, completedAt: row.ended_at });
  });

  defineRoute(r, {
    method: 'put', path: '/interactions/{id}/segments/{n}/recording', role: 'operator',
    params: z.object({ id, n: z.coerce.number().int().min(0).max(1000) }),
    body: rawBody({ contentTypes: WAV_TYPES, maxBytes: MAX_CONTENT_BYTES, description: 'The recording of agent segment n (WAV).' }),
    response: stored, errors: [413, 415],
    summary: 'Upload (or replace) the recording of agent segment n (0-based); it completed at the segment end',
    description: GUARDS,
    example: { response: { sizeBytes: 4000044, sha256: '9a4e77d2…' } },
  }, async ({ params, body, req }) => {
    const [row] = await sql<{ ended_at: Date }[]>`
      select ended_at from interaction_segments where interaction_id = ${params.id} and n = ${params.n}`;
    if (!row) throw notFound(`Interaction ${params.id} has no segment ${params.n} (or does not exist); segments are declared with POST /interactions.`);
    return storeContent(deps, req, body, { interactionId: params.id, kind: 'voice-recording', segment: params.n, completedAt: row.ended_at });
  });

  defineRoute(r, {
    method: 'put', path: '/interactions/{id}/content/{kind}', role: 'operator',
    params: z.object({ id, kind: z.enum(OTHER_KINDS) }),
    body: rawBody({ maxBytes: MAX_CONTENT_BYTES, contentTypes: undefined, description: 'The content, any media type.' }),
    response: stored, errors: [413],
    summary: 'Upload (or replace) a transcript, chat transcript, e-mail message or screen recording',
    description: GUARDS,
    example: { response: { sizeBytes: 18231, sha256: 'c0ffee42…' } },
  }, async ({ params, body, req }) => {
    const [row] = await sql<{ ended_at: Date }[]>`select ended_at from interactions where id = ${params.id}`;
    if (!row) throw notFound(`Interaction ${params.id} does not exist.`);
    return storeContent(deps, req, body, { interactionId: params.id, kind: params.kind, segment: null, completedAt: row.ended_at });
  });
}

async function storeContent({ sql, store, log }: AppDeps, req: Request, body: Readable, target: ContentTarget) {
  const caller = callerOf(req);
  if (req.get('content-length') === '0') throw emptyBody(body);
  // Checked before the upload too, so a refused restore does not stream gigabytes first.
  if ((await previousContent(sql, target))?.erased_at) authorizeRestore(caller);
  const object = await store.put(body, { prefix: 'interactions' });
  let replacedKey: string | null;
  try {
    if (object.sizeBytes === 0) throw emptyBody(body);
    replacedKey = await pointContentAt(sql, target, object, caller);
  } catch (err) {
    await store.remove(object.key).catch(() => {});
    throw err;
  }
  if (replacedKey && replacedKey !== object.key) {
    await store.remove(replacedKey).catch((err) => log?.warn({ err: String(err), key: replacedKey }, 'could not remove replaced content object'));
  }
  return { sizeBytes: object.sizeBytes, sha256: object.sha256 };
}

function emptyBody(body: Readable) {
  body.resume();
  return badRequest('The request body is empty; send the content\'s bytes. Content is removed only by an erasure (POST /erasures/preview, then POST /erasures).');
}

function authorizeRestore(caller: Caller): void {
  authorize(caller, 'operator', 'erase', 'upload content where it was erased (a restoration, recorded in the audit log)');
}

function previousContent(sql: Sql | TransactionSql<Record<string, never>>, target: ContentTarget, lock = false): Promise<PreviousContent | undefined> {
  return sql<PreviousContent[]>`
    select id, store_key, size_bytes, sha256, erased_at, erased_by, erased_run from interaction_content
    where interaction_id = ${target.interactionId} and kind = ${target.kind} and segment is not distinct from ${target.segment}::int
    ${lock ? sql`for update` : sql``}`.then(([row]) => row);
}

/** Points the content row at the new object and records a replacement or restoration in the audit log, in one
 *  transaction; returns the key it pointed at before (null if none). */
async function pointContentAt(sql: Sql, target: ContentTarget, object: StoredObject, caller: Caller): Promise<string | null> {
  return sql.begin(async (tx) => {
    // Serializes uploads of the same interaction, so two replacing uploads both see the key they replace.
    const [interaction] = await tx`select 1 from interactions where id = ${target.interactionId} for no key update`;
    if (!interaction) throw notFound(`Interaction ${target.interactionId} does not exist (it was deleted during the upload).`);
    const previous = await previousContent(tx, target, true);
    // Again under the row lock: an erasure may have finished while the bytes streamed.
    if (previous?.erased_at) authorizeRestore(caller);
    await tx`
      insert into interaction_content (interaction_id, kind, segment, store_key, size_bytes, sha256, completed_at)
      values (${target.interactionId}, ${target.kind}, ${target.segment}::int, ${object.key}, ${object.sizeBytes}, ${object.sha256}, ${target.completedAt})
      on conflict (interaction_id, kind, segment) do update
        set store_key = excluded.store_key, size_bytes = excluded.size_bytes, sha256 = excluded.sha256,
            completed_at = excluded.completed_at, erased_at = null, erased_by = null, erased_run = null`;
    const entry = previous && auditEntryFor(previous, target, object, caller);
    if (entry) await appendAuditInTransaction(tx, entry);
    return previous?.store_key ?? null;
  });
}

/** The audit entry of an upload over existing or erased content (ids and hashes only, nothing personal). */
function auditEntryFor(previous: PreviousContent, target: ContentTarget, object: StoredObject, caller: Caller) {
  const scope = { interactionId: target.interactionId, kind: target.kind, segment: target.segment, contentId: previous.id, sha256: object.sha256 };
  const counts = { bytes: object.sizeBytes };
  if (previous.erased_at) {
    return {
      actor: caller.actor, action: CONTENT_AUDIT_ACTIONS.restored, counts,
      reason: 'content uploaded again after it was erased',
      scope: { ...scope, erasedAt: previous.erased_at.toISOString(), erasedBy: previous.erased_by, erasedRun: previous.erased_run },
    };
  }
  if (previous.store_key === null && previous.sha256 === null) return undefined; // nothing was there: a first upload
  return {
    actor: caller.actor, action: CONTENT_AUDIT_ACTIONS.replaced, counts,
    scope: { ...scope, previousSha256: previous.sha256, previousSizeBytes: previous.size_bytes === null ? null : Number(previous.size_bytes) },
  };
}
