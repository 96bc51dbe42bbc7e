// What keeps a cancelled or terminated report run from committing its window (issue 20). Two guards:
//
// * The activity's cancellation (Temporal delivers a cancel, or a termination as "not found", on the next
//   heartbeat) cancels the statement its transaction is waiting on — a lock, the count — so the
//   transaction rolls back at once instead of committing when the wait ends. A COPY already streaming into
//   the content store runs to its end, and the transaction then rolls back (the check before returning).
// * The commit itself re-reads the run's record (runs, written by activities/runs.ts) under a share lock:
//   a run recorded cancelled, terminated or failed (by the workflow, or by the reconciler from Temporal's
//   truth) commits nothing. The share lock makes the record's end and the commit take turns.
import type postgres from 'postgres';
import type { Sql } from '../../db/sql.js';

type Tx = postgres.TransactionSql<Record<string, never>>;

export class RunClosedError extends Error {
  constructor(readonly runId: string, readonly status: string) {
    super(`Run ${runId} is already recorded ${status}: its report was not saved and its window not committed; the next run covers that window.`);
    this.name = 'RunClosedError';
  }
}

/** Throws RunClosedError when the run's record is closed; holds a share lock on it until the transaction ends.
 *  A run without a record (generated outside a workflow) is open. */
export async function assertRunStillOpen(tx: Tx, runId: string): Promise<void> {
  const [row] = await tx<{ status: string }[]>`select status from runs where run_id = ${runId} for share`;
  if (row && row.status !== 'running' && row.status !== 'scheduled') throw new RunClosedError(runId, row.status);
}

/**
 * Runs `work` in the transaction so that an abort of `signal` cancels the statement the transaction's
 * backend is running (pg_cancel_backend: a lock wait or a query ends with an error, and the transaction
 * rolls back). The cancel request is awaited before `work` returns, so it can never reach the connection
 * after it went back to the pool. Rethrows the abort reason (a CancelledFailure) instead of the query error.
 */
export async function cancellableOnAbort<T>(sql: Sql, tx: Tx, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  if (!signal) return work();
  signal.throwIfAborted();
  const [{ pid }] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
  let cancelling: Promise<unknown> | undefined;
  const onAbort = () => { cancelling = sql`select pg_cancel_backend(${pid})`.catch(() => {}); };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await work();
    signal.throwIfAborted();
    return result;
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    await cancelling;
  }
}
