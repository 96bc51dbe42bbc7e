// The content-store objects of one report run, and the lock that makes the attempts of a run take turns.
//
// A run's CSV (kind 'report') and packaged file (kind 'delivery') are stored under keys fixed by the run id,
// not fresh random ones: an attempt that dies after writing its object but before committing the saved
// report (worker crash, lost connection) leaves an object that the retry overwrites, never an orphan. The
// attempts of one run hold a transaction-scoped advisory lock from before they write until they commit, so
// a late attempt (a worker presumed dead that was only slow) can never overwrite a committed file: it waits,
// then finds the file committed and returns it.
//
// An object is written before the saved_reports row that owns it commits, so it is first noted as pending
// (report_pending_objects, owned by this module), in its own committed statement; the transaction that
// saves the row takes the note away. A note that stays (the save never committed) lets the retention find
// and remove the object: no run leaves a report file outside the 30 days.
import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import type { Sql } from '../../db/sql.js';
import type { ContentStore } from '../content-store/types.js';

type Tx = postgres.TransactionSql<Record<string, never>>;

export type RunObjectKind = 'report' | 'delivery';

export function reportObjectKey(runId: string, kind: RunObjectKind): string {
  const digest = createHash('sha256').update(runId).digest('hex').slice(0, 40);
  return `reports/runs/${digest}/${kind}.enc`;
}

/** Waits for (and holds until the transaction ends) the lock of this run's `kind` file. */
export async function lockRunObject(tx: Tx, runId: string, kind: RunObjectKind): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${`report-run/${kind}/${runId}`}, 0))`;
}

/** Notes, committed, that `key` is about to be written and no saved report owns it yet. */
export async function notePendingObject(sql: Sql, runId: string, key: string): Promise<void> {
  await sql`insert into report_pending_objects (store_key, run_id) values (${key}, ${runId}) on conflict (store_key) do nothing`;
}

/** The saved report that owns `key` is inserted in this transaction: the object is no longer pending. */
export async function ownPendingObject(tx: Tx, key: string): Promise<void> {
  await tx`delete from report_pending_objects where store_key = ${key}`;
}

/** Removes objects noted pending before `olderThan` and never owned by a saved report: object first, then
 *  the note, so a crash in between leaves the note to retry. Returns how many were removed. */
export async function removeAbandonedObjects(sql: Sql, store: ContentStore, olderThan: Date, batch = 500): Promise<number> {
  let removed = 0;
  for (;;) {
    const rows = await sql<{ store_key: string }[]>`
      select store_key from report_pending_objects where created_at < ${olderThan} order by created_at limit ${batch}`;
    if (rows.length === 0) return removed;
    const keys = rows.map((r) => r.store_key);
    // A note whose row did commit (a note re-made by a late attempt after the save) owns nothing to remove.
    const owned = new Set((await sql<{ store_key: string }[]>`select store_key from saved_reports where store_key = any(${keys})`).map((r) => r.store_key));
    for (const key of keys) if (!owned.has(key)) await store.remove(key);
    await sql`delete from report_pending_objects where store_key = any(${keys})`;
    removed += keys.length - owned.size;
  }
}
