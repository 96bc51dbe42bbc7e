// `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header), the one owner of `idempotency_keys`.
// A key belongs to one caller (API key) and one request: its method, path and body, hashed into a
// fingerprint. The same key with the same request replays the first reply (status and body) and starts
// nothing; the same key with another path or body is 422, never another request's run.
//
// The route registry (api/openapi.ts) applies this to every route declared `startsWork`, around the whole
// handler: an advisory lock on (API key, key) makes concurrent retries wait for the first, and the row is
// written in the same transaction as the work is started, so a failed start (a 409, a Temporal error)
// leaves no key behind and the retry runs again.
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { Sql } from '../db/sql.js';
import { callerOf } from './auth.js';
import { badRequest, Problem } from './problem.js';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
const MAX_KEY_LENGTH = 200;

export interface IdempotentReply<T> { status: number; body: T; replayed: boolean }

/** The key of the request (undefined when none was sent); 400 when it is empty or too long. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get(IDEMPOTENCY_HEADER);
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw badRequest(`The ${IDEMPOTENCY_HEADER} header must be 1-${MAX_KEY_LENGTH} characters; it has ${key.length}.`,
      [{ path: 'headers.idempotency-key', message: `must be 1-${MAX_KEY_LENGTH} characters` }]);
  }
  return key;
}

/** What makes two requests "the same request": method, path with query, and the JSON body (key order aside). */
export function requestFingerprint(req: Request): string {
  return fingerprintOf(req.method, req.originalUrl, req.body);
}

export function fingerprintOf(method: string, url: string, body: unknown): string {
  return createHash('sha256').update(`${method.toUpperCase()}\n${url}\n${canonicalJson(body)}`).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Runs `respond` once per (caller, key, request). Without a key it just runs. `respond` returns the reply
 * body; `statusOf` reads the status it chose (the route's, or one the handler set) after it ran.
 */
export async function respondIdempotently<T>(
  sql: Sql, req: Request, respond: () => Promise<T>, statusOf: () => number,
): Promise<IdempotentReply<T>> {
  const key = idempotencyKeyOf(req);
  if (key === undefined) return { status: 0, body: await respond(), replayed: false };
  const apiKeyId = callerOf(req).keyId;
  const fingerprint = requestFingerprint(req);
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtextextended(${`${apiKeyId}\n${key}`}, 0))`;
    const [used] = await tx<{ fingerprint: string | null; method: string | null; path: string | null; status: number | null; response: T }[]>`
      select fingerprint, method, path, status, response from idempotency_keys where api_key_id = ${apiKeyId} and key = ${key}`;
    if (used) {
      if (used.fingerprint !== fingerprint) throw keyReused(key, used, req);
      return { status: used.status ?? 0, body: used.response, replayed: true };
    }
    const body = await respond();
    const status = statusOf();
    const runId = (body as { runId?: unknown } | undefined)?.runId;
    await tx`
      insert into idempotency_keys (key, api_key_id, run_id, fingerprint, method, path, status, response)
      values (${key}, ${apiKeyId}, ${typeof runId === 'string' ? runId : null}, ${fingerprint}, ${req.method.toUpperCase()},
              ${req.originalUrl}, ${status}, ${tx.json((body ?? null) as never)})`;
    return { status, body, replayed: false };
  });
}

function keyReused(key: string, used: { fingerprint: string | null; method: string | null; path: string | null }, req: Request): Problem {
  const first = used.method ? `${used.method} ${used.path}` : 'a request made before keys were tied to requests';
  const same = used.method === req.method.toUpperCase() && used.path === req.originalUrl;
  return new Problem(422, `The ${IDEMPOTENCY_HEADER} ${JSON.stringify(key)} was already used for ${first}`
    + `${same ? ' with another body' : ''}; a key names one request. Send a new key for a new request, or repeat the first request unchanged to get its reply.`,
  { type: 'idempotency-key-reused', title: 'Idempotency-Key reused' });
}
