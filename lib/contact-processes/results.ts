// The result of a contact process (list export, bulk delete, bulk status change), written in the same
// transaction as the change it reports: its presence is how a retried activity knows the change committed and
// must not be applied again, and how a cancel that came too late learns the process completed.
import { createHash } from 'node:crypto';
import type { Sql } from '../../db/sql.js';
import type { ContactProcessCounts, ContactProcessType } from '../../contracts/contact-process.js';

export interface StoredResult { counts: ContactProcessCounts; fileKey: string | null; fileName: string | null }

/** The content-store key of a run's file: fixed per run, so a retry rewrites it instead of orphaning one. */
export function processFileKey(runId: string, type: ContactProcessType): string {
  const digest = createHash('sha256').update(runId).digest('hex').slice(0, 40);
  return `contact-processes/${digest}/${type}.enc`;
}

export async function processResult(sql: Sql, runId: string): Promise<StoredResult | null> {
  const [row] = await sql<{ counts: ContactProcessCounts; file_key: string | null; file_name: string | null }[]>`
    select counts, file_key, file_name from contact_process_results where run_id = ${runId}`;
  return row ? { counts: row.counts, fileKey: row.file_key, fileName: row.file_name } : null;
}

/** Inside the transaction of the change: the result and the process row's counts and file. */
export async function recordProcessResult(tx: Sql, runId: string, result: StoredResult): Promise<void> {
  await tx`
    insert into contact_process_results (run_id, counts, file_key, file_name)
    values (${runId}, ${tx.json(result.counts as never)}, ${result.fileKey}, ${result.fileName})`;
  await tx`update list_imports set counts = ${tx.json(result.counts as never)}, file_key = ${result.fileKey}, file = coalesce(${result.fileName}, file)
           where run_id = ${runId}`;
}
