// Console sessions: sign-in with an API key gives an opaque cookie (only its SHA-256 is stored) and a CSRF
// token for the session's forms. The key is kept encrypted (lib/crypto/secrets.ts) because every page and
// action calls the API's own routes with it (api/console/api-client.ts): the console has no rules of its own.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Sql } from '../../db/sql.js';
import { decryptSecret, encryptSecret } from '../../lib/crypto/secrets.js';
import type { Keyring } from '../../lib/crypto/keys.js';
import type { Caller, Role } from '../auth.js';

export const SESSION_COOKIE = 'ccj_console';
/** Absolute lifetime of a session: an administrator signs in again after a working day. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export interface Session { idHash: string; csrf: string; apiKey: string; name: string; role: Role; erase: boolean; expiresAt: Date }

const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export async function createSession(sql: Sql, keyring: Keyring, apiKey: string, caller: Caller, ttlMs = SESSION_TTL_MS): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + ttlMs);
  await sql`delete from console_sessions where expires_at < now()`;
  await sql`
    insert into console_sessions (id_hash, csrf_token, api_key, key_name, role, erase, expires_at)
    values (${hash(token)}, ${randomBytes(32).toString('base64url')}, ${encryptSecret(keyring, apiKey)},
            ${caller.name}, ${caller.role}, ${caller.erase}, ${expiresAt})`;
  return { token, expiresAt };
}

export async function loadSession(sql: Sql, keyring: Keyring, token: string | undefined): Promise<Session | undefined> {
  if (!token) return undefined;
  const [row] = await sql<{ id_hash: string; csrf_token: string; api_key: string; key_name: string; role: Role; erase: boolean; expires_at: Date }[]>`
    select id_hash, csrf_token, api_key, key_name, role, erase, expires_at from console_sessions
    where id_hash = ${hash(token)} and expires_at > now()`;
  if (!row) return undefined;
  return {
    idHash: row.id_hash, csrf: row.csrf_token, apiKey: decryptSecret(keyring, row.api_key), name: row.key_name,
    role: row.role, erase: row.erase, expiresAt: row.expires_at,
  };
}

export async function endSession(sql: Sql, session: Session): Promise<void> {
  await sql`delete from console_sessions where id_hash = ${session.idHash}`;
}

/** A cookie's value from the Cookie header (no cookie library: our cookies are plain base64url). */
export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

export const sessionToken = (req: Request) => readCookie(req, SESSION_COOKIE);

/** Behind a TLS-terminating proxy the request arrives as http with X-Forwarded-Proto: https. */
export function isHttps(req: Request): boolean {
  return req.protocol === 'https' || req.get('x-forwarded-proto')?.split(',')[0].trim().toLowerCase() === 'https';
}

export function setSessionCookie(req: Request, res: Response, token: string, expiresAt: Date): void {
  res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: isHttps(req), path: '/console', expires: expiresAt });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: isHttps(req), path: '/console' });
}

/** The CSRF token a state-changing request carries (form field `_csrf` or header X-CSRF-Token) matches the session's. */
export function csrfMatches(req: Request, session: Session): boolean {
  const sent = (req.body as Record<string, unknown> | undefined)?._csrf ?? req.get('x-csrf-token');
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent), b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}
