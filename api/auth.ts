// Bearer API keys. Only the SHA-256 of a key is stored; a presented key is hashed and looked up. The
// ADMIN_API_KEY from the environment (automation) is compared by hash in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Config } from '../lib/config.js';
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

/** Throws 403 unless the caller has the role (and the privilege). `action` names what needs them when it
 *  is a part of an endpoint, not the whole (e.g. 'grant the erase privilege'). */
export function authorize(caller: Caller, role: Role, privilege?: Privilege, action?: string): void {
  const needs = action ? `To ${action} you need` : 'This endpoint needs';
  if (!roleAtLeast(caller.role, role)) {
    throw new Problem(403, `${needs} the ${role} role; the key "${caller.name}" has ${caller.role}.`);
  }
  if (privilege === 'erase' && !caller.erase) {
    throw new Problem(403, `${needs} the erase privilege ("can edit and erase interaction records"); the key "${caller.name}" does not have it.`);
  }
}

/** The caller of an authenticated route (defineRoute sets it before the handler runs). */
export function callerOf(req: Request): Caller {
  if (!req.caller) throw new Error('callerOf() used on a route without authentication');
  return req.caller;
}

/** The origins Temporal UI is served from: the only web pages allowed to call the codec. */
export function temporalUiOrigins(config: Pick<Config, 'TEMPORAL_UI_PORT' | 'TEMPORAL_UI_URL'>): Set<string> {
  const origins = new Set([`http://127.0.0.1:${config.TEMPORAL_UI_PORT}`, `http://localhost:${config.TEMPORAL_UI_PORT}`]);
  if (config.TEMPORAL_UI_URL) origins.add(new URL(config.TEMPORAL_UI_URL).origin);
  return origins;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARD_BINDS = new Set(['', '0.0.0.0', '::', '[::]']);

/** The host name of a Host header, lower case, IPv6 in brackets, without the port. */
export function hostName(host: string): string {
  const lower = host.trim().toLowerCase();
  return lower.startsWith('[') ? lower.slice(0, lower.indexOf(']') + 1) : lower.split(':')[0];
}

/**
 * Guards the routes served without a key to callers on this machine (codec, metrics). The TCP peer alone
 * does not say who asks: a web page open in a browser on this machine reaches loopback too, by DNS
 * rebinding (evil.example resolving to 127.0.0.1) or from another local origin. Such a request names a
 * foreign host in Host or carries its page's Origin, so a keyless request must address this machine by a
 * loopback name (or API_HOST) and come from no web page but Temporal UI's (or none). A request with a key
 * is left to the key check.
 */
export function keylessCallerGuard(config: Pick<Config, 'API_HOST' | 'TEMPORAL_UI_PORT' | 'TEMPORAL_UI_URL'>): RequestHandler {
  const hosts = new Set(LOOPBACK_NAMES);
  const apiHost = hostName(config.API_HOST.includes(':') && !config.API_HOST.startsWith('[') ? `[${config.API_HOST}]` : config.API_HOST);
  if (!WILDCARD_BINDS.has(apiHost)) hosts.add(apiHost);
  const uiOrigins = temporalUiOrigins(config);
  return (req, _res, next) => {
    if (bearerToken(req) !== undefined) return next();
    const host = req.get('host');
    const origin = req.get('origin');
    const hostOk = host !== undefined && hosts.has(hostName(host));
    const originOk = origin === undefined || uiOrigins.has(origin) || (hostOk && origin === `http://${host!.toLowerCase()}`);
    if (hostOk && originOk) return next();
    next(new Problem(401, `Without a key this endpoint answers only requests addressed to this machine (Host ${[...hosts].join(', ')}) `
      + `from no web page but Temporal UI's; this one has Host "${host ?? ''}"${origin ? ` and Origin "${origin}"` : ''}. `
      + 'Send "Authorization: Bearer <key>".'));
  };
}
