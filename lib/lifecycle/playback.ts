// Where a recording is played back from (seed 000, "Use exported files for playback in interaction search"):
// the content store while the recording is kept; after its storage time, the S3 object of the last export that
// had useForPlayback (interaction_content.exported_to, with the destination and path that wrote it); otherwise
// nowhere, and the reason is said. Erased content is never played back, from any copy.
import type { Readable } from 'node:stream';
import type { Sql } from '../../db/sql.js';
import type { ContentStore } from '../content-store/types.js';
import type { Keyring } from '../crypto/keys.js';
import { loadDestination, openStoredDestination } from '../destinations.js';
import { isPermanentFailure } from '../failures.js';
import { TransferError } from '../transfer/index.js';

export interface PlaybackTarget { interactionId: string; segment: number | null }

export type PlaybackSource =
  | { from: 'store'; contentId: string; key: string; sizeBytes: number | null }
  | { from: 'export'; contentId: string; destinationId: string; path: string; location: string; sizeBytes: number | null; expiredAt: Date }
  | { from: 'none'; status: 404 | 410; type: string; detail: string };

interface Row {
  id: string; store_key: string | null; size_bytes: string | null; erased_at: Date | null; expired_at: Date | null;
  exported_to: string | null; exported_dest: string | null; exported_path: string | null; exported_size: string | null;
}

const numberOrNull = (v: string | null) => (v === null ? null : Number(v));

/** Decides where the recording of an interaction (or of one agent segment) is played back from. */
export async function findPlayback(sql: Sql, target: PlaybackTarget): Promise<PlaybackSource> {
  const what = target.segment === null ? `interaction ${target.interactionId}` : `segment ${target.segment} of interaction ${target.interactionId}`;
  const [row] = await sql<Row[]>`
    select ic.id, ic.store_key, ic.size_bytes, ic.erased_at, ic.expired_at, ic.exported_to, ic.exported_dest, ic.exported_path,
           (select re.size_bytes from recording_exports re
            where re.content_id = ic.id and re.location = ic.exported_to and re.result = 'exported'
            order by re.exported_at desc limit 1) as exported_size
    from interaction_content ic
    where ic.interaction_id = ${target.interactionId} and ic.kind = 'voice-recording'
      and ic.segment is not distinct from ${target.segment}::int`;
  if (row?.erased_at) {
    return {
      from: 'none', status: 410, type: 'recording-erased',
      detail: `The recording of ${what} was erased on ${row.erased_at.toISOString()} (an erasure of interaction content); erased content is never played back, from any copy.`,
    };
  }
  if (row?.store_key) return { from: 'store', contentId: String(row.id), key: row.store_key, sizeBytes: numberOrNull(row.size_bytes) };
  if (row?.expired_at) {
    if (row.exported_to && row.exported_dest && row.exported_path) {
      return {
        from: 'export', contentId: String(row.id), destinationId: String(row.exported_dest), path: row.exported_path, location: row.exported_to,
        sizeBytes: numberOrNull(row.exported_size) ?? numberOrNull(row.size_bytes), expiredAt: row.expired_at,
      };
    }
    return {
      from: 'none', status: 410, type: 'recording-expired',
      detail: `The recording of ${what} expired on ${row.expired_at.toISOString()} (the provider's recording storage time, RECORDING_STORAGE_DAYS) `
        + 'and no export registered a playback copy: only an export to Amazon S3 with useForPlayback keeps a recording playable after '
        + 'its storage time; recordings exported by FTP or SFTP are no longer accessible here.',
    };
  }
  return { from: 'none', status: 404, type: 'not-found', detail: `No recording of ${what} was uploaded (PUT its …/recording first).` };
}

export class PlaybackGoneError extends Error {
  constructor(readonly type: string, detail: string) {
    super(detail);
    this.name = 'PlaybackGoneError';
  }
}

/** Opens the source's bytes (WAV, plaintext) from the start; `close` releases a destination connection. */
export async function openPlayback(deps: { sql: Sql; store: ContentStore; keyring: Keyring }, source: PlaybackSource & { from: 'store' | 'export' }): Promise<{ body: Readable; close(): Promise<void> }> {
  if (source.from === 'store') return { body: await deps.store.get(source.key), close: async () => {} };
  const destination = await loadDestination(deps.sql, deps.keyring, source.destinationId);
  const expired = `The recording expired on ${source.expiredAt.toISOString()}`;
  if (!destination) {
    throw new PlaybackGoneError('recording-copy-unreachable', `${expired} and the destination that holds its exported playback copy (destination ${source.destinationId}) was deleted.`);
  }
  if (destination.settings.protocol !== 's3') {
    throw new PlaybackGoneError('recording-copy-unreachable', `${expired}; its registered copy is not on Amazon S3 (${destination.settings.protocol}), and only S3 copies are played back.`);
  }
  const transfer = openStoredDestination(deps.sql, destination);
  try {
    const body = await transfer.get(source.path);
    return { body, close: () => transfer.close() };
  } catch (err) {
    await transfer.close().catch(() => undefined);
    if (err instanceof TransferError && err.stage === 'read' && isPermanentFailure(err)) {
      throw new PlaybackGoneError('recording-copy-gone', `${expired} and its exported playback copy is no longer readable in its S3 bucket (${err.message}).`);
    }
    throw err;
  }
}
