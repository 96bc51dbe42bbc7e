// The content-store objects of one report run, and the lock that makes the attempts of a run take turns.
//
// A run's CSV (kind 'report') and packaged file (kind 'delivery') are stored under keys fixed by the run id,
// not fresh random ones: an attempt that dies after writing its object but before committing the saved
// report (worker crash, lost connection) leaves an object that the retry overwrites, never an orphan. The
// attempts of one run hold a transaction-scoped advisory lock from before they write until they commit, so
// a late attempt (a worker presumed dead that was only slow) can never overwrite a committed file: it waits,
// then finds the file committed and returns it.
import { createHash } from 'node:crypto';
import type postgres from 'postgres';

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
