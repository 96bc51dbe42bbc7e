// Salesforce integration accounts as stored (salesforce_accounts): the login URL, user name and OAuth client id
// in clear, the password, security token and client secret sealed in one token (lib/crypto/secrets.ts). The API
// writes them (api/routes/salesforce.ts); the export's activities open a connection from them (connection.ts).
import type { Sql } from '../../db/sql.js';
import type { Keyring } from '../crypto/keys.js';
import { decryptSecret, encryptSecret } from '../crypto/secrets.js';

export interface AccountSecrets { password: string; securityToken?: string; clientSecret?: string }

export interface SalesforceAccount {
  id: string;
  name: string;
  loginUrl: string;
  username: string;
  clientId: string | null;
  secrets: AccountSecrets;
  createdAt: Date;
  updatedAt: Date;
}

export class SalesforceAccountNotFoundError extends Error {
  constructor(readonly accountId: string) {
    super(`Salesforce account ${accountId} does not exist; it may have been deleted. Pick another account for the job.`);
    this.name = 'SalesforceAccountNotFoundError';
  }
}

export function sealAccountSecrets(keyring: Keyring, secrets: AccountSecrets): string {
  const present = Object.fromEntries(Object.entries(secrets).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  return encryptSecret(keyring, JSON.stringify(present));
}

interface AccountRow { id: string; name: string; login_url: string; username: string; client_id: string | null; secrets: string; created_at: Date; updated_at: Date }

function fromRow(keyring: Keyring, row: AccountRow): SalesforceAccount {
  return {
    id: row.id, name: row.name, loginUrl: row.login_url, username: row.username, clientId: row.client_id,
    secrets: JSON.parse(decryptSecret(keyring, row.secrets)) as AccountSecrets, createdAt: row.created_at, updatedAt: row.updated_at,
  };
}

export async function loadAccount(sql: Sql, keyring: Keyring, id: string): Promise<SalesforceAccount | undefined> {
  const [row] = await sql<AccountRow[]>`
    select id, name, login_url, username, client_id, secrets, created_at, updated_at from salesforce_accounts where id = ${id}`;
  return row ? fromRow(keyring, row) : undefined;
}

export async function requireAccount(sql: Sql, keyring: Keyring, id: string): Promise<SalesforceAccount> {
  const account = await loadAccount(sql, keyring, id);
  if (!account) throw new SalesforceAccountNotFoundError(id);
  return account;
}
