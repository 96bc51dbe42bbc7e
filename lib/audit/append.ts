// Appending to the audit log. The table lock makes appends strictly one after another: each reads the
// current tail and writes the next link in the same transaction, so two appends can never both chain to
// the same entry (the insert trigger and the seq primary key refuse it anyway). Readers are not blocked.
import type { TransactionSql } from 'postgres';
import type { Sql } from '../../db/sql.js';
import { GENESIS_HASH, hashAuditEntry, type AuditContent } from './chain.js';

export interface AuditInput {
  actor: string;
  action: string;
  reason?: string | null;
  scope?: Record<string, unknown>;
  counts?: Record<string, unknown>;
  runId?: string | null;
  at?: Date;
}

export interface AuditEntry extends AuditContent { hash: string }

type Tx = TransactionSql<Record<string, never>>;

export async function appendAudit(sql: Sql, input: AuditInput): Promise<AuditEntry> {
  return sql.begin((tx) => appendInTransaction(tx, input)) as Promise<AuditEntry>;
}

/**
 * Appends unless the run already has an entry with one of `sameAs` (default: this action) — the idempotent
 * form activities use, so a retried or replayed step never writes its entry twice. Returns the entry that
 * is in the log.
 */
export async function appendAuditOnce(sql: Sql, input: AuditInput & { runId: string }, sameAs: readonly string[] = [input.action]): Promise<AuditEntry> {
  return sql.begin(async (tx) => {
    await lockAuditLog(tx);
    const [existing] = await tx<AuditRow[]>`
      select * from audit_log where run_id = ${input.runId} and action in ${tx(sameAs as string[])} order by seq limit 1`;
    if (existing) return entryOf(existing);
    return appendInTransaction(tx, input);
  }) as Promise<AuditEntry>;
}

/** Appends inside the caller's transaction, so the entry commits or rolls back with the change it records. */
export function appendAuditInTransaction(tx: Tx, input: AuditInput): Promise<AuditEntry> {
  return appendInTransaction(tx, input);
}

async function lockAuditLog(tx: Tx): Promise<void> {
  await tx`lock table audit_log in exclusive mode`;
}

async function appendInTransaction(tx: Tx, input: AuditInput): Promise<AuditEntry> {
  await lockAuditLog(tx);
  const [tail] = await tx<{ seq: string; hash: string }[]>`select seq, hash from audit_log order by seq desc limit 1`;
  // Millisecond precision, so the time read back from timestamptz hashes the same.
  const at = new Date(Math.floor((input.at ?? new Date()).getTime()));
  const content: AuditContent = {
    seq: tail ? Number(tail.seq) + 1 : 1,
    at: at.toISOString(),
    actor: input.actor,
    action: input.action,
    reason: input.reason ?? null,
    scope: input.scope ?? {},
    counts: input.counts ?? {},
    runId: input.runId ?? null,
    prevHash: tail?.hash ?? GENESIS_HASH,
  };
  const hash = hashAuditEntry(content);
  await tx`
    insert into audit_log (seq, at, actor, action, reason, scope, counts, run_id, prev_hash, hash)
    values (${content.seq}, ${at}, ${content.actor}, ${content.action}, ${content.reason},
            ${tx.json(content.scope as never)}, ${tx.json(content.counts as never)}, ${content.runId}, ${content.prevHash}, ${hash})`;
  return { ...content, hash };
}

export interface AuditRow {
  seq: string; at: Date; actor: string; action: string; reason: string | null; scope: Record<string, unknown>;
  counts: Record<string, unknown>; run_id: string | null; prev_hash: string; hash: string;
}

export function entryOf(row: AuditRow): AuditEntry {
  return {
    seq: Number(row.seq), at: row.at.toISOString(), actor: row.actor, action: row.action, reason: row.reason,
    scope: row.scope, counts: row.counts, runId: row.run_id, prevHash: row.prev_hash, hash: row.hash,
  };
}
