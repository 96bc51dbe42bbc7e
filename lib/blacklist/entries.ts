// The account's blacklist entries (blacklist_entries; the one writer): add, remove, search. Adding or removing a
// phone entry brings every contact phone with that number in line in the same transaction (lib/blacklist/apply.ts).
import type { Sql } from '../../db/sql.js';
import { lockBlacklistForChange, phonesWithKeys, reconcileBlacklistedPhones } from './apply.js';
import type { BlacklistUri } from './uri.js';

export interface BlacklistEntry { id: string; kind: 'phone' | 'email'; uri: string; name: string | null; addedBy: string | null; runId: string | null; createdAt: Date }

interface EntryRow { id: string; kind: 'phone' | 'email'; uri: string; match_key: string; name: string | null; added_by: string | null; run_id: string | null; created_at: Date }
const toEntry = (r: EntryRow): BlacklistEntry => ({
  id: String(r.id), kind: r.kind, uri: r.uri, name: r.name, addedBy: r.added_by, runId: r.run_id, createdAt: r.created_at,
});

export type AddResult = { added: true; entry: BlacklistEntry; excluded: number } | { added: false; existing: BlacklistEntry };

/** Adds the entry and excludes every contact phone with its number; an entry with the same number/address is kept. */
export async function addBlacklistEntry(sql: Sql, uri: BlacklistUri, who: { name?: string | null; actor?: string | null }): Promise<AddResult> {
  return sql.begin(async (begun) => {
    const tx = begun as unknown as Sql;
    await lockBlacklistForChange(tx);
    const [row] = await tx<EntryRow[]>`
      insert into blacklist_entries (kind, uri, match_key, name, added_by)
      values (${uri.kind}, ${uri.uri}, ${uri.matchKey}, ${who.name ?? null}, ${who.actor ?? null})
      on conflict (match_key) do nothing returning *`;
    if (!row) {
      const [existing] = await tx<EntryRow[]>`select * from blacklist_entries where match_key = ${uri.matchKey}`;
      return { added: false, existing: toEntry(existing) } as const;
    }
    const { excluded } = uri.kind === 'phone'
      ? await reconcileBlacklistedPhones(tx, phonesWithKeys(tx, [uri.matchKey]), { actor: who.actor })
      : { excluded: 0 };
    return { added: true, entry: toEntry(row), excluded } as const;
  }) as Promise<AddResult>;
}

/** Removes the entry; the phones it excluded get their previous state back. False when there was none. */
export async function removeBlacklistEntry(sql: Sql, id: string, actor: string | null): Promise<{ removed: boolean; released: number }> {
  return sql.begin(async (begun) => {
    const tx = begun as unknown as Sql;
    await lockBlacklistForChange(tx);
    const [row] = await tx<EntryRow[]>`delete from blacklist_entries where id = ${id} returning *`;
    if (!row) return { removed: false, released: 0 };
    const { released } = row.kind === 'phone'
      ? await reconcileBlacklistedPhones(tx, phonesWithKeys(tx, [row.match_key]), { actor })
      : { released: 0 };
    return { removed: true, released };
  }) as Promise<{ removed: boolean; released: number }>;
}

/** Entries whose URI or name contains `q` (case-insensitive; a phone query matches on digits too), in id order. */
export async function searchBlacklist(sql: Sql, q: string | undefined, after: string, limit: number): Promise<BlacklistEntry[]> {
  const digits = q?.replace(/[^0-9]/g, '') ?? '';
  const pattern = q ? `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const rows = await sql<EntryRow[]>`
    select * from blacklist_entries
    where id > ${after}
      ${pattern ? sql`and (uri ilike ${pattern} or name ilike ${pattern} ${digits.length >= 3 ? sql`or (kind = 'phone' and match_key like ${`%${digits}%`})` : sql``})` : sql``}
    order by id limit ${limit}`;
  return rows.map(toEntry);
}
