// Content uploads: the raw body streams through the content store's encryption into storage (never held
// in memory); then the interaction_content row is pointed at the new object in one transaction, and only
// after that commits is a replaced object removed, so a failure never leaves the row pointing at nothing.
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import type { AppDeps } from '../app.js';
import { defineRoute, rawBody, type RouteRegistry } from '../openapi.js';
import { notFound } from '../problem.js';
import { id } from '../schemas.js';

const MAX_CONTENT_BYTES = 2 * 1024 ** 3;
const WAV_TYPES = ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave', 'application/octet-stream'];
const OTHER_KINDS = ['voice-transcript', 'chat-transcript', 'email-message', 'screen-recording'] as const;

const stored = z.object({ sizeBytes: z.number().int(), sha256: z.string() });

interface ContentTarget { interactionId: string; kind: string; segment: number | null; completedAt: Date }

export function register(r: RouteRegistry, deps: AppDeps) {
  const { sql } = deps;

  defineRoute(r, {
    method: 'put', path: '/interactions/{id}/recording', role: 'operator',
    params: z.object({ id }), body: rawBody({ contentTypes: WAV_TYPES, maxBytes: MAX_CONTENT_BYTES, description: 'The complete call recording (WAV).' }),
    response: stored, errors: [413, 415],
    summary: 'Upload (or replace) the complete call recording; it completed at the interaction end',
    example: { response: { sizeBytes: 480044, sha256: '9f86d0…' } },
  }, async ({ params, body }) => {
    const [row] = await sql<{ ended_at: Date }[]>`select ended_at from interactions where id = ${params.id}`;
    if (!row) throw notFound(`Interaction ${params.id} does not exist.`);
    return storeContent(deps, body, { interactionId: params.id, kind: 'voice-recording', segment: null, completedAt: row.ended_at });
  });

  defineRoute(r, {
    method: 'put', path: '/interactions/{id}/segments/{n}/recording', role: 'operator',
    params: z.object({ id, n: z.coerce.number().int().min(0).max(1000) }),
    body: rawBody({ contentTypes: WAV_TYPES, maxBytes: MAX_CONTENT_BYTES, description: 'The recording of agent segment n (WAV).' }),
    response: stored, errors: [413, 415],
    summary: 'Upload (or replace) the recording of agent segment n (0-based); it completed at the segment end',
    example: { response: { sizeBytes: 4000044, sha256: '9a4e77d2…' } },
  }, async ({ params, body }) => {
    const [row] = await sql<{ ended_at: Date }[]>`
      select ended_at from interaction_segments where interaction_id = ${params.id} and n = ${params.n}`;
    if (!row) throw notFound(`Interaction ${params.id} has no segment ${params.n} (or does not exist); segments are declared with POST /interactions.`);
    return storeContent(deps, body, { interactionId: params.id, kind: 'voice-recording', segment: params.n, completedAt: row.ended_at });
  });

  defineRoute(r, {
    method: 'put', path: '/interactions/{id}/content/{kind}', role: 'operator',
    params: z.object({ id, kind: z.enum(OTHER_KINDS) }),
    body: rawBody({ maxBytes: MAX_CONTENT_BYTES, contentTypes: undefined, description: 'The content, any media type.' }),
    response: stored, errors: [413],
    summary: 'Upload (or replace) a transcript, chat transcript, e-mail message or screen recording',
    example: { response: { sizeBytes: 18231, sha256: 'c0ffee42…' } },
  }, async ({ params, body }) => {
    const [row] = await sql<{ ended_at: Date }[]>`select ended_at from interactions where id = ${params.id}`;
    if (!row) throw notFound(`Interaction ${params.id} does not exist.`);
    return storeContent(deps, body, { interactionId: params.id, kind: params.kind, segment: null, completedAt: row.ended_at });
  });
}

async function storeContent({ sql, store, log }: AppDeps, body: Readable, target: ContentTarget) {
  const object = await store.put(body, { prefix: 'interactions' });
  let replacedKey: string | null;
  try {
    replacedKey = await pointContentAt(sql, target, object);
  } catch (err) {
    await store.remove(object.key).catch(() => {});
    throw err;
  }
  if (replacedKey && replacedKey !== object.key) {
    await store.remove(replacedKey).catch((err) => log?.warn({ err: String(err), key: replacedKey }, 'could not remove replaced content object'));
  }
  return { sizeBytes: object.sizeBytes, sha256: object.sha256 };
}

/** Points the content row at the new object; returns the key it pointed at before (null if none). */
async function pointContentAt(sql: Sql, target: ContentTarget, object: { key: string; sizeBytes: number; sha256: string }): Promise<string | null> {
  return sql.begin(async (tx) => {
    // Serializes uploads of the same interaction, so two replacing uploads both see the key they replace.
    const [interaction] = await tx`select 1 from interactions where id = ${target.interactionId} for no key update`;
    if (!interaction) throw notFound(`Interaction ${target.interactionId} does not exist (it was deleted during the upload).`);
    const [previous] = await tx<{ store_key: string | null }[]>`
      select store_key from interaction_content
      where interaction_id = ${target.interactionId} and kind = ${target.kind} and segment is not distinct from ${target.segment}::int`;
    await tx`
      insert into interaction_content (interaction_id, kind, segment, store_key, size_bytes, sha256, completed_at)
      values (${target.interactionId}, ${target.kind}, ${target.segment}::int, ${object.key}, ${object.sizeBytes}, ${object.sha256}, ${target.completedAt})
      on conflict (interaction_id, kind, segment) do update
        set store_key = excluded.store_key, size_bytes = excluded.size_bytes, sha256 = excluded.sha256,
            completed_at = excluded.completed_at, erased_at = null, erased_by = null, erased_run = null`;
    return previous?.store_key ?? null;
  });
}
