// The audit log (append-only, hash-chained): list entries and verify the chain. Admins only: entries
// carry the reasons given for erasures.
import { z } from 'zod';
import { auditHead, entryOf, verifyAuditChain, type AuditRow } from '../../lib/audit/index.js';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest } from '../problem.js';
import { isoDateTime } from '../schemas.js';

const entry = z.object({
  seq: z.number().int(), at: z.string(), actor: z.string(), action: z.string(), reason: z.string().nullable(),
  scope: z.record(z.string(), z.unknown()), counts: z.record(z.string(), z.unknown()), runId: z.string().nullable(),
  hash: z.string(), prevHash: z.string(),
});

const listQuery = z.object({
  from: isoDateTime.optional().describe('entries at or after'),
  to: isoDateTime.optional().describe('entries before'),
  action: z.string().max(100).optional().describe('e.g. erasure.requested, erasure.completed'),
  runId: z.string().max(400).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(/^[0-9]{1,18}$/, 'pass the nextCursor of the previous page unchanged').optional(),
});

const verdict = z.union([
  z.object({ ok: z.literal(true), entries: z.number().int(), headHash: z.string() }),
  z.object({
    ok: z.literal(false), entries: z.number().int(), problem: z.string(),
    firstBadSeq: z.number().int().nullable().describe('null only when an expectHead without expectSeq is missing: the rewrite cannot be located'),
  }),
]);

const head = z.object({
  seq: z.number().int().describe('0 while the log is empty'), hash: z.string(), at: z.string().nullable(),
});

const verifyQuery = z.object({
  expectHead: z.string().regex(/^[0-9a-f]{64}$/, 'the 64 hex digits of a hash from GET /audit-log/head').optional()
    .describe('a head recorded earlier (GET /audit-log/head): the chain must still contain this hash'),
  expectSeq: z.coerce.number().int().min(0).optional().describe('the seq recorded with expectHead: the hash must be at this seq'),
}).refine((q) => q.expectSeq === undefined || q.expectHead !== undefined, { path: ['expectHead'], message: 'expectSeq needs expectHead' });

export function register(r: RouteRegistry, { sql }: AppDeps) {
  defineRoute(r, {
    method: 'get', path: '/audit-log', role: 'admin', query: listQuery,
    response: z.object({ items: z.array(entry), nextCursor: z.string().nullable() }),
    summary: 'Audit log entries in chain order (oldest first), filtered by time, action or run',
    example: {
      response: {
        items: [{
          seq: 1, at: '2025-03-02T10:05:00.120Z', actor: 'key:privacy-officer', action: 'erasure.requested', reason: 'GDPR erasure request #4711',
          scope: { previewId: 'ep_3q2-7wXbZxk4Ykp1', campaignId: '1', timezone: 'America/New_York', items: ['voice-recording'], date: '2025-03-01' },
          counts: { 'voice-recording': 12, items: 12, interactions: 4, bytes: 768000 }, runId: 'erasure/1/2025-03-02T10:05:00.000Z',
          hash: '5f1c…', prevHash: '0000…',
        }],
        nextCursor: null,
      },
    },
  }, async ({ query }) => {
    if (query.from && query.to && Date.parse(query.from) > Date.parse(query.to)) {
      throw badRequest('from must not be after to.', [{ path: 'query.to', message: 'must not be before from' }]);
    }
    const rows = await sql<AuditRow[]>`
      select * from audit_log
      where seq > ${query.cursor ?? '0'}
        and (${query.from ?? null}::timestamptz is null or at >= ${query.from ?? null}::timestamptz)
        and (${query.to ?? null}::timestamptz is null or at < ${query.to ?? null}::timestamptz)
        and (${query.action ?? null}::text is null or action = ${query.action ?? null}::text)
        and (${query.runId ?? null}::text is null or run_id = ${query.runId ?? null}::text)
      order by seq limit ${query.limit + 1}`;
    const items = rows.slice(0, query.limit).map(entryOf);
    return { items, nextCursor: rows.length > query.limit ? String(items[items.length - 1].seq) : null };
  });

  defineRoute(r, {
    method: 'get', path: '/audit-log/verify', role: 'admin', query: verifyQuery, response: verdict,
    summary: 'Walk the hash chain; report the first entry that was altered, inserted or removed',
    description: 'With expectHead (and expectSeq) from an earlier GET /audit-log/head, also checks that the chain still holds that '
      + 'hash at that seq: a tail rewritten consistently by someone with database superuser rights passes the walk but not this.',
    example: { response: { ok: false, entries: 7, firstBadSeq: 7, problem: 'the content of seq 7 does not match its hash: it was altered' } },
  }, async ({ query }) => verifyAuditChain(sql, query.expectHead ? { hash: query.expectHead, seq: query.expectSeq } : undefined));

  defineRoute(r, {
    method: 'get', path: '/audit-log/head', role: 'admin', response: head,
    summary: 'The last entry of the chain (seq, hash, time): record it outside the database, then pass it to verify',
    example: { response: { seq: 42, hash: '5f1c0d…', at: '2025-03-02T10:05:00.120Z' } },
  }, async () => auditHead(sql));
}
