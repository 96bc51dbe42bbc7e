// Bearer API keys. Only the SHA-256 of a key is stored; a presented key is hashed and looked up. The
// ADMIN_API_KEY from the environment (automation) is compared by hash in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Sql } from '../db/sql.js';
import { Problem } from './problem.js';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export type Privilege = 'erase';

/** Who is calling: recorded on runs and audit entries as `actor`. */
export interface Caller { keyId: string; name: string; role: Role; erase: boolean; actor: string }

declare module 'express-serve-static-core' {
  interface Request { caller?: Caller }
}

const KEY_PREFIX = 'ccj_';

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function roleAtLeast(role: Role, wanted: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(wanted);
}

/** The bearer token of a request, or undefined when there is none. */
export function bearerToken(req: Request): string | undefined {
  const header = req.get('authorization');
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : '';
}

export function createAuthenticator(sql: Sql, adminApiKey: string | undefined) {
  const adminHash = adminApiKey ? Buffer.from(hashApiKey(adminApiKey), 'hex') : undefined;

  /** The caller for a key, or undefined when the key is unknown or revoked. */
  async function callerFor(key: string): Promise<Caller | undefined> {
    const hash = hashApiKey(key);
    if (adminHash && timingSafeEqual(adminHash, Buffer.from(hash, 'hex'))) {
      return { keyId: 'env:ADMIN_API_KEY', name: 'ADMIN_API_KEY', role: 'admin', erase: true, actor: 'key:ADMIN_API_KEY' };
    }
    const [row] = await sql<{ id: string; name: string; role: Role; erase: boolean }[]>`
      select id, name, role, erase from api_keys where key_hash = ${hash} and revoked_at is null`;
    return row && { keyId: row.id, name: row.name, role: row.role, erase: row.erase, actor: `key:${row.name}` };
  }

  /** Resolves the caller of a request or throws 401. */
  async function authenticate(req: Request): Promise<Caller> {
    const token = bearerToken(req);
    if (token === undefined) {
      throw new Problem(401, 'This endpoint needs an API key: send "Authorization: Bearer <key>".');
    }
    const caller = token ? await callerFor(token) : undefined;
    if (!caller) throw new Problem(401, 'The API key is not valid or has been revoked.');
    req.caller = caller;
    return caller;
  }

  return { authenticate, callerFor };
}

export function authorize(caller: Caller, role: Role, privilege?: Privilege): void {
  if (!roleAtLeast(caller.role, role)) {
    throw new Problem(403, `This endpoint needs the ${role} role; the key "${caller.name}" has ${caller.role}.`);
  }
  if (privilege === 'erase' && !caller.erase) {
    throw new Problem(403, `This endpoint needs the erase privilege ("can edit and erase interaction records"); the key "${caller.name}" does not have it.`);
  }
}

/** The caller of an authenticated route (defineRoute sets it before the handler runs). */
export function callerOf(req: Request): Caller {
  if (!req.caller) throw new Error('callerOf() used on a route without authentication');
  return req.caller;
}
