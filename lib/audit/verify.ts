// Walks the audit chain from the first entry, streaming, and reports the first entry that does not hold:
// a gap or jump in seq (entries removed or inserted), a prev_hash that is not the previous entry's hash,
// or a hash that does not match the entry's content (an entry altered).
import type { Sql } from '../../db/sql.js';
import { GENESIS_HASH, hashAuditEntry } from './chain.js';
import { entryOf, type AuditRow } from './append.js';

export type ChainVerdict =
  | { ok: true; entries: number; headHash: string }
  | { ok: false; entries: number; firstBadSeq: number; problem: string };

const PAGE = 1000;

export async function verifyAuditChain(sql: Sql): Promise<ChainVerdict> {
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
      expectedSeq = entry.seq + 1;
      prevHash = hash;
    }
    return undefined;
  });
  return bad ?? { ok: true, entries, headHash: prevHash };
}
