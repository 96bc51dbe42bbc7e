// What the list-import test files share: a seeded campaign, a contact held FOR UPDATE by an open transaction (an
// apply that changes it waits on the row lock, which holds an import still), and the campaign's lock row.
import type { Sql } from '../db/sql.js';
import { until } from './harness/wait.js';

/** Polls every 150 ms, up to a minute by default. */
export const waitFor = <T>(what: string, check: () => Promise<T | undefined | false | null>, timeoutMs = 60_000) => until(what, check, timeoutMs, 150);

let campaigns = 0;
/** A campaign with contacts K1..K5 (Remaining, one phone each); `prefix` names it. */
export async function seededCampaign(sql: Sql, prefix: string): Promise<string> {
  const [{ id }] = await sql<{ id: string }[]>`insert into campaigns (name, timezone) values (${`${prefix}-${++campaigns}-${Date.now()}`}, 'UTC') returning id`;
  await sql`
    with c as (
      insert into contacts (campaign_id, client_id, name) select ${id}, 'K' || n, 'Name ' || n from generate_series(1, 5) n returning id, client_id
    ) insert into contact_phones (contact_id, position, number) select id, 1, '+1555000000' || substr(client_id, 2) from c`;
  return id;
}

/** Holds contact `clientId` FOR UPDATE in an open transaction, as a concurrent edit would: an apply that
 *  changes or deletes it waits on the row lock until `release`. */
export async function holdContact(sql: Sql, campaignId: string, clientId: string): Promise<{ release(): Promise<void> }> {
  const connection = await sql.reserve();
  await connection`begin`;
  await connection`select id from contacts where campaign_id = ${campaignId} and client_id = ${clientId} for update`;
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await connection`rollback`;
      connection.release();
    },
  };
}

/** The campaign's lock row as the tests read it (null when free); `sql` is asked for when read (created in before()). */
export function lockWatch(sqlOf: () => Sql) {
  const lockRow = async (campaignId: string) =>
    (await sqlOf()<{ held_by: string }[]>`select held_by from campaign_locks where campaign_id = ${campaignId}`)[0] ?? null;
  return {
    lockRow,
    lockHeldBy: (campaignId: string, runId: string) => waitFor(`lock held by ${runId}`, async () => (await lockRow(campaignId))?.held_by === runId),
    lockFreed: (campaignId: string, timeoutMs?: number) => waitFor(`lock of ${campaignId} freed`, async () => (await lockRow(campaignId)) === null, timeoutMs),
  };
}
