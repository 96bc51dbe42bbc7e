// Names the platform wrote that can carry personal data: a recording export's file-name template may hold
// `${customerPhone}` (or other customer fields), and the rendered name is kept in recording_exports (path,
// location, error — the rows a run's manifest is made from) and, for a copy registered for playback, in the
// erasure journal. Erasing an item's content also scrubs those stored names: each becomes a keyed hash,
// `erased:<key id>:<hmac>`, next to the row's run id, job id and content id. The hash is keyed (a key derived
// from the master key), so nobody can recover a name by trying phone numbers, while whoever holds the master
// key can still tell whether a given file name (from a partner's listing, say) was that row's. Only stored
// names change: no file is removed or renamed here (the registered playback copy is removed by the batch).
import { createHmac, hkdfSync } from 'node:crypto';
import type { Sql } from '../../db/sql.js';
import { deriveKey, type Keyring } from '../crypto/keys.js';

export const SCRUBBED_PREFIX = 'erased:';

/** A name this module wrote (already scrubbed). */
export const isScrubbedName = (name: string | null | undefined): boolean => !!name && name.startsWith(SCRUBBED_PREFIX);

const nameKeys = new WeakMap<Keyring, Buffer>();

/** The non-personal stand-in for a stored name. */
export function scrubbedName(keyring: Keyring, name: string): string {
  let key = nameKeys.get(keyring);
  if (!key) {
    // Its own key, derived from the secrets key by HKDF with a purpose of its own (never the key itself).
    key = Buffer.from(hkdfSync('sha256', deriveKey(keyring.current, 'secrets'), Buffer.alloc(0), 'cc-jobs:erased-export-name', 32));
    nameKeys.set(keyring, key);
  }
  return `${SCRUBBED_PREFIX}${keyring.current.id}:${createHmac('sha256', key).update(name).digest('hex').slice(0, 32)}`;
}

function replaceAll(text: string, names: (string | null)[], keyring: Keyring): string {
  let out = text;
  for (const name of names) if (name) out = out.split(name).join(scrubbedName(keyring, name));
  return out;
}

/**
 * Scrubs the stored names of every recording export of the given content items (all jobs, all runs): path,
 * location, and those names inside the row's error. Rows already scrubbed are left. Returns how many rows
 * changed. Run it in the transaction that marks the items erased, so the names go with the content.
 */
export async function scrubExportedNames(tx: Sql, keyring: Keyring, contentIds: string[]): Promise<number> {
  if (contentIds.length === 0) return 0;
  const rows = await tx<{ job_id: string; content_id: string; path: string; location: string | null; error: string | null }[]>`
    select job_id, content_id, path, location, error from recording_exports
    where content_id = any(${contentIds}::bigint[]) and path not like ${`${SCRUBBED_PREFIX}%`}
    order by job_id, content_id for no key update`;
  if (rows.length === 0) return 0;
  const scrubbed = rows.map((r) => ({
    job_id: r.job_id, content_id: r.content_id, path: scrubbedName(keyring, r.path),
    location: r.location && scrubbedName(keyring, r.location),
    // The longer name first: a location contains its path.
    error: r.error && replaceAll(r.error, [r.location, r.path], keyring),
  }));
  await tx`
    update recording_exports re set path = s.path, location = s.location, error = s.error
    from jsonb_to_recordset(${tx.json(scrubbed as never)}) as s(job_id bigint, content_id bigint, path text, location text, error text)
    where re.job_id = s.job_id and re.content_id = s.content_id`;
  return rows.length;
}

/**
 * Scrubs the exported locations an erasure run journalled (exported_to, exported_path), once its read-back
 * has found every copy gone: the journal keeps the store keys and the fact that a copy existed, not its name.
 */
export async function scrubJournalNames(sql: Sql, keyring: Keyring, runId: string): Promise<number> {
  const rows = await sql<{ id: string; exported_to: string; exported_path: string | null }[]>`
    select id, exported_to, exported_path from erasure_journal
    where run_id = ${runId} and exported_to is not null and exported_to not like ${`${SCRUBBED_PREFIX}%`}`;
  if (rows.length === 0) return 0;
  const scrubbed = rows.map((r) => ({
    id: r.id, exported_to: scrubbedName(keyring, r.exported_to), exported_path: r.exported_path && scrubbedName(keyring, r.exported_path),
  }));
  await sql`
    update erasure_journal j set exported_to = s.exported_to, exported_path = s.exported_path
    from jsonb_to_recordset(${sql.json(scrubbed as never)}) as s(id bigint, exported_to text, exported_path text)
    where j.id = s.id`;
  return rows.length;
}

/** How many export rows of the items a run erased carry scrubbed names (for the audit end entry). */
export async function countScrubbedExports(sql: Sql, runId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from recording_exports re
    where re.path like ${`${SCRUBBED_PREFIX}%`}
      and re.content_id in (select content_id from erasure_journal where run_id = ${runId})`;
  return row.n;
}

/** Scrubs the export names of every item a run journalled, a page of items at a time: an export batch that
 *  committed its record of an item after the item's batch (a race the export loses: its copy is removed and
 *  the row recorded failed) wrote the name again. Returns how many rows changed. */
export async function scrubRunExportNames(sql: Sql, keyring: Keyring, runId: string): Promise<number> {
  let changed = 0;
  for (let after = '0'; ;) {
    const page = await sql<{ content_id: string }[]>`
      select distinct content_id from erasure_journal where run_id = ${runId} and content_id > ${after}
      order by content_id limit 1000`;
    if (page.length === 0) return changed;
    changed += await sql.begin((tx) => scrubExportedNames(tx as unknown as Sql, keyring, page.map((r) => r.content_id)));
    after = page[page.length - 1].content_id;
  }
}
