// Named lists of a campaign (calling_lists): every contact belongs to one. An import or a new contact names its
// list (default "default"); a name not seen before creates the list.
import type { Sql } from '../../db/sql.js';

export const DEFAULT_LIST = 'default';

/** The id of the campaign's list `name`, created when missing (safe under concurrency). */
export async function listIdFor(tx: Sql, campaignId: string, name: string = DEFAULT_LIST): Promise<string> {
  const [created] = await tx<{ id: string }[]>`
    insert into calling_lists (campaign_id, name) values (${campaignId}, ${name})
    on conflict (campaign_id, name) do nothing returning id`;
  if (created) return String(created.id);
  const [existing] = await tx<{ id: string }[]>`select id from calling_lists where campaign_id = ${campaignId} and name = ${name}`;
  return String(existing.id);
}

export interface ListCounts { id: string; name: string; contacts: number; byStatus: Record<string, number> }

/** Each list of the campaign with its contacts counted in total and per status, in id order. */
export async function listsOf(sql: Sql, campaignId: string): Promise<ListCounts[]> {
  const rows = await sql<{ id: string; name: string; contacts: number; by_status: Record<string, number> | null }[]>`
    select l.id, l.name, coalesce(sum(s.n), 0)::int as contacts,
           jsonb_object_agg(s.status, s.n) filter (where s.status is not null) as by_status
    from calling_lists l
    left join (select list_id, status, count(*)::int as n from contacts where campaign_id = ${campaignId} group by list_id, status) s
      on s.list_id = l.id
    where l.campaign_id = ${campaignId}
    group by l.id, l.name
    order by l.id`;
  return rows.map((r) => ({ id: String(r.id), name: r.name, contacts: r.contacts, byStatus: r.by_status ?? {} }));
}
