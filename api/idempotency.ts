// `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header), the one owner of `idempotency_keys`.
// A key belongs to one caller (API key) and one request: its method, path and body, hashed into a
// fingerprint. The same key with the same request replays the first reply (status and body) and starts
// nothing; the same key with another path or body is 422, never another request's run.
//
// The route registry (api/openapi.ts) applies this to every route declared `startsWork`, around the whole
// handler. The key is claimed first (a row without a reply; the primary key makes one request win), the
// handler runs, the reply is stored. The same request while the first is still in flight is 409 (as the
// draft says); a start that fails (a 409, a Temporal error) releases the key, so the retry runs again.
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

/** A claimed key whose request has not answered after this long was abandoned (its API process died): taken over. */
const ABANDONED_AFTER = '5 minutes';

interface KeyRow { fingerprint: string | null; method: string | null; path: string | null; status: number | null; response: unknown; abandoned: boolean }

/**
 * Runs `respond` once per (caller, key, request). Without a key it just runs. `respond` returns the reply
 * body; `statusOf` reads the status it chose (the route's, or one the handler set) after it ran.
 * The key is claimed (a row without a reply) before `respond` runs and no connection is held meanwhile, so
 * slow starts cannot exhaust the pool; the same request arriving while the first is in flight is 409.
 */
export async function respondIdempotently<T>(
  sql: Sql, req: Request, respond: () => Promise<T>, statusOf: () => number,
): Promise<IdempotentReply<T>> {
  const key = idempotencyKeyOf(req);
  if (key === undefined) return { status: 0, body: await respond(), replayed: false };
  const apiKeyId = callerOf(req).keyId;
  const fingerprint = requestFingerprint(req);
  const replay = await claimKey(sql, { apiKeyId, key, fingerprint, req });
  if (replay) return { status: replay.status, body: replay.body as T, replayed: true };
  let body: T;
  try {
    body = await respond();
  } catch (err) {
    // A request that failed keeps no key: the client may send it again with the same key.
    await sql`delete from idempotency_keys where api_key_id = ${apiKeyId} and key = ${key} and status is null`;
    throw err;
  }
  const status = statusOf();
  const runId = (body as { runId?: unknown } | undefined)?.runId;
  await sql`
    update idempotency_keys set status = ${status}, response = ${sql.json((body ?? null) as never)}, run_id = ${typeof runId === 'string' ? runId : null}
    where api_key_id = ${apiKeyId} and key = ${key}`;
  return { status, body, replayed: false };
}

/** Claims the key for this request; or the reply to replay; or a Problem (another request's key, 422; in flight, 409). */
async function claimKey(sql: Sql, claim: { apiKeyId: string; key: string; fingerprint: string; req: Request }): Promise<{ status: number; body: unknown } | undefined> {
  const { apiKeyId, key, fingerprint, req } = claim;
  const [claimed] = await sql`
    insert into idempotency_keys (key, api_key_id, fingerprint, method, path)
    values (${key}, ${apiKeyId}, ${fingerprint}, ${req.method.toUpperCase()}, ${req.originalUrl})
    on conflict (api_key_id, key) do nothing returning key`;
  if (claimed) return undefined;
  const [used] = await sql<KeyRow[]>`
    select fingerprint, method, path, status, response, created_at < now() - ${ABANDONED_AFTER}::interval as abandoned
    from idempotency_keys where api_key_id = ${apiKeyId} and key = ${key}`;
  if (!used) return claimKey(sql, claim); // the first request failed and released the key just now
  if (used.fingerprint !== fingerprint) throw keyReused(key, used, req);
  if (used.status !== null) return { status: used.status, body: used.response };
  const [taken] = used.abandoned ? await sql`
    update idempotency_keys set created_at = now()
    where api_key_id = ${apiKeyId} and key = ${key} and status is null and created_at < now() - ${ABANDONED_AFTER}::interval
    returning key` : [];
  if (taken) return undefined;
  throw new Problem(409, `A request with the ${IDEMPOTENCY_HEADER} ${JSON.stringify(key)} is still being processed; `
    + 'send it again in a moment to get its reply.', { type: 'idempotency-key-in-use', title: 'Idempotency-Key in use' });
}

function keyReused(key: string, used: { fingerprint: string | null; method: string | null; path: string | null }, req: Request): Problem {
  const first = used.method ? `${used.method} ${used.path}` : 'a request made before keys were tied to requests';
  const same = used.method === req.method.toUpperCase() && used.path === req.originalUrl;
  return new Problem(422, `The ${IDEMPOTENCY_HEADER} ${JSON.stringify(key)} was already used for ${first}`
    + `${same ? ' with another body' : ''}; a key names one request. Send a new key for a new request, or repeat the first request unchanged to get its reply.`,
  { type: 'idempotency-key-reused', title: 'Idempotency-Key reused' });
}
