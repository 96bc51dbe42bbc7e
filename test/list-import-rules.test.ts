// The rule matrix of seed 001 ("Manual Importing of Contact Records"), table-driven: every import, update
// and merge rule against contacts in every status and phones in every state, on a real PostgreSQL,
// including the states each rule must leave alone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { applyImportRules } from '../lib/import/rules.js';
import { createTestDatabase, type TestDatabase } from './harness/db.js';
import type { ImportRules, MergeRule, UpdateRule } from '../contracts/list-import.js';

const STATUSES = ['Remaining', 'Processing', 'Callback', 'Closed', 'Inactive', 'Postponed'] as const;
const PHONE_STATES = ['Active', 'Inactive', 'Blocked', 'Excluded'] as const;
type Status = (typeof STATUSES)[number];
interface PhoneView { position: number; number: string; state: string; retryCount: number }
interface ContactView { status: Status; name: string | null; phones: PhoneView[]; customFields: Record<string, unknown> }

// The seed's table, written out: what each option does to a contact's status ("same" = left alone).
const STATUS_AFTER: Record<'activate-contact' | 'activate-contact-phone' | 'inactivate', Record<Status, Status>> = {
  'activate-contact':       { Remaining: 'Remaining', Processing: 'Processing', Callback: 'Callback', Closed: 'Remaining', Inactive: 'Remaining', Postponed: 'Remaining' },
  'activate-contact-phone': { Remaining: 'Remaining', Processing: 'Processing', Callback: 'Callback', Closed: 'Remaining', Inactive: 'Remaining', Postponed: 'Remaining' },
  inactivate:               { Remaining: 'Inactive', Processing: 'Processing', Callback: 'Callback', Closed: 'Inactive', Inactive: 'Inactive', Postponed: 'Inactive' },
};
// Activate (contact, phone): phones → Active with 0 retries unless Blocked or Excluded.
const PHONE_AFTER_ACTIVATION: Record<string, { state: string; reset: boolean }> = {
  Active: { state: 'Active', reset: true }, Inactive: { state: 'Active', reset: true },
  Blocked: { state: 'Blocked', reset: false }, Excluded: { state: 'Excluded', reset: false },
};

let db: TestDatabase;
before(async () => { db = await createTestDatabase(); });
after(async () => { await db.drop(); });

const phoneOf = (client: string, position: number) => `+1555${client.length}${String(position).padStart(2, '0')}${String(client.charCodeAt(client.length - 1)).padStart(3, '0')}`;

/** A campaign with one contact per status only in the database (db-<Status>) and one per status also in the
 *  file (both-<Status>), each with a phone in every state; the file also has one new contact. */
async function scenario(rules: Partial<ImportRules>) {
  const [{ id: campaignId }] = await db.sql<{ id: string }[]>`
    insert into campaigns (name, timezone) values (${`rules-${Math.random().toString(36).slice(2)}`}, 'UTC') returning id`;
  const runId = `test-run-${campaignId}`;
  for (const kind of ['db', 'both']) {
    for (const status of STATUSES) {
      const client = `${kind}-${status}`;
      const [{ id }] = await db.sql<{ id: string }[]>`
        insert into contacts (campaign_id, client_id, name, status, custom_fields)
        values (${campaignId}, ${client}, 'Old name', ${status}, ${db.sql.json({ tier: 'silver', keep: 'yes' })}) returning id`;
      for (const [index, state] of PHONE_STATES.entries()) {
        await db.sql`insert into contact_phones (contact_id, position, number, state, retry_count)
                     values (${id}, ${index + 1}, ${phoneOf(client, index + 1)}, ${state}, ${index + 2})`;
      }
    }
  }
  let line = 2;
  const fileRows = [...STATUSES.map((s) => `both-${s}`), 'new-1'];
  for (const client of fileRows) {
    // phone1 unchanged, phone2 a new number, phone3 absent
    await db.sql`insert into list_import_rows (run_id, line, client_id, name, phone1, phone2, custom)
                 values (${runId}, ${line++}, ${client}, 'File name', ${phoneOf(client, 1)}, '+19990000000', ${db.sql.json({ tier: 'gold' })})`;
  }
  await db.sql`insert into list_import_rows (run_id, line, reject_reason) values (${runId}, ${line++}, 'expected 4 columns, found 2')`;
  const before = await snapshot(campaignId);
  const full: ImportRules = { importRule: 'nothing', updateRule: 'nothing', mergeRule: 'nothing', deleteAllBeforeImport: false, ...rules };
  const counts = await db.sql.begin((tx) => applyImportRules(tx as never, campaignId, runId, full));
  return { before, after: await snapshot(campaignId), counts };
}

async function snapshot(campaignId: string): Promise<Map<string, ContactView>> {
  const rows = await db.sql<{ client_id: string; status: Status; name: string | null; custom_fields: Record<string, unknown>; phones: PhoneView[] }[]>`
    select c.client_id, c.status, c.name, c.custom_fields,
      coalesce((select json_agg(json_build_object('position', p.position, 'number', p.number, 'state', p.state, 'retryCount', p.retry_count)
                order by p.position) from contact_phones p where p.contact_id = c.id), '[]'::json) as phones
    from contacts c where c.campaign_id = ${campaignId}`;
  return new Map(rows.map((r) => [r.client_id, { status: r.status, name: r.name, phones: r.phones, customFields: r.custom_fields }]));
}

function assertUntouched(before: Map<string, ContactView>, after: Map<string, ContactView>, prefix: string) {
  for (const [client, view] of before) if (client.startsWith(prefix)) assert.deepEqual(after.get(client), view, `${client} must be left alone`);
}

function assertRuleApplied(rule: UpdateRule | MergeRule, prefix: 'db' | 'both', before: Map<string, ContactView>, after: Map<string, ContactView>) {
  for (const status of STATUSES) {
    const client = `${prefix}-${status}`;
    const was = before.get(client)!;
    const now = after.get(client);
    if (rule === 'delete') { assert.equal(now, undefined, `${client} is deleted whatever its status`); continue; }
    if (rule === 'nothing') { assert.deepEqual(now, was); continue; }
    assert.ok(now, `${client} still exists`);
    if (rule === 'activate-contact' || rule === 'activate-contact-phone' || rule === 'inactivate') {
      assert.equal(now.status, STATUS_AFTER[rule][status], `${rule}: ${status} → ${STATUS_AFTER[rule][status]}`);
      assert.equal(now.name, was.name, 'status rules do not touch the data');
      for (const phone of was.phones) {
        const got: PhoneView = now.phones.find((p) => p.position === phone.position)!;
        const expected: { state: string; reset: boolean } = rule === 'activate-contact-phone' ? PHONE_AFTER_ACTIVATION[phone.state] : { state: phone.state, reset: false };
        assert.equal(got.state, expected.state, `${rule}: phone ${phone.state} → ${expected.state} (contact ${status})`);
        assert.equal(got.retryCount, expected.reset ? 0 : phone.retryCount, `${rule}: retry count of a ${phone.state} phone`);
      }
    }
  }
}

describe('update rule: contacts only in the database', () => {
  for (const rule of ['nothing', 'activate-contact', 'activate-contact-phone', 'inactivate', 'delete'] as const) {
    test(`${rule} applies to every status as the seed says and leaves contacts in the file alone`, async () => {
      const { before, after, counts } = await scenario({ updateRule: rule });
      assertRuleApplied(rule, 'db', before, after);
      assertUntouched(before, after, 'both-');
      assert.equal(after.has('new-1'), false, 'import rule "nothing" adds no contact');
      assert.equal(counts.rejected, 1);
      if (rule === 'delete') assert.equal(counts.deleted, STATUSES.length);
    });
  }
});

describe('merge rule: contacts in both the file and the database', () => {
  for (const rule of ['nothing', 'activate-contact', 'activate-contact-phone', 'inactivate', 'delete'] as const) {
    test(`${rule} applies to every status as the seed says and leaves database-only contacts alone`, async () => {
      const { before, after } = await scenario({ mergeRule: rule });
      assertRuleApplied(rule, 'both', before, after);
      assertUntouched(before, after, 'db-');
    });
  }

  test('append updates the data from the file, keeps status, history and unchanged phones', async () => {
    const { before, after, counts } = await scenario({ mergeRule: 'append' });
    assertUntouched(before, after, 'db-');
    for (const status of STATUSES) {
      const was = before.get(`both-${status}`)!, now = after.get(`both-${status}`)!;
      assert.equal(now.status, status, 'status kept');
      assert.equal(now.name, 'File name');
      assert.deepEqual(now.customFields, { tier: 'gold', keep: 'yes' }, 'custom fields merged, the file wins');
      assert.deepEqual(now.phones[0], was.phones[0], 'same number at position 1 keeps its state and retries');
      assert.deepEqual(now.phones[1], { position: 2, number: '+19990000000', state: 'Active', retryCount: 0 }, 'a changed number starts fresh');
      assert.deepEqual(now.phones.slice(2), was.phones.slice(2), 'phones the file does not mention are kept');
    }
    assert.equal(counts.updated, STATUSES.length);
  });

  test('replace deletes the contact and adds it again from the file in Remaining status', async () => {
    const { before, after, counts } = await scenario({ mergeRule: 'replace' });
    assertUntouched(before, after, 'db-');
    for (const status of STATUSES) {
      const now = after.get(`both-${status}`)!;
      assert.equal(now.status, 'Remaining');
      assert.equal(now.name, 'File name');
      assert.deepEqual(now.customFields, { tier: 'gold' });
      assert.deepEqual(now.phones.map((p) => [p.position, p.state, p.retryCount]), [[1, 'Active', 0], [2, 'Active', 0]]);
    }
    assert.equal(counts.replaced, STATUSES.length);
  });
});

describe('import rule: contacts only in the file', () => {
  test('append adds them in Remaining status with Active phones; nothing else changes', async () => {
    const { before, after, counts } = await scenario({ importRule: 'append' });
    assert.deepEqual(after.get('new-1'), {
      status: 'Remaining', name: 'File name', customFields: { tier: 'gold' },
      phones: [{ position: 1, number: phoneOf('new-1', 1), state: 'Active', retryCount: 0 }, { position: 2, number: '+19990000000', state: 'Active', retryCount: 0 }],
    });
    assertUntouched(before, after, 'db-');
    assertUntouched(before, after, 'both-');
    assert.equal(counts.imported, 1);
  });

  test('nothing adds no contact', async () => {
    const { after, counts } = await scenario({ importRule: 'nothing', updateRule: 'nothing', mergeRule: 'nothing' });
    assert.equal(after.has('new-1'), false);
    assert.equal(counts.imported, 0);
  });

  test('delete-all-before-import empties the campaign first, so every file row is new', async () => {
    const { after, counts } = await scenario({ deleteAllBeforeImport: true, importRule: 'append', updateRule: 'inactivate', mergeRule: 'delete' });
    assert.deepEqual([...after.keys()].sort(), [...STATUSES.map((s) => `both-${s}`), 'new-1'].sort());
    for (const view of after.values()) assert.equal(view.status, 'Remaining');
    assert.equal(counts.deleted, STATUSES.length * 2);
    assert.equal(counts.imported, STATUSES.length + 1);
  });

  test('a client_id repeated in the file is imported once, later rows rejected naming the first line', async () => {
    const [{ id: campaignId }] = await db.sql<{ id: string }[]>`insert into campaigns (name, timezone) values ('dupes', 'UTC') returning id`;
    const runId = 'dupes-run';
    await db.sql`insert into list_import_rows (run_id, line, client_id, name) values (${runId}, 2, 'A', 'first'), (${runId}, 3, 'B', 'b'), (${runId}, 5, 'A', 'second')`;
    const counts = await db.sql.begin((tx) => applyImportRules(tx as never, campaignId, runId, { importRule: 'append', updateRule: 'nothing', mergeRule: 'nothing', deleteAllBeforeImport: false }));
    assert.equal(counts.imported, 2);
    assert.equal(counts.rejected, 1);
    const [reject] = await db.sql`select line, reject_reason from list_import_rows where run_id = ${runId} and reject_reason is not null`;
    assert.deepEqual({ ...reject }, { line: 5, reject_reason: 'duplicate client_id A (first at line 2)' });
    const [contact] = await db.sql`select name from contacts where campaign_id = ${campaignId} and client_id = 'A'`;
    assert.equal(contact.name, 'first');
  });

  test('with repeated client_ids the rules still see which contacts are in the file and the database', async () => {
    // The duplicate check falls back to marking the repeats and classifying the file again: that second
    // classification must find the existing contact (merge, not insert) and keep it out of the update rule.
    const [{ id: campaignId }] = await db.sql<{ id: string }[]>`insert into campaigns (name, timezone) values ('dupes-merge', 'UTC') returning id`;
    const runId = 'dupes-merge-run';
    await db.sql`insert into contacts (campaign_id, client_id, name) values (${campaignId}, 'OLD', 'old name'), (${campaignId}, 'GONE', 'gone')`;
    await db.sql`insert into list_import_rows (run_id, line, client_id, name) values
      (${runId}, 2, 'OLD', 'file name'), (${runId}, 3, 'NEW', 'new'), (${runId}, 4, 'OLD', 'second'), (${runId}, 6, 'OLD', 'third')`;
    const counts = await db.sql.begin((tx) => applyImportRules(tx as never, campaignId, runId, { importRule: 'append', updateRule: 'delete', mergeRule: 'append', deleteAllBeforeImport: false }));
    assert.deepEqual(counts, { imported: 1, updated: 1, deleted: 1, replaced: 0, rejected: 2 });
    const rejects = await db.sql`select line, reject_reason from list_import_rows where run_id = ${runId} and reject_reason is not null order by line`;
    assert.deepEqual(rejects.map((r) => ({ ...r })), [
      { line: 4, reject_reason: 'duplicate client_id OLD (first at line 2)' },
      { line: 6, reject_reason: 'duplicate client_id OLD (first at line 2)' },
    ]);
    const contacts = await db.sql`select client_id, name from contacts where campaign_id = ${campaignId} order by client_id`;
    assert.deepEqual(contacts.map((r) => ({ ...r })), [{ client_id: 'NEW', name: 'new' }, { client_id: 'OLD', name: 'file name' }]);
  });
});
