// Destinations as stored: settings in clear (jsonb), credentials encrypted as one secret token. The API
// writes them; job activities open them here, so decryption and protocol choice live in one place.
import type { Sql } from '../db/sql.js';
import { config } from './config.js';
import { decryptSecret, encryptSecret } from './crypto/secrets.js';
import type { Keyring } from './crypto/keys.js';
import { openTransfer, type DestinationSecrets, type DestinationSettings, type Protocol, type Transfer, type TransferHooks } from './transfer/index.js';

export interface StoredDestination {
  id: string;
  name: string;
  settings: DestinationSettings;
  secrets: DestinationSecrets;
  createdAt: Date;
  updatedAt: Date;
}

export class DestinationNotFoundError extends Error {
  constructor(readonly destinationId: string) {
    super(`Destination ${destinationId} does not exist; it may have been deleted. Pick another destination for the job.`);
    this.name = 'DestinationNotFoundError';
  }
}

/** The encrypted token for the `secrets` column, or null when there are none. */
export function sealSecrets(keyring: Keyring, secrets: DestinationSecrets): string | null {
  const present = Object.fromEntries(Object.entries(secrets).filter(([, value]) => value !== undefined && value !== null && value !== ''));
  return Object.keys(present).length ? encryptSecret(keyring, JSON.stringify(present)) : null;
}

export function unsealSecrets(keyring: Keyring, token: string | null): DestinationSecrets {
  return token ? (JSON.parse(decryptSecret(keyring, token)) as DestinationSecrets) : {};
}

export async function loadDestination(sql: Sql, keyring: Keyring, id: string): Promise<StoredDestination | undefined> {
  const [row] = await sql<{ id: string; name: string; protocol: Protocol; settings: Record<string, unknown>; secrets: string | null; created_at: Date; updated_at: Date }[]>`
    select id, name, protocol, settings, secrets, created_at, updated_at from destinations where id = ${id}`;
  if (!row) return undefined;
  return {
    id: row.id,
    name: row.name,
    settings: { ...(row.settings as Omit<DestinationSettings, 'protocol'>), protocol: row.protocol },
    secrets: unsealSecrets(keyring, row.secrets),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A Transfer for a stored destination (connections open lazily; always `close()` it). */
export async function openDestination(sql: Sql, keyring: Keyring, id: string): Promise<Transfer> {
  const destination = await loadDestination(sql, keyring, id);
  if (!destination) throw new DestinationNotFoundError(id);
  return openStoredDestination(sql, destination);
}

/** A Transfer for a destination already loaded, which records what it learns (e.g. an sftp host key). A `file`
 *  destination is confined to FILE_DESTINATION_ROOT (this process's configuration) at every call. */
export function openStoredDestination(sql: Sql, destination: StoredDestination): Transfer {
  return openTransfer(destination.settings, destination.secrets, destinationHooks(sql, destination.id));
}

export function destinationHooks(sql: Sql, id: string): TransferHooks {
  return {
    fileRoot: config().fileDestinationRoot,
    // Trust on first use: the first key seen is pinned, and only while none is, so of two concurrent first
    // connections meeting different keys one is refused before it authenticates. GET /destinations/{id} shows it.
    async pinHostKey(fingerprint) {
      await sql`
        update destinations set settings = settings || jsonb_build_object('hostKeyFingerprint', ${fingerprint}::text)
        where id = ${id} and protocol = 'sftp' and settings->>'hostKeyFingerprint' is null`;
      const [row] = await sql<{ pinned: string | null }[]>`select settings->>'hostKeyFingerprint' as pinned from destinations where id = ${id}`;
      return row?.pinned ?? fingerprint;
    },
  };
}
