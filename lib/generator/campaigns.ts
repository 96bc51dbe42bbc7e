// Campaigns and calling lists, and the id ranges the bulk COPYs write into.
import type { Sql } from '../../db/sql.js';

export type Id = string;

export interface CampaignInput { name: string; timezone: string; state?: 'running' | 'stopped'; createdAt?: Date }

/** Creates a campaign and returns its id (bigint ids come back from postgres.js as strings). */
export async function createCampaign(sql: Sql, input: CampaignInput): Promise<Id> {
  const [row] = await sql<{ id: Id }[]>`
    insert into campaigns (name, timezone, state, created_at)
    values (${input.name}, ${input.timezone}, ${input.state ?? 'running'}, ${input.createdAt ?? new Date()})
    on conflict (name) do nothing
    returning id`;
  if (!row) {
    throw new Error(`A campaign named ${JSON.stringify(input.name)} already exists; pick another name (or another --seed for the generator).`);
  }
  return row.id;
}

export async function createCallingList(sql: Sql, input: { campaignId: Id | number; name: string; createdAt?: Date }): Promise<Id> {
  const [row] = await sql<{ id: Id }[]>`
    insert into calling_lists (campaign_id, name, created_at)
    values (${input.campaignId}, ${input.name}, ${input.createdAt ?? new Date()})
    returning id`;
  return row.id;
}

const ID_TABLES = { contacts: 'contacts', interactions: 'interactions' } as const;

/**
 * Takes `count` consecutive ids from the table's identity sequence and returns the first, so bulk rows
 * can name their ids (and their children can point at them) before they are sent. The table lock keeps
 * a concurrent insert from drawing a number between our nextval and setval; it is held for two
 * statements only.
 */
export async function reserveIds(sql: Sql, table: keyof typeof ID_TABLES, count: number): Promise<bigint> {
  if (count < 1) throw new Error(`reserveIds needs a positive count; got ${count}.`);
  const name = ID_TABLES[table];
  return sql.begin(async (tx) => {
    await tx`lock table ${tx(name)} in share row exclusive mode`;
    const [row] = await tx<{ last: string }[]>`
      select setval(pg_get_serial_sequence(${name}, 'id'),
                    nextval(pg_get_serial_sequence(${name}, 'id')) + ${count} - 1) as last`;
    return BigInt(row.last) - BigInt(count) + 1n;
  });
}
