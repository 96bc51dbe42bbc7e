// Bulk delete (seed 001 "Delete Contact Records"): every contact of the campaign the filter matches, deleted
// in ONE transaction that first streams them, as CSV, into the content store: `delete … returning` read through
// a cursor, so the file holds exactly the rows the statement deleted (its own snapshot) and neither side ever
// holds the list in memory. The result row is written in the same transaction (exactly once); the file is
// complete in the store before the COMMIT, so a committed deletion always has its CSV. Cancelled (the
// statement cancelled in PostgreSQL) or failed: rolled back, nothing deleted.
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { Sql } from '../../db/sql.js';
import { assertLockHeldBy } from '../campaign-lock/index.js';
import type { ContentStore } from '../content-store/index.js';
import { contactFilterSql } from '../contacts/filter.js';
import { castSafeString } from '../csv/formula.js';
import { cancellableOnAbort } from '../reports/run-guard.js';
import { processFileKey, processResult, recordProcessResult, type StoredResult } from './results.js';
import type { ContactFilter } from '../../contracts/contact-filter.js';

export const DELETED_COLUMNS = ['client_id', 'name', 'phone', 'phone2', 'phone3', 'email', 'status', 'priority',
  'major_reason', 'minor_reason', 'closed_at', 'list'] as const;

const BATCH = 2_000;

interface DeletedRow {
  client_id: string; name: string | null; phone: string | null; phone2: string | null; phone3: string | null; email: string | null;
  status: string; priority: number; major_reason: string | null; minor_reason: string | null; closed_at: Date | null; list: string | null;
  custom_fields: Record<string, unknown>;
}

export interface DeleteRequest { runId: string; campaignId: string; filter: ContactFilter; signal?: AbortSignal; onRows?: (rows: number) => void }

const cell = (value: unknown): string => (value === null || value === undefined ? '' : value instanceof Date ? value.toISOString()
  : typeof value === 'object' ? JSON.stringify(value) : String(value));

export async function deleteContacts(deps: { sql: Sql; store: ContentStore }, request: DeleteRequest): Promise<StoredResult> {
  const { sql, store } = deps;
  const { runId, campaignId, filter, signal } = request;
  const done = await processResult(sql, runId);
  if (done) return done;
  const key = processFileKey(runId, 'delete');
  try {
    return await sql.begin((begun) => {
      const tx = begun as unknown as Sql;
      return cancellableOnAbort(sql, begun, signal, async () => {
        await assertLockHeldBy(tx, campaignId, runId);
        const where = contactFilterSql(tx, campaignId, filter);
        // The custom fields' names become columns (the CSV can be imported back); read in this transaction,
        // which holds the campaign lock: no edit adds a field between this and the delete.
        const custom = (await tx<{ k: string }[]>`
          select distinct k from contacts c, jsonb_object_keys(c.custom_fields) k where ${where} order by k`).map((r) => r.k);
        let deleted = 0;
        const rows = tx<DeletedRow[]>`
          delete from contacts c where ${where}
          returning c.client_id, c.name, c.email, c.status, c.priority, c.major_reason, c.minor_reason, c.closed_at, c.custom_fields,
            (select number from contact_phones p where p.contact_id = c.id and p.position = 1) as phone,
            (select number from contact_phones p where p.contact_id = c.id and p.position = 2) as phone2,
            (select number from contact_phones p where p.contact_id = c.id and p.position = 3) as phone3,
            (select l.name from calling_lists l where l.id = c.list_id) as list`.cursor(BATCH);
        async function* csv() {
          yield stringify([[...DELETED_COLUMNS, ...custom]], { cast: { string: castSafeString } });
          for await (const batch of rows) {
            deleted += batch.length;
            request.onRows?.(deleted);
            yield stringify(batch.map((r) => [
              ...DELETED_COLUMNS.map((column) => cell(r[column])),
              ...custom.map((name) => cell(r.custom_fields[name])),
            ]), { cast: { string: castSafeString } });
          }
        }
        const stored = await store.put(Readable.from(csv()), { key });
        const result: StoredResult = { counts: { matched: deleted, deleted, sizeBytes: stored.sizeBytes }, fileKey: stored.key, fileName: `deleted-contacts-${campaignId}.csv` };
        await assertLockHeldBy(tx, campaignId, runId);
        await recordProcessResult(tx, runId, result);
        return result;
      });
    });
  } catch (err) {
    // Rolled back: the CSV of contacts that were not deleted must not stay (a retry writes it again).
    if (!(await processResult(sql, runId).catch(() => null))) await store.remove(key).catch(() => undefined);
    throw err;
  }
}
