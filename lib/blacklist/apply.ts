// How the blacklist reaches contacts: a phone whose number (its digits) is on the blacklist is 'Excluded', its
// previous state kept in contact_phones.state_before_blacklist; when the entry goes, the phone gets that state back
// — 'Excluded' again when an import or an edit had excluded it before, so only the blacklist's own exclusion is
// undone. E-mail entries change no row: contacts show `emailBlacklisted` from the entries when read.
//
// Serialization: a change of the entries and any write of new phones (the list import's apply, a contact created
// or edited) hold one PostgreSQL advisory lock, exclusive for the entries' change and shared for the writers, from
// the start of their transaction to its commit. So an entry added while an import is being applied waits for the
// import's commit and then excludes the imported phones; an import applied after the entry was added sees it.
// Neither ever misses the other. The campaign lock is not waited for: the blacklist applies under it (see
// docs/contact-lists.md, "Blacklist").
import type postgres from 'postgres';
import type { Sql } from '../../db/sql.js';
import { recordContactEvents } from '../contacts/history.js';

/** pg_advisory_xact_lock key of the blacklist (an arbitrary constant, the same in every process). */
export const BLACKLIST_LOCK_KEY = 7_311_404_014;

/** For a change of the entries: waits for every transaction writing phones to commit, keeps new ones out. */
export async function lockBlacklistForChange(tx: Sql): Promise<void> {
  await tx`select pg_advisory_xact_lock(${BLACKLIST_LOCK_KEY})`;
}

/** For a transaction that writes contact phones: waits while the entries are being changed. */
export async function lockBlacklistForPhoneWrites(tx: Sql): Promise<void> {
  await tx`select pg_advisory_xact_lock_shared(${BLACKLIST_LOCK_KEY})`;
}

/** A condition on contact_phones `p` choosing the phones to bring in line with the blacklist. */
export type PhoneScope = postgres.PendingQuery<postgres.Row[]>;

export interface ReconcileOptions { actor?: string | null; runId?: string | null }

/**
 * Brings the phones in `scope` in line with the blacklist in two set-based statements: blacklisted numbers not
 * yet excluded by it become 'Excluded' (previous state kept), numbers it excluded that are no longer on it get
 * their previous state back. Each contact whose phone changed state gets one history event per statement.
 * Returns the number of phones excluded and released.
 */
export async function reconcileBlacklistedPhones(tx: Sql, scope: PhoneScope, options: ReconcileOptions = {}): Promise<{ excluded: number; released: number }> {
  const excludedRows = await tx<{ contact_id: string; previous: string }[]>`
    update contact_phones p set state_before_blacklist = p.state, state = 'Excluded'
    from blacklist_entries b
    where b.kind = 'phone' and b.match_key = regexp_replace(p.number, '[^0-9]', '', 'g')
      and (p.state_before_blacklist is null or p.state <> 'Excluded')
      and ${scope}
    returning p.contact_id, p.state_before_blacklist as previous`;
  const releasedRows = await tx<{ contact_id: string; state: string }[]>`
    update contact_phones p
    set state = case when p.state = 'Excluded' then p.state_before_blacklist else p.state end, state_before_blacklist = null
    where p.state_before_blacklist is not null
      and not exists (select 1 from blacklist_entries b where b.kind = 'phone' and b.match_key = regexp_replace(p.number, '[^0-9]', '', 'g'))
      and ${scope}
    returning p.contact_id, p.state`;
  const changed = (ids: string[]) => [...new Set(ids.map(String))];
  const excludedIds = changed(excludedRows.filter((r) => r.previous !== 'Excluded').map((r) => r.contact_id));
  const releasedIds = changed(releasedRows.filter((r) => r.state !== 'Excluded').map((r) => r.contact_id));
  await recordContactEvents(tx, excludedIds, { kind: 'blacklist', detail: 'phone excluded: its number is on the blacklist', ...options });
  await recordContactEvents(tx, releasedIds, { kind: 'blacklist', detail: 'phone no longer excluded: its number left the blacklist', ...options });
  return { excluded: excludedRows.length, released: releasedRows.length };
}

/** The phones whose number has one of these digit keys (index contact_phones_digits). */
export function phonesWithKeys(tx: Sql, matchKeys: readonly string[]): PhoneScope {
  return tx`regexp_replace(p.number, '[^0-9]', '', 'g') = any(${tx.array(matchKeys as string[])}::text[])`;
}
