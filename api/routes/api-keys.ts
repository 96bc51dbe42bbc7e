// API keys: created by admins, shown once, stored as SHA-256 only, revoked rather than deleted. The erase
// privilege is granted on its own: only a key that holds it may create a key with it, so an admin without
// it cannot mint one for themselves.
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { authorize, callerOf, generateApiKey, hashApiKey, ROLES } from '../auth.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { notFound } from '../problem.js';
import { decodeCursor, idParams, iso, pageOf, pageQuery, paged } from '../schemas.js';

const apiKey = z.object({
  id: z.string(), name: z.string(), role: z.enum(ROLES), erase: z.boolean(), createdAt: z.string(), revokedAt: z.string().nullable(),
}).meta({ id: 'ApiKey' });

export function register(r: RouteRegistry, { sql }: AppDeps) {
  defineRoute(r, {
    method: 'post', path: '/api-keys', role: 'admin', status: 201,
    body: z.object({ name: z.string().trim().min(1).max(100), role: z.enum(ROLES), erase: z.boolean().default(false) }),
    response: z.object({ id: z.string(), key: z.string() }),
    summary: 'Create an API key (the key is shown only in this response)',
    description: 'Granting `erase: true` needs a key that holds the erase privilege itself (403 otherwise).',
    example: { body: { name: 'reporting', role: 'viewer' }, response: { id: '2', key: 'ccj_…' } },
  }, async ({ body, req }) => {
    if (body.erase) authorize(callerOf(req), 'admin', 'erase', 'grant the erase privilege');
    const key = generateApiKey();
    const [row] = await sql<{ id: string }[]>`
      insert into api_keys (name, role, erase, key_hash) values (${body.name}, ${body.role}, ${body.erase}, ${hashApiKey(key)})
      returning id`;
    return { id: row.id, key };
  });

  defineRoute(r, {
    method: 'get', path: '/api-keys', role: 'admin', query: pageQuery, response: paged(apiKey),
    summary: 'List API keys (never the keys or their hashes)',
    example: {
      response: {
        items: [
          { id: '1', name: 'ops', role: 'admin', erase: true, createdAt: '2025-01-15T09:00:00.000Z', revokedAt: null },
          { id: '2', name: 'reporting', role: 'viewer', erase: false, createdAt: '2025-02-03T14:12:09.000Z', revokedAt: '2025-02-20T08:00:00.000Z' },
        ],
        nextCursor: null,
      },
    },
  }, async ({ query }) => {
    const rows = await sql<{ id: string; name: string; role: (typeof ROLES)[number]; erase: boolean; created_at: Date; revoked_at: Date | null }[]>`
      select id, name, role, erase, created_at, revoked_at from api_keys
      where id > ${decodeCursor(query.cursor)} order by id limit ${query.limit + 1}`;
    const page = pageOf(rows, query.limit);
    return {
      items: page.items.map((k) => ({ id: k.id, name: k.name, role: k.role, erase: k.erase, createdAt: iso(k.created_at)!, revokedAt: iso(k.revoked_at) })),
      nextCursor: page.nextCursor,
    };
  });

  defineRoute(r, {
    method: 'delete', path: '/api-keys/{id}', role: 'admin', params: idParams,
    summary: 'Revoke an API key',
  }, async ({ params }) => {
    const rows = await sql`update api_keys set revoked_at = coalesce(revoked_at, now()) where id = ${params.id} returning id`;
    if (rows.length === 0) throw notFound(`API key ${params.id} does not exist.`);
  });
}
