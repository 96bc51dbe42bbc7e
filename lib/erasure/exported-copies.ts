// Exported copies registered for playback (interaction_content.exported_to): the S3 location a recording
// export wrote, `s3://<bucket>/<key>` (PutResult.location). Erasure removes them through the stored
// destination that holds that bucket and key prefix, so the credentials are the export's own.
import type { Readable } from 'node:stream';
import type { Sql } from '../../db/sql.js';
import type { Keyring } from '../crypto/keys.js';
import { loadDestination } from '../destinations.js';
import { openTransfer, TransferError, type Transfer } from '../transfer/index.js';

export class ExportedCopyUnreachableError extends Error {
  constructor(readonly location: string, why: string) {
    super(`The exported copy ${location} cannot be erased: ${why}`);
    this.name = 'ExportedCopyUnreachableError';
  }
}

interface Resolved { transfer: Transfer; path: string }

export interface ExportedCopies {
  remove(location: string): Promise<void>;
  /** Reads the copy back: true when any of it can still be read. */
  remains(location: string): Promise<boolean>;
  close(): Promise<void>;
}

export function parseS3Location(location: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  return match ? { bucket: match[1], key: match[2] } : undefined;
}

/** Opens destinations lazily, one connection per destination, for the lifetime of one batch. */
export function openExportedCopies(sql: Sql, keyring: Keyring): ExportedCopies {
  const transfers = new Map<string, Promise<Transfer>>();

  async function transferOf(id: string): Promise<Transfer> {
    let opening = transfers.get(id);
    if (!opening) {
      opening = loadDestination(sql, keyring, id).then((d) => openTransfer(d!.settings, d!.secrets));
      transfers.set(id, opening);
    }
    return opening;
  }

  async function resolve(location: string): Promise<Resolved[]> {
    const parsed = parseS3Location(location);
    if (!parsed) throw new ExportedCopyUnreachableError(location, 'only s3:// locations are registered for playback.');
    const rows = await sql<{ id: string; prefix: string | null }[]>`
      select id, settings->>'path' as prefix from destinations
      where protocol = 's3' and settings->>'bucket' = ${parsed.bucket} order by id`;
    const resolved: Resolved[] = [];
    for (const row of rows) {
      const prefix = (row.prefix ?? '').split('/').filter(Boolean).join('/');
      if (prefix && !parsed.key.startsWith(`${prefix}/`)) continue;
      const rel = prefix ? parsed.key.slice(prefix.length + 1) : parsed.key;
      resolved.push({ transfer: await transferOf(row.id), path: rel });
    }
    if (resolved.length === 0) {
      throw new ExportedCopyUnreachableError(location,
        `no S3 destination holds bucket ${parsed.bucket} with a matching path; restore the destination the export used (POST /destinations), then run the erasure again.`);
    }
    return resolved;
  }

  async function readable(target: Resolved): Promise<boolean> {
    let body: Readable;
    try {
      body = await target.transfer.get(target.path);
    } catch (err) {
      if (err instanceof TransferError && err.stage === 'read' && err.permanent) return false;
      throw err;
    }
    body.destroy();
    return true;
  }

  return {
    async remove(location) {
      // Every destination that could hold the copy is asked; deleting an absent object is a no-op.
      for (const target of await resolve(location)) {
        if (await readable(target)) await target.transfer.remove(target.path);
      }
    },
    async remains(location) {
      for (const target of await resolve(location)) {
        if (await readable(target)) return true;
      }
      return false;
    },
    async close() {
      await Promise.allSettled([...transfers.values()].map(async (t) => (await t).close()));
    },
  };
}

