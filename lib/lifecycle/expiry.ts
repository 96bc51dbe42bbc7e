// Storage time (seed 000: recordings are kept "for the recordings storage time agreed upon with your service
// provider"; "Expired recordings are deleted automatically"). Content completed more than RECORDING_STORAGE_DAYS
// ago expires: its object leaves the content store, store_key is cleared and expired_at/expired_run set; the row
// keeps its metadata (size, checksum, the registered S3 playback copy). Not an erasure: no audit entry, and the
// exported playback copy stays (it is what plays after expiry).
//
// Exact and resumable like erasure: a batch removes its objects, reads them back (none may remain), and only
// then clears the rows still pointing at those objects. A worker killed anywhere leaves rows pointing at objects
// that may be gone; the batch retried selects them again (store_key still set), removes again (a missing object
// is not an error) and clears them. Counts are read from expired_run, so retries never count twice.
import type { Sql } from '../../db/sql.js';
import { removeAll, stillHeld } from '../content-store/index.js';
import type { ContentStore } from '../content-store/types.js';

export const DAY_MS = 86_400_000;

/** The completion time before which content has expired at `now` (null: no storage time, kept forever). */
export function expiryCutoff(storageDays: number | undefined, now: Date): Date | null {
  return storageDays === undefined ? null : new Date(now.getTime() - storageDays * DAY_MS);
}

/** The position of an expiry run: strictly after (completedAt, id) in completion order. */
export interface ExpiryCursor { completedAt: string; id: string }

export const START: ExpiryCursor = { completedAt: '-infinity', id: '0' };

export interface ExpiryBatch {
  /** Rows looked at (held content completed before the cutoff). */
  processed: number;
  /** Rows this call expired (a retry after a crash may find some already expired by the dead attempt). */
  expired: number;
  bytes: number;
  /** Where the next batch starts; null when nothing was left. */
  last: ExpiryCursor | null;
}

interface Target { id: string; kind: string; store_key: string; size_bytes: string | null; completed_at: string }

/** Held content completed before the cutoff, not erased (countable before a run, for progress). */
export async function countExpiring(sql: Sql, cutoff: string): Promise<number> {
  const [row] = await sql<{ n: string }[]>`
    select count(*) as n from interaction_content
    where store_key is not null and erased_at is null and completed_at < ${cutoff}::text::timestamptz`;
  return Number(row.n);
}

export async function expireBatch(deps: { sql: Sql; store: ContentStore }, input: {
  runId: string; cutoff: string; after: ExpiryCursor; limit: number; heartbeat?: () => void;
}): Promise<ExpiryBatch> {
  const { sql, store } = deps;
  const targets = await sql<Target[]>`
    select id, kind, store_key, size_bytes, to_json(completed_at) #>> '{}' as completed_at
    from interaction_content
    where store_key is not null and erased_at is null and completed_at < ${input.cutoff}::text::timestamptz
      and (completed_at, id) > (${input.after.completedAt}::text::timestamptz, ${input.after.id}::bigint)
    order by completed_at, id
    limit ${input.limit}`;
  if (targets.length === 0) return { processed: 0, expired: 0, bytes: 0, last: null };
  const keys = targets.map((t) => t.store_key);
  await removeAll(store, keys);
  input.heartbeat?.();
  // Read back: the database says "expired" only for content that is really gone.
  const held = await stillHeld(store, keys);
  if (held.length) throw new Error(`${held.length} content object(s) could still be read after their removal; the batch is retried.`);
  input.heartbeat?.();
  // Only rows still pointing at what was removed: content replaced meanwhile (a new upload) is new bytes, left
  // for the next run; content erased meanwhile is the erasure's.
  const cleared = await sql<{ size_bytes: string | null }[]>`
    update interaction_content c
    set store_key = null, expired_at = now(), expired_run = ${input.runId}
    from jsonb_to_recordset(${sql.json(targets.map((t) => ({ id: t.id, store_key: t.store_key })) as never)}) as t(id bigint, store_key text)
    where c.id = t.id and c.store_key = t.store_key and c.erased_at is null
    returning c.size_bytes`;
  const last = targets[targets.length - 1];
  return {
    processed: targets.length, expired: cleared.length, bytes: cleared.reduce((sum, r) => sum + Number(r.size_bytes ?? 0), 0),
    last: { completedAt: last.completed_at, id: String(last.id) },
  };
}

/** What a run expired, per content kind, from the rows themselves (exact across retries and crashes). */
export async function countExpired(sql: Sql, runId: string): Promise<{ expired: number; bytes: number; byKind: Record<string, number> }> {
  const rows = await sql<{ kind: string; n: string; bytes: string }[]>`
    select kind, count(*) as n, coalesce(sum(size_bytes), 0) as bytes from interaction_content where expired_run = ${runId} group by kind`;
  const byKind = Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
  return { expired: rows.reduce((s, r) => s + Number(r.n), 0), bytes: rows.reduce((s, r) => s + Number(r.bytes), 0), byKind };
}

/** Whether a content row is past the storage time now (its object may be going: an export that finds it
 *  missing reports it expired, not failed). */
export async function isPastStorageTime(sql: Sql, contentId: string, storageDays: number | undefined, now: Date): Promise<boolean> {
  const cutoff = expiryCutoff(storageDays, now);
  const [row] = await sql<{ past: boolean }[]>`
    select expired_at is not null or (${cutoff?.toISOString() ?? null}::text::timestamptz is not null and completed_at < ${cutoff?.toISOString() ?? null}::text::timestamptz) as past
    from interaction_content where id = ${contentId}`;
  return row?.past ?? false;
}
