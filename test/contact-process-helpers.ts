// What the contact-process test files share (list export, bulk delete, bulk status change): a campaign seeded
// with contacts of two lists and a neighbour campaign that must be left alone, the contacts' full state (to
// compare "nothing changed"), a run's end, and the wait for a statement blocked on a row lock.
import type { Sql } from '../db/sql.js';
import { waitFor } from './list-import-helpers.js';

export { holdContact, waitFor } from './list-import-helpers.js';

let campaigns = 0;

export interface Seeded { campaignId: string; listA: string; listB: string; neighbour: string }

/**
 * Campaign with contacts P1..P6 in lists a/b (statuses, reasons, custom fields, phones in various states) and a
 * neighbour campaign with the same client ids.
 */
export async function seedProcessCampaign(sql: Sql, prefix: string): Promise<Seeded> {
  const n = `${prefix}-${++campaigns}-${Date.now()}`;
  const [{ id: campaignId }] = await sql<{ id: string }[]>`insert into campaigns (name, timezone) values (${n}, 'UTC') returning id::text`;
  const [{ id: neighbour }] = await sql<{ id: string }[]>`insert into campaigns (name, timezone) values (${`${n}-neighbour`}, 'UTC') returning id::text`;
  const [{ id: listA }] = await sql<{ id: string }[]>`insert into calling_lists (campaign_id, name) values (${campaignId}, 'a') returning id::text`;
  const [{ id: listB }] = await sql<{ id: string }[]>`insert into calling_lists (campaign_id, name) values (${campaignId}, 'b') returning id::text`;
  const rows = [
    ['P1', listA, 'Ana Ruiz', 'ana@example.com', 'Closed', 'SALE', 'UPSELL', { region: 'north', note: 'café' }, [['+15550100001', 'Active', 3]]],
    ['P2', listA, '=HYPERLINK("x")', 'p2@example.com', 'Inactive', 'BUSY', null, { region: 'south' }, [['+15550100002', 'Inactive', 2], ['+15550100012', 'Blocked', 1]]],
    ['P3', listB, 'Bo Li', null, 'Postponed', 'SALE', 'OTHER', { region: 'north' }, [['+15550100003', 'Excluded', 4], ['+15550100013', 'Inactive', 0]]],
    ['P4', listB, 'Cy, "Q"', 'cy@example.com', 'Remaining', null, null, {}, [['+15550100004', 'Active', 0]]],
    ['P5', listA, 'Di Zhōu', 'di@example.com', 'Closed', 'NOANSWER', null, { region: 'east' }, []],
    ['P6', listB, 'Ed Wu', 'ed@example.com', 'Callback', 'SALE', null, { region: 'north' }, [['+15550100006', 'Active', 1]]],
  ] as const;
  for (const campaign of [campaignId, neighbour]) {
    for (const [client, list, name, email, status, major, minor, fields, phones] of rows) {
      const [{ id }] = await sql<{ id: string }[]>`
        insert into contacts (campaign_id, list_id, client_id, name, email, status, major_reason, minor_reason, custom_fields, priority, closed_at)
        values (${campaign}, ${campaign === campaignId ? list : null}, ${client}, ${name}, ${email}, ${status}, ${major}, ${minor},
                ${sql.json(fields as never)}, 5, ${status === 'Closed' ? new Date('2025-01-01T00:00:00Z') : null}) returning id::text`;
      let position = 0;
      for (const [number, state, retry] of phones) {
        await sql`insert into contact_phones (contact_id, position, number, state, retry_count) values (${id}, ${++position}, ${number}, ${state}, ${retry})`;
      }
    }
  }
  return { campaignId, listA, listB, neighbour };
}

/** Every contact of the campaign with its phones, by client id (to compare states). */
export async function contactsOf(sql: Sql, campaignId: string) {
  return [...await sql`
    select c.client_id, c.list_id::text, c.name, c.email, c.status, c.priority, c.major_reason, c.minor_reason, c.closed_at, c.custom_fields,
      (select json_agg(json_build_object('position', p.position, 'number', p.number, 'state', p.state, 'retry', p.retry_count) order by p.position)
       from contact_phones p where p.contact_id = c.id) as phones
    from contacts c where c.campaign_id = ${campaignId} order by c.client_id`];
}

export async function runOf(sql: Sql, runId: string) {
  const [row] = await sql<{ status: string; step: string | null; error: string | null; result: any }[]>`
    select status, step, error, result from runs where run_id = ${runId}`;
  return row;
}

/** Some statement of the step `step` of run `runId` waits on a lock (a row the test holds). */
export const blockedInStep = (sql: Sql, runId: string, step: string) => waitFor(`${runId} to wait on the held row while ${step}`, async () => {
  const [run] = await sql<{ step: string }[]>`select step from runs where run_id = ${runId}`;
  if (run?.step !== step) return false;
  const [waiting] = await sql`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
  return !!waiting;
});

/** The lock row of the campaign (null when free). */
export const lockOf = async (sql: Sql, campaignId: string) =>
  (await sql<{ held_by: string; type: string }[]>`select held_by, type from campaign_locks where campaign_id = ${campaignId}`)[0] ?? null;

/** Downloads GET /processes/{runId}/file as bytes. */
export async function processFile(base: string, key: string, runId: string): Promise<{ status: number; bytes: Buffer; disposition: string | null }> {
  const res = await fetch(`${base}/processes/${encodeURIComponent(runId)}/file`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), disposition: res.headers.get('content-disposition') };
}
