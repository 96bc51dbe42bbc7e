// Exported copies registered for playback (interaction_content.exported_to, with exported_dest and
// exported_path since migration 0008): erasure removes each through the stored destination that wrote it,
// so the credentials are the export's own. Any protocol a recording export writes is supported (s3, file,
// sftp, ftp; see locations.ts for how a location is matched to a destination).
import type { Readable } from 'node:stream';
import type { Sql } from '../../db/sql.js';
import type { Keyring } from '../crypto/keys.js';
import { loadDestination, openStoredDestination, type StoredDestination } from '../destinations.js';
import { isPermanentFailure } from '../failures.js';
import { TransferError, type Transfer } from '../transfer/index.js';
import { placesAt, protocolOf, relativePathIn } from './locations.js';

export { parseS3Location } from './locations.js';

export class ExportedCopyUnreachableError extends Error {
  constructor(readonly location: string, why: string) {
    super(`The exported copy ${location} cannot be erased: ${why}`);
    this.name = 'ExportedCopyUnreachableError';
  }
}

/** Where a copy is: its location, and the destination and relative path that wrote it when recorded. */
export interface ExportedCopy { location: string; destinationId?: string | null; path?: string | null }

interface Resolved { transfer: Transfer; path: string }

export interface ExportedCopies {
  remove(copy: ExportedCopy): Promise<void>;
  /** Reads the copy back: true when any of it can still be read. */
  remains(copy: ExportedCopy): Promise<boolean>;
  close(): Promise<void>;
}

/** Opens destinations lazily, one connection per destination, for the lifetime of one batch. */
export function openExportedCopies(sql: Sql, keyring: Keyring): ExportedCopies {
  const transfers = new Map<string, Promise<Transfer>>();
  const loaded = new Map<string, Promise<StoredDestination | undefined>>();
  const byProtocol = new Map<string, Promise<string[]>>();

  const destination = (id: string) => {
    if (!loaded.has(id)) loaded.set(id, loadDestination(sql, keyring, id));
    return loaded.get(id)!;
  };

  function transferOf(d: StoredDestination): Promise<Transfer> {
    if (!transfers.has(d.id)) transfers.set(d.id, Promise.resolve(openStoredDestination(sql, d)));
    return transfers.get(d.id)!;
  }

  function idsOf(protocol: string): Promise<string[]> {
    if (!byProtocol.has(protocol)) {
      byProtocol.set(protocol, sql<{ id: string }[]>`select id from destinations where protocol = ${protocol} order by id`
        .then((rows) => rows.map((r) => r.id)));
    }
    return byProtocol.get(protocol)!;
  }

  async function resolve(copy: ExportedCopy): Promise<Resolved[]> {
    // The destination that wrote it, if it still puts that path at that location.
    if (copy.destinationId && copy.path) {
      const d = await destination(copy.destinationId);
      if (d && placesAt(d.settings, copy.path, copy.location)) return [{ transfer: await transferOf(d), path: copy.path }];
    }
    // Otherwise every destination that could hold it is asked; deleting an absent file is a no-op.
    const protocol = protocolOf(copy.location);
    if (!protocol) throw new ExportedCopyUnreachableError(copy.location, 'its location is not one a destination writes (s3://, file://, sftp://, ftp://).');
    const resolved: Resolved[] = [];
    for (const id of await idsOf(protocol)) {
      const d = await destination(id);
      const rel = d && relativePathIn(d.settings, copy.location);
      if (d && rel) resolved.push({ transfer: await transferOf(d), path: rel });
    }
    if (resolved.length === 0) {
      throw new ExportedCopyUnreachableError(copy.location,
        `no ${protocol} destination holds it (the destination that exported it was deleted or now points elsewhere); restore that destination (POST /destinations), then erase again with a new preview.`);
    }
    return resolved;
  }

  async function readable(target: Resolved): Promise<boolean> {
    let body: Readable;
    try {
      body = await target.transfer.get(target.path);
    } catch (err) {
      if (err instanceof TransferError && err.stage === 'read' && isPermanentFailure(err)) return false;
      throw err;
    }
    body.destroy();
    return true;
  }

  return {
    async remove(copy) {
      for (const target of await resolve(copy)) {
        if (await readable(target)) await target.transfer.remove(target.path);
      }
    },
    async remains(copy) {
      for (const target of await resolve(copy)) {
        if (await readable(target)) return true;
      }
      return false;
    },
    async close() {
      await Promise.allSettled([...transfers.values()].map(async (t) => (await t).close()));
    },
  };
}
