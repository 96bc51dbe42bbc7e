// `Idempotency-Key`: a retried "start" request returns the run the first one started instead of starting
// another. Keys are per API key. An advisory lock on (api key, idempotency key) makes concurrent retries
// wait for the first, and the row is written in the same transaction as the start, so a failed start
// leaves no key behind.
import type { Request } from 'express';
import type { Sql } from '../db/sql.js';
import { callerOf } from './auth.js';
import { badRequest } from './problem.js';

export interface IdempotentStart { runId: string; replayed: boolean }

export async function startWorkflowIdempotent(sql: Sql, req: Request, start: () => Promise<string>): Promise<IdempotentStart> {
  const key = req.get('idempotency-key');
  if (key === undefined) return { runId: await start(), replayed: false };
  if (key.length === 0 || key.length > 200) {
    throw badRequest('The Idempotency-Key header must be 1-200 characters.', [{ path: 'headers.idempotency-key', message: 'must be 1-200 characters' }]);
  }
  const apiKeyId = callerOf(req).keyId;
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtextextended(${`${apiKeyId}\n${key}`}, 0))`;
    const [existing] = await tx<{ run_id: string }[]>`
      select run_id from idempotency_keys where api_key_id = ${apiKeyId} and key = ${key}`;
    if (existing) return { runId: existing.run_id, replayed: true };
    const runId = await start();
    await tx`insert into idempotency_keys (key, api_key_id, run_id) values (${key}, ${apiKeyId}, ${runId})`;
    return { runId, replayed: false };
  });
}
