// Walks the audit chain from the first entry, streaming, and reports the first entry that does not hold:
// a gap or jump in seq (entries removed or inserted), a prev_hash that is not the previous entry's hash,
// or a hash that does not match the entry's content (an entry altered).
import type { Sql } from '../../db/sql.js';
import { GENESIS_HASH, hashAuditEntry } from './chain.js';
import { entryOf, type AuditRow } from './append.js';

export type ChainVerdict =
  | { ok: true; entries: number; headHash: string }
  | { ok: false; entries: number; firstBadSeq: number | null; problem: string };

/** The last entry of the chain: record it outside the database to detect a consistent rewrite later. */
export interface AuditHead { seq: number; hash: string; at: string | null }

/** A head recorded earlier: the chain must still hold this hash (at this seq, when given). */
export interface ExpectedHead { hash: string; seq?: number }

const PAGE = 1000;

export async function auditHead(sql: Sql): Promise<AuditHead> {
  const [row] = await sql<{ seq: string; hash: string; at: Date }[]>`select seq, hash, at from audit_log order by seq desc limit 1`;
  return row ? { seq: Number(row.seq), hash: row.hash, at: row.at.toISOString() } : { seq: 0, hash: GENESIS_HASH, at: null };
}

/**
 * Walks the chain; with `expect`, also checks that an earlier head is still in it. Whoever rewrites the
 * tail consistently (every hash recomputed) passes the walk but cannot keep a hash recorded outside.
 */
export async function verifyAuditChain(sql: Sql, expect?: ExpectedHead): Promise<ChainVerdict> {
  const verdict = await walkChain(sql, expect?.hash);
  if (!verdict.ok || !expect) return verdict.ok ? { ok: true, entries: verdict.entries, headHash: verdict.headHash } : verdict;
  return checkExpectedHead(verdict, expect);
}

function checkExpectedHead(chain: { entries: number; headHash: string; found?: number }, expect: ExpectedHead): ChainVerdict {
  const { entries, headHash, found } = chain;
  if (expect.hash === GENESIS_HASH && (expect.seq ?? 0) === 0) return { ok: true, entries, headHash };
  if (found !== undefined && (expect.seq === undefined || found === expect.seq)) return { ok: true, entries, headHash };
  if (expect.seq !== undefined && expect.seq > entries) {
    return { ok: false, entries, firstBadSeq: entries + 1, problem: `the recorded head is seq ${expect.seq} but the chain ends at seq ${entries}: entries were removed from its end` };
  }
  if (expect.seq !== undefined) {
    return { ok: false, entries, firstBadSeq: expect.seq, problem: `seq ${expect.seq} no longer has the recorded hash ${expect.hash}: the chain was rewritten at or before it` };
  }
  return { ok: false, entries, firstBadSeq: null, problem: `the recorded head ${expect.hash} is not in the chain: it was rewritten (pass expectSeq to locate where)` };
}

async function walkChain(sql: Sql, lookFor?: string): Promise<ChainVerdict & { found?: number }> {
  let found: number | undefined;
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let entries = 0;
  let bad: ChainVerdict | undefined;
  await sql<AuditRow[]>`select * from audit_log order by seq`.cursor(PAGE, (rows) => {
    for (const row of rows) {
      entries++;
      const { hash, ...entry } = entryOf(row);
      const problem =
        entry.seq !== expectedSeq ? `seq ${entry.seq} follows seq ${expectedSeq - 1}: entries were removed or inserted`
        : entry.prevHash !== prevHash ? `prev_hash of seq ${entry.seq} is not the hash of the entry before it`
        : hashAuditEntry(entry) !== hash ? `the content of seq ${entry.seq} does not match its hash: it was altered`
        : undefined;
      if (problem) {
        bad = { ok: false, entries, firstBadSeq: entry.seq, problem };
        return sql.CLOSE;
      }
      if (hash === lookFor) found = entry.seq;
      expectedSeq = entry.seq + 1;
      prevHash = hash;
    }
    return undefined;
  });
  return bad ?? { ok: true, entries, headHash: prevHash, found };
}
