// The contact filter (lib/contacts/filter.ts) against a real PostgreSQL: each criterion selects what it
// names and leaves the rest alone; criteria combine with AND; bad filters are refused by the schema.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { contactFilterSql, contactFilterSqlText, countMatching } from '../lib/contacts/filter.js';
import { createTestDatabase, type TestDatabase } from './harness/db.js';
import { contactFilterSchema, type ContactFilter } from '../contracts/contact-filter.js';

let db: TestDatabase;
let campaignId: string;
let otherCampaign: string;
let listA: string;
let listB: string;

before(async () => {
  db = await createTestDatabase();
  const sql = db.sql;
  [{ id: campaignId }] = await sql`insert into campaigns (name, timezone) values ('Filter', 'UTC') returning id::text`;
  [{ id: otherCampaign }] = await sql`insert into campaigns (name, timezone) values ('Other', 'UTC') returning id::text`;
  [{ id: listA }] = await sql`insert into calling_lists (campaign_id, name) values (${campaignId}, 'a') returning id::text`;
  [{ id: listB }] = await sql`insert into calling_lists (campaign_id, name) values (${campaignId}, 'b') returning id::text`;
  const rows = [
    { client: 'F-1', list: listA, name: 'Dana 50%_Whitfield', email: 'Dana@Example.com', status: 'Closed', major: 'SALE', minor: 'UPSELL', fields: { region: 'north', tier: 'gold' }, phone: '+15550000001' },
    { client: 'F-2', list: listA, name: 'Eli Brook', email: 'eli@example.com', status: 'Inactive', major: 'BUSY', minor: null, fields: { region: 'south' }, phone: '+15550000002' },
    { client: 'F-3', list: listB, name: 'dana brook', email: null, status: 'Remaining', major: null, minor: null, fields: { region: 'north', tier: 'silver' }, phone: '+15550000003' },
    { client: 'F-4', list: listB, name: null, email: 'x@example.com', status: 'Postponed', major: 'SALE', minor: 'OTHER', fields: {}, phone: '+15550000001' },
  ];
  for (const r of rows) {
    const [{ id }] = await sql`
      insert into contacts (campaign_id, list_id, client_id, name, email, status, major_reason, minor_reason, custom_fields)
      values (${campaignId}, ${r.list}, ${r.client}, ${r.name}, ${r.email}, ${r.status}, ${r.major}, ${r.minor}, ${sql.json(r.fields)}) returning id`;
    await sql`insert into contact_phones (contact_id, position, number) values (${id}, 1, ${r.phone})`;
  }
  await sql`insert into contacts (campaign_id, client_id, name, status) values (${otherCampaign}, 'F-1', 'Dana other', 'Closed')`;
});
after(async () => { await db?.drop(); });

async function matched(filter: ContactFilter): Promise<string[]> {
  const rows = await db.sql<{ client_id: string }[]>`
    select c.client_id from contacts c where ${contactFilterSql(db.sql, campaignId, contactFilterSchema.parse(filter))} order by c.client_id`;
  const viaText = await db.sql.unsafe<{ client_id: string }[]>(
    `select c.client_id from contacts c where ${contactFilterSqlText(campaignId, contactFilterSchema.parse(filter))} order by c.client_id`);
  assert.deepEqual(viaText.map((r) => r.client_id), rows.map((r) => r.client_id), `the COPY form of ${JSON.stringify(filter)} selects the same`);
  return rows.map((r) => r.client_id);
}

test('an empty filter matches every contact of the campaign and none of another', async () => {
  assert.deepEqual(await matched({}), ['F-1', 'F-2', 'F-3', 'F-4']);
  assert.equal(await countMatching(db.sql, campaignId, {}), 4);
  assert.equal(await countMatching(db.sql, otherCampaign, {}), 1);
});

test('each criterion selects what it names', async () => {
  assert.deepEqual(await matched({ listIds: [listB] }), ['F-3', 'F-4']);
  assert.deepEqual(await matched({ statuses: ['Closed', 'Postponed'] }), ['F-1', 'F-4']);
  assert.deepEqual(await matched({ majorReasons: ['SALE'] }), ['F-1', 'F-4']);
  assert.deepEqual(await matched({ minorReasons: ['UPSELL'] }), ['F-1']);
  assert.deepEqual(await matched({ name: 'DANA' }), ['F-1', 'F-3']);
  assert.deepEqual(await matched({ name: '50%_' }), ['F-1'], 'LIKE wildcards in the name are literal');
  assert.deepEqual(await matched({ name: '%' }), ['F-1']);
  assert.deepEqual(await matched({ name: "O'Brien\\'; drop table contacts; --" }), [], 'quotes and backslashes are values, never SQL');
  assert.deepEqual(await matched({ fields: { region: "x' or '1'='1" } }), []);
  assert.deepEqual(await matched({ email: 'dana@example.COM' }), ['F-1']);
  assert.deepEqual(await matched({ phone: '+15550000001' }), ['F-1', 'F-4']);
  assert.deepEqual(await matched({ phone: '+1 (555) 000-0001' }), ['F-1', 'F-4'], 'numbers compare on their digits, as the contact search and the blacklist do');
  assert.deepEqual(await matched({ fields: { region: 'north' } }), ['F-1', 'F-3']);
  assert.deepEqual(await matched({ fields: { region: 'north', tier: 'gold' } }), ['F-1']);
});

test('criteria combine with AND', async () => {
  assert.deepEqual(await matched({ listIds: [listA, listB], majorReasons: ['SALE'], statuses: ['Postponed'] }), ['F-4']);
  assert.deepEqual(await matched({ name: 'dana', fields: { tier: 'silver' } }), ['F-3']);
  assert.deepEqual(await matched({ statuses: ['Processing'] }), []);
});

test('an invalid filter is refused naming the field', () => {
  const bad: [unknown, string][] = [
    [{ statuses: ['Open'] }, 'statuses'],
    [{ statuses: [] }, 'statuses'],
    [{ listIds: ['x'] }, 'listIds'],
    [{ colour: 'red' }, ''],
    [{ fields: { 'a b': 'x' } }, 'fields'],
    [{ name: '' }, 'name'],
    [{ name: 'a\0b' }, 'name'],
    [{ fields: { '=cmd': 'x' } }, 'fields'],
  ];
  for (const [filter, field] of bad) {
    const parsed = contactFilterSchema.safeParse(filter);
    assert.equal(parsed.success, false, JSON.stringify(filter));
    const text = JSON.stringify(parsed.error!.issues);
    assert.ok(text.includes(field || 'colour'), `${JSON.stringify(filter)}: ${text}`);
  }
});
