// The account's blacklist (seed 001 "Blacklists"; API.md "Contact lists"): entries added, searched and removed;
// a blacklisted phone is Excluded on every contact phone with that number — existing ones when the entry is
// added, new ones when created, edited or imported — and gets its previous state back when the entry goes,
// unless something else had excluded it; a blacklisted e-mail flags emailBlacklisted. An entry added while an
// import is being applied, or an import applied while an entry is being added, never misses the other (both
// orders held still deterministically with row locks a test transaction takes).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Sql } from '../db/sql.js';
import { startApi, newCampaign, type Api } from './erasure-fixtures.js';
import { createTestEnv, type RunningWorker, type TestEnv } from './harness/env.js';
import { waitFor } from './list-import-helpers.js';

let env: TestEnv;
let api: Api;
let worker: RunningWorker;

before(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  worker = await env.startWorker();
});
after(async () => { await worker?.stop(); await api?.close(); await env?.stop(); });

let numbers = 0;
/** A number no other test uses: +1 555 7xx xxxx. */
const freshNumber = () => `+1555${String(7_000_000 + process.pid % 1000 * 1000 + ++numbers).padStart(7, '0')}`;

const add = (uri: string, name?: string) => api.call('POST', '/blacklist', { body: { uri, ...(name ? { name } : {}) } });
const createContact = async (campaignId: string, body: Record<string, unknown>) => {
  const res = await api.call('POST', `/campaigns/${campaignId}/contacts`, { body });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return res.json.id as string;
};
const phoneStates = async (contactId: string) => ((await api.call('GET', `/contacts/${contactId}`)).json.phones as { state: string }[]).map((p) => p.state);

async function upload(text: string): Promise<string> {
  const res = await fetch(`${api.base}/uploads`, { method: 'POST', headers: { authorization: `Bearer ${api.adminKey}`, 'content-type': 'text/csv' }, body: text });
  assert.equal(res.status, 201);
  return (await res.json() as { uploadId: string }).uploadId;
}
const runEnded = (runId: string) => waitFor(`run ${runId}`, async () => {
  const r = (await api.call('GET', `/runs/${encodeURIComponent(runId)}`)).json;
  return ['completed', 'failed', 'cancelled'].includes(r.status) && r;
});
const contactByClient = async (campaignId: string, clientId: string) =>
  (await api.call('GET', `/campaigns/${campaignId}/contacts?clientId=${clientId}`)).json.items[0];

/** An open transaction holding `rows` (a FOR UPDATE query) until release. */
async function hold(query: (tx: Sql) => Promise<unknown>): Promise<{ release(): Promise<void> }> {
  const connection = await env.sql.reserve();
  await connection`begin`;
  await query(connection as unknown as Sql);
  return { async release() { await connection`rollback`; connection.release(); } };
}
/** Some backend waits on a lock: its query matches `pattern`, and (for advisory) an advisory lock is not granted. */
const waitsOnLock = (what: string, pattern: string) => waitFor(what, async () => (await env.sql`
  select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike ${pattern}`).length > 0);
const waitsOnBlacklistLock = () => waitFor('a transaction waiting for the blacklist lock', async () => (await env.sql`
  select 1 from pg_locks where locktype = 'advisory' and not granted`).length > 0);

describe('entries', () => {
  test('a phone is kept as its digits (with +), an e-mail lowercased; the same number again is 409; not a phone nor an e-mail is 400', async () => {
    const number = freshNumber();
    const spaced = `${number.slice(0, 2)} (${number.slice(2, 5)}) ${number.slice(5, 8)}-${number.slice(8)}`;
    const res = await add(spaced, 'Dana Whitfield');
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const again = await add(number.slice(1));
    assert.equal(again.status, 409, 'the same digits without + are the same number');
    assert.equal(again.json.entryId, res.json.id);
    const email = await add('  Dana.W@Example.COM ');
    assert.equal(email.status, 201);
    const items = (await api.call('GET', '/blacklist?q=dana')).json.items;
    assert.deepEqual(items.map((e: any) => [e.id, e.kind, e.uri, e.name]),
      [[res.json.id, 'phone', number, 'Dana Whitfield'], [email.json.id, 'email', 'dana.w@example.com', null]]);
    assert.deepEqual((await api.call('GET', `/blacklist?q=${number.slice(5, 10)}`)).json.items.map((e: any) => e.id), [res.json.id], 'part of the digits');
    for (const [body, field] of [[{ uri: 'hello' }, 'uri'], [{ uri: '12' }, 'uri'], [{}, 'uri'], [{ uri: number, tenant: 'x' }, 'tenant']] as const) {
      const bad = await api.call('POST', '/blacklist', { body });
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.deepEqual(bad.json.errors.map((e: any) => e.path), [field]);
    }
    const page = await api.call('GET', '/blacklist?limit=1');
    assert.deepEqual(page.json.items.map((e: any) => e.id), [res.json.id]);
    assert.deepEqual((await api.call('GET', `/blacklist?limit=1&cursor=${page.json.nextCursor}`)).json.items.map((e: any) => e.id), [email.json.id]);
    assert.equal((await api.call('DELETE', `/blacklist/${email.json.id}`)).status, 204);
    assert.equal((await api.call('DELETE', `/blacklist/${email.json.id}`)).status, 404);
    assert.deepEqual((await api.call('GET', '/blacklist?q=dana')).json.items.map((e: any) => e.id), [res.json.id]);
  });
});

describe('contacts', () => {
  test('adding excludes the number on every contact of every campaign; removing restores each phone\'s previous state, not one excluded otherwise', async () => {
    const number = freshNumber();
    const other = freshNumber();
    const [c1, c2] = [await newCampaign(env), await newCampaign(env)];
    const a = await createContact(c1, { clientId: 'A', phones: [{ number }, { number: other }] });
    const b = await createContact(c2, { clientId: 'B', phones: [{ number: number.slice(1).replace(/(\d{3})(\d{3})/, '$1-$2-'), state: 'Inactive' }] });
    const manual = await createContact(c2, { clientId: 'M', phones: [{ number, state: 'Excluded' }] });
    const entry = await add(number);
    assert.equal(entry.status, 201);
    assert.deepEqual([await phoneStates(a), await phoneStates(b), await phoneStates(manual)], [['Excluded', 'Active'], ['Excluded'], ['Excluded']]);
    const history = (await api.call('GET', `/contacts/${a}/history`)).json.items;
    assert.deepEqual(history.map((h: any) => [h.kind, h.detail]).slice(0, 1), [['blacklist', 'phone excluded: its number is on the blacklist']]);
    assert.equal((await api.call('GET', `/contacts/${manual}/history`)).json.items[0].kind, 'created', 'no change, no line');

    assert.equal((await api.call('DELETE', `/blacklist/${entry.json.id}`)).status, 204);
    assert.deepEqual([await phoneStates(a), await phoneStates(b), await phoneStates(manual)], [['Active', 'Active'], ['Inactive'], ['Excluded']]);
  });

  test('contacts created or edited with a blacklisted number have it Excluded; an edit away from it frees the phone', async () => {
    const number = freshNumber();
    const campaignId = await newCampaign(env);
    assert.equal((await add(number)).status, 201);
    const created = await createContact(campaignId, { clientId: 'C', phones: [{ number: freshNumber() }, { number }] });
    assert.deepEqual(await phoneStates(created), ['Active', 'Excluded']);
    const edited = await createContact(campaignId, { clientId: 'E', phones: [{ number: freshNumber() }] });
    const patch = (phones: unknown) => api.call('PATCH', `/contacts/${edited}`, { body: { phones } });
    assert.equal((await patch([{ number, state: 'Inactive' }])).status, 200);
    assert.deepEqual(await phoneStates(edited), ['Excluded']);
    assert.equal((await patch([{ number: freshNumber(), state: 'Inactive' }])).status, 200);
    assert.deepEqual(await phoneStates(edited), ['Inactive'], 'a number not on the blacklist keeps the state sent');
    assert.equal((await patch([{ number, state: 'Inactive' }])).status, 200);
    const [entry] = (await api.call('GET', `/blacklist?q=${number}`)).json.items;
    assert.equal((await api.call('DELETE', `/blacklist/${entry.id}`)).status, 204);
    assert.deepEqual(await phoneStates(edited), ['Inactive'], 'back to the state the edit asked for');
  });

  test('a blacklisted e-mail flags emailBlacklisted (any case) until removed', async () => {
    const campaignId = await newCampaign(env);
    const address = `x${randomBytes(3).toString('hex')}@example.com`;
    const id = await createContact(campaignId, { clientId: 'M', email: address.toUpperCase().replace('EXAMPLE.COM', 'example.com'), phones: [] });
    assert.equal((await api.call('GET', `/contacts/${id}`)).json.emailBlacklisted, false);
    const entry = await add(address);
    assert.equal((await api.call('GET', `/contacts/${id}`)).json.emailBlacklisted, true);
    assert.equal((await api.call('GET', `/campaigns/${campaignId}/contacts`)).json.items[0].emailBlacklisted, true);
    await api.call('DELETE', `/blacklist/${entry.json.id}`);
    assert.equal((await api.call('GET', `/contacts/${id}`)).json.emailBlacklisted, false);
  });

  test('an import excludes its blacklisted phones, new and merged ones; others stay Active', async () => {
    const number = freshNumber();
    const campaignId = await newCampaign(env);
    await createContact(campaignId, { clientId: 'OLD', phones: [{ number: freshNumber() }] });
    assert.equal((await add(number)).status, 201);
    const clean = freshNumber();
    const res = await api.call('POST', `/campaigns/${campaignId}/imports`, { body: {
      source: { uploadId: await upload(`client_id,phone,phone2\nNEW,${clean},${number}\nOLD,${number},\n`) }, mergeRule: 'append' } });
    assert.equal(res.status, 202);
    assert.equal((await runEnded(res.json.runId)).status, 'completed');
    assert.deepEqual((await contactByClient(campaignId, 'NEW')).phones.map((p: any) => p.state), ['Active', 'Excluded']);
    assert.deepEqual((await contactByClient(campaignId, 'OLD')).phones.map((p: any) => p.state), ['Excluded']);
  });

  test('an entry touching a campaign locked by a process applies under the lock (contacts are not edited, the phone is excluded)', async () => {
    const number = freshNumber();
    const campaignId = await newCampaign(env);
    const id = await createContact(campaignId, { clientId: 'L', phones: [{ number }] });
    const runId = `list-import/${campaignId}/held-${randomBytes(3).toString('hex')}`;
    const handle = await env.client.workflow.start('listImport', { workflowId: runId, taskQueue: `nobody-${randomBytes(3).toString('hex')}`, args: [] });
    await env.sql`insert into campaign_locks (campaign_id, held_by, type) values (${campaignId}, ${runId}, 'import')`;
    try {
      assert.equal((await api.call('PATCH', `/contacts/${id}`, { body: { name: 'x' } })).status, 409);
      assert.equal((await add(number)).status, 201);
      assert.deepEqual(await phoneStates(id), ['Excluded']);
    } finally {
      await env.sql`delete from campaign_locks where campaign_id = ${campaignId}`;
      await handle.terminate('test done');
    }
  });
});

describe('racing an import', () => {
  test('an entry added while an import is being applied waits for its commit and excludes the imported phone', async () => {
    const number = freshNumber();
    const campaignId = await newCampaign(env);
    await createContact(campaignId, { clientId: 'K1', phones: [{ number: freshNumber() }] });
    // The apply is held twice: on contact K1 (merge rule) before it reads the blacklist, then on its list_imports
    // row after it has read it, before its commit.
    const k1 = await hold((tx) => tx`select id from contacts where campaign_id = ${campaignId} and client_id = 'K1' for update`);
    const res = await api.call('POST', `/campaigns/${campaignId}/imports`, { body: {
      source: { uploadId: await upload(`client_id,name,phone\nK1,Kay,${freshNumber()}\nN1,Nia,${number}\n`) }, mergeRule: 'append' } });
    assert.equal(res.status, 202);
    await waitsOnLock('the apply waiting on K1', '%update contacts c set name%');
    const row = await hold((tx) => tx`select 1 from list_imports where run_id = ${res.json.runId} for update`);
    await k1.release();
    await waitsOnLock('the apply waiting on its list_imports row, blacklist read', '%update list_imports set counts%');

    let answered = false;
    const adding = add(number).then((r) => { answered = true; return r; });
    await waitsOnBlacklistLock();
    assert.equal(answered, false, 'the entry waits for the import in progress');
    await row.release();
    assert.equal((await adding).status, 201);
    assert.equal((await runEnded(res.json.runId)).status, 'completed');
    assert.deepEqual((await contactByClient(campaignId, 'N1')).phones.map((p: any) => p.state), ['Excluded']);
  });

  test('an import applied while an entry is being added waits for it and excludes its phone', async () => {
    const number = freshNumber();
    const [elsewhere, campaignId] = [await newCampaign(env), await newCampaign(env)];
    const held = await createContact(elsewhere, { clientId: 'H', phones: [{ number }] });
    // The entry is inserted, then its exclusion of existing phones waits on this phone's row.
    const phone = await hold((tx) => tx`select 1 from contact_phones where contact_id = ${held} for update`);
    let answered = false;
    const adding = add(number).then((r) => { answered = true; return r; });
    await waitsOnLock('the entry waiting on the held phone', '%update contact_phones p set state_before_blacklist%');

    const res = await api.call('POST', `/campaigns/${campaignId}/imports`, { body: { source: { uploadId: await upload(`client_id,phone\nN2,${number}\n`) } } });
    assert.equal(res.status, 202);
    await waitsOnBlacklistLock();
    assert.equal(answered, false);
    await phone.release();
    assert.equal((await adding).status, 201);
    assert.equal((await runEnded(res.json.runId)).status, 'completed');
    assert.deepEqual((await contactByClient(campaignId, 'N2')).phones.map((p: any) => p.state), ['Excluded']);
    assert.deepEqual(await phoneStates(held), ['Excluded']);
  });
});
