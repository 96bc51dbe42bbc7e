// One logged-in connection per account and worker process, reused across the chunks and runs of its jobs: a
// session that expires between two chunks is renewed by jsforce's refresh (a new login) on the next request,
// rather than every chunk paying a login. A changed account (updated_at) gets a new connection.
import type { SalesforceAccount } from './accounts.js';
import { openSalesforce, type SalesforceConnection } from './connection.js';

const cache = new Map<string, { version: number; conn: Promise<SalesforceConnection> }>();

export function sharedConnection(account: SalesforceAccount): Promise<SalesforceConnection> {
  const version = account.updatedAt.getTime();
  const cached = cache.get(account.id);
  if (cached && cached.version === version) return cached.conn;
  const conn = openSalesforce(account);
  cache.set(account.id, { version, conn });
  // A failed login is not kept: the next attempt logs in again.
  conn.catch(() => { if (cache.get(account.id)?.conn === conn) cache.delete(account.id); });
  return conn;
}

/** Forgets the account's connection (after an error that may have left it unusable). */
export function dropConnection(accountId: string): void {
  cache.delete(accountId);
}
