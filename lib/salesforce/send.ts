// One chunk of result records to Salesforce through sObject Collections (at most 200 records a request):
// an upsert on the job's external id field, or a create. Per-record errors come back per record (allOrNone
// false) and are returned with the record's key; a refused request (limits, 5xx) throws, with nothing saved.
import type { SalesforceConnection } from './connection.js';
import type { Outcome } from './ledger.js';

export const MAX_COLLECTION_RECORDS = 200;

interface SaveResult { id?: string; success: boolean; created?: boolean; errors?: { statusCode?: string; errorCode?: string; message?: string; fields?: string[] }[] }

export async function sendChunk(conn: SalesforceConnection, object: string, externalIdField: string | undefined, chunk: { key: string; record: Record<string, unknown> }[]): Promise<Outcome[]> {
  if (chunk.length > MAX_COLLECTION_RECORDS) throw new Error(`a chunk of ${chunk.length} records is more than Salesforce accepts (${MAX_COLLECTION_RECORDS})`);
  if (externalIdField) {
    // jsforce refuses a whole upsert when one record lacks the key: such records fail alone, the rest go.
    const keyless = chunk.filter((c) => c.record[externalIdField] === undefined || c.record[externalIdField] === null || c.record[externalIdField] === '');
    if (keyless.length) {
      const sent = await sendChunk(conn, object, externalIdField, chunk.filter((c) => !keyless.includes(c)));
      const byKey = new Map([...sent.map((o) => [o.key, o] as const),
        ...keyless.map((c) => [c.key, { key: c.key, error: `MISSING_EXTERNAL_ID: the external id field ${externalIdField} has no value for this result (its mapped column is empty)` }] as const)]);
      return chunk.map((c) => byKey.get(c.key)!);
    }
  }
  if (chunk.length === 0) return [];
  const records = chunk.map((c) => ({ attributes: { type: object }, ...c.record }));
  const results = (externalIdField
    ? await conn.sobject(object).upsert(records, externalIdField, { allOrNone: false })
    : await conn.sobject(object).create(records, { allOrNone: false })) as unknown as SaveResult[];
  if (!Array.isArray(results) || results.length !== chunk.length) {
    throw new Error(`Salesforce answered ${Array.isArray(results) ? results.length : 'no'} results for ${chunk.length} records`);
  }
  return chunk.map((c, i) => {
    const r = results[i];
    if (r.success) return { key: c.key, salesforceId: r.id, created: r.created ?? true };
    const error = (r.errors ?? []).map((e) => `${e.statusCode ?? e.errorCode ?? 'ERROR'}: ${e.message ?? ''}${e.fields?.length ? ` [${e.fields.join(', ')}]` : ''}`).join('; ');
    return { key: c.key, error: error || 'Salesforce refused the record without a reason' };
  });
}

/** The deterministic external key of a result when the job's external id field has no column mapped to it. */
export function externalKey(jobId: string, resultKey: string): string {
  return `cc-${jobId}-${resultKey}`;
}
