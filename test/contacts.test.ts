// Contacts one at a time (API.md "Contact lists"): created (201, in its list; 409 for a clientId the campaign
// has), searched by list, name, phone, e-mail, custom field and reason codes (400 naming an unknown query
// field), deleted (204), all three refused with 409 while a process holds the campaign lock; the contact's
// history: attempts and edits, newest first, the last 50.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startApi, newCampaign, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';

let env: TestEnv;
let api: Api;

before(async () => {
  env = await createTestEnv();
  api = await startApi(env);
});
after(async () => { await api?.close(); await env?.stop(); });

const create = (campaignId: string, body: Record<string, unknown>) => api.call('POST', `/campaigns/${campaignId}/contacts`, { body });
const search = async (campaignId: string, query: string) => {
  const res = await api.call('GET', `/campaigns/${campaignId}/contacts?${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return (res.json.items as { clientId: string }[]).map((c) => c.clientId);
};

/** A process holding the campaign's lock: an open run (started on a task queue no worker polls) named in the lock row. */
async function holdLock(campaignId: string): Promise<{ runId: string; release(): Promise<void> }> {
  const runId = `list-import/${campaignId}/held-${randomBytes(3).toString('hex')}`;
  const handle = await env.client.workflow.start('listImport', { workflowId: runId, taskQueue: `nobody-${randomBytes(3).toString('hex')}`, args: [] });
  await env.sql`insert into campaign_locks (campaign_id, held_by, type) values (${campaignId}, ${runId}, 'import')`;
  return {
    runId,
    async release() {
      await env.sql`delete from campaign_locks where campaign_id = ${campaignId} and held_by = ${runId}`;
      await handle.terminate('test: lock released');
    },
  };
}

describe('creating and deleting contacts', () => {
  test('POST creates the contact in its list (a new name creates the list) in Remaining; the same clientId again is 409', async () => {
    const campaignId = await newCampaign(env);
    const res = await create(campaignId, {
      clientId: 'N-1', name: 'Ada Brook', email: 'ada@example.com', phones: [{ number: '+1 512 555 0177' }, { number: '5125550178', state: 'Inactive' }],
      customFields: { tier: 'silver', drop: null }, listName: 'walk-ins',
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const contact = (await api.call('GET', `/contacts/${res.json.id}`)).json;
    const lists = (await api.call('GET', `/campaigns/${campaignId}/lists`)).json.items;
    assert.deepEqual(lists.map((l: any) => [l.name, l.contacts]), [['walk-ins', 1]]);
    assert.deepEqual({ ...contact, updatedAt: undefined }, {
      id: res.json.id, campaignId, listId: lists[0].id, clientId: 'N-1', name: 'Ada Brook', email: 'ada@example.com', status: 'Remaining',
      priority: 0, customFields: { tier: 'silver' }, updatedAt: undefined, majorReason: null, minorReason: null, closedAt: null, emailBlacklisted: false,
      phones: [{ position: 1, number: '+1 512 555 0177', state: 'Active', retryCount: 0 }, { position: 2, number: '5125550178', state: 'Inactive', retryCount: 0 }],
    });
    const defaulted = await create(campaignId, { clientId: 'N-2', phones: [] });
    assert.equal(defaulted.status, 201);
    assert.equal((await api.call('GET', `/contacts/${defaulted.json.id}`)).json.listId,
      (await api.call('GET', `/campaigns/${campaignId}/lists`)).json.items.find((l: any) => l.name === 'default').id);

    const again = await create(campaignId, { clientId: 'N-1', name: 'Someone else', phones: [] });
    assert.equal(again.status, 409);
    assert.equal(again.json.contactId, res.json.id);
    assert.equal((await api.call('GET', `/contacts/${res.json.id}`)).json.name, 'Ada Brook', 'the existing contact is unchanged');
  });

  test('bad input is 400 naming the field and creates nothing; an unknown campaign is 404', async () => {
    const campaignId = await newCampaign(env);
    for (const [body, field] of [
      [{ clientId: 'X', phones: [{ number: 'call me' }] }, 'phones.0.number'],
      [{ clientId: 'X', phones: [], email: 'nope' }, 'email'],
      [{ clientId: '', phones: [] }, 'clientId'],
      [{ clientId: 'X', phones: [{ number: '+15550001', state: 'Gone' }] }, 'phones.0.state'],
      [{ clientId: 'X', phones: [], colour: 'red' }, 'colour'],
    ] as const) {
      const res = await create(campaignId, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual(res.json.errors.map((e: any) => e.path), [field], JSON.stringify(res.json));
    }
    const [{ n }] = await env.sql<{ n: number }[]>`select count(*)::int as n from contacts where campaign_id = ${campaignId}`;
    assert.equal(n, 0);
    assert.equal((await create('999999', { clientId: 'X', phones: [] })).status, 404);
  });

  test('DELETE removes the contact (204, then 404); create, delete and edit are 409 while a process holds the lock', async () => {
    const campaignId = await newCampaign(env);
    const { json: { id } } = await create(campaignId, { clientId: 'D-1', phones: [{ number: '+15550002001' }] });
    const lock = await holdLock(campaignId);
    try {
      const refused = [
        await create(campaignId, { clientId: 'D-2', phones: [] }),
        await api.call('DELETE', `/contacts/${id}`),
        await api.call('PATCH', `/contacts/${id}`, { body: { name: 'x' } }),
      ];
      assert.deepEqual(refused.map((r) => r.status), [409, 409, 409]);
      for (const r of refused) assert.equal(r.json.lock.heldBy, lock.runId);
      assert.deepEqual(await search(campaignId, ''), ['D-1'], 'nothing changed');
    } finally {
      await lock.release();
    }
    assert.equal((await api.call('DELETE', `/contacts/${id}`)).status, 204);
    assert.equal((await api.call('GET', `/contacts/${id}`)).status, 404);
    assert.equal((await api.call('DELETE', `/contacts/${id}`)).status, 404);
    assert.equal((await create(campaignId, { clientId: 'D-1', phones: [] })).status, 201, 'the clientId is free again');
  });
});

describe('searching contacts', () => {
  test('by list, name, phone, e-mail, custom field and reason codes, combined with and', async () => {
    const campaignId = await newCampaign(env);
    await create(campaignId, { clientId: 'S-1', name: 'Dana Whitfield', email: 'Dana@Example.com', phones: [{ number: '+1 (512) 555-0142' }, { number: '+15125550199' }], customFields: { tier: 'gold', region: 'TX' }, listName: 'a' });
    await create(campaignId, { clientId: 'S-2', name: 'Dan Ho', email: 'dan@example.com', phones: [{ number: '+15125550143' }], customFields: { tier: 'golden', score: 7 }, listName: 'b' });
    await create(campaignId, { clientId: 'S-3', name: 'Eve', phones: [{ number: '+15125550199' }], customFields: { tier: 'gold' }, listName: 'b' });
    await env.sql`update contacts set major_reason = 'SALE', minor_reason = 'UPSELL' where campaign_id = ${campaignId} and client_id = 'S-1'`;
    await env.sql`update contacts set major_reason = 'SALE', minor_reason = 'NONE' where campaign_id = ${campaignId} and client_id = 'S-3'`;
    const lists = (await api.call('GET', `/campaigns/${campaignId}/lists`)).json.items;
    const listB = lists.find((l: any) => l.name === 'b').id;

    assert.deepEqual(await search(campaignId, 'name=dan'), ['S-1', 'S-2'], 'case-insensitive substring');
    assert.deepEqual(await search(campaignId, 'name=%25'), [], 'LIKE characters are literal');
    assert.deepEqual(await search(campaignId, 'phone=%2B15125550199'), ['S-1', 'S-3'], 'any of the numbers');
    assert.deepEqual(await search(campaignId, 'phone=512-555-0142'), [], 'compared on all digits');
    assert.deepEqual(await search(campaignId, 'phone=1%20512%20555%200142'), ['S-1'], 'whatever the formatting');
    assert.deepEqual(await search(campaignId, 'email=DANA@example.COM'), ['S-1']);
    assert.deepEqual(await search(campaignId, 'field.tier=gold'), ['S-1', 'S-3'], 'exact, not golden');
    assert.deepEqual(await search(campaignId, 'field.score=7'), ['S-2']);
    assert.deepEqual(await search(campaignId, 'field.tier=gold&field.region=TX'), ['S-1']);
    assert.deepEqual(await search(campaignId, 'majorReason=SALE'), ['S-1', 'S-3']);
    assert.deepEqual(await search(campaignId, 'majorReason=SALE&minorReason=NONE'), ['S-3']);
    assert.deepEqual(await search(campaignId, `listId=${listB}`), ['S-2', 'S-3']);
    assert.deepEqual(await search(campaignId, `listId=${listB}&field.tier=gold&phone=15125550199`), ['S-3']);
  });

  test('an unknown query field or a bad value is 400 naming it', async () => {
    const campaignId = await newCampaign(env);
    for (const [query, field] of [['colour=red', 'query.colour'], ['field.=x', 'query.field.'], ['phone=abc', 'query.phone'], ['listId=x', 'query.listId']]) {
      const res = await api.call('GET', `/campaigns/${campaignId}/contacts?${query}`);
      assert.equal(res.status, 400, query);
      assert.deepEqual(res.json.errors.map((e: any) => e.path), [field], JSON.stringify(res.json));
    }
  });
});

describe('history', () => {
  test('attempts and edits, newest first, with actor; only the last 50', async () => {
    const campaignId = await newCampaign(env);
    const { json: { id } } = await create(campaignId, { clientId: 'H-1', name: 'Hal', phones: [{ number: '+15550003001' }] });
    const attempt = await api.call('POST', '/attempts', { body: [{
      campaignId, clientId: 'H-1', phone: '+15550003001', startedAt: new Date(Date.now() - 60_000).toISOString(), completedAt: new Date().toISOString(),
      status: 'DELIVEREDPERSON', disposition: 'Sale', agent: 'agent.kim', majorReason: 'SALE', recordStatus: 'Closed',
    }] });
    assert.equal(attempt.status, 201, JSON.stringify(attempt.json));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal((await api.call('PATCH', `/contacts/${id}`, { body: { name: 'Hal Jr', customFields: { tier: 'gold' } } })).status, 200);
    const history = (await api.call('GET', `/contacts/${id}/history`)).json.items;
    assert.deepEqual(history.map((h: any) => [h.kind, h.detail, h.actor]), [
      ['edited', 'changed name, customFields', 'key:bootstrap-admin'],
      ['attempt', 'DELIVEREDPERSON (Sale) on +15550003001 reason SALE → record Closed', 'agent.kim'],
      ['created', 'created in list default', 'key:bootstrap-admin'],
    ]);
    for (let i = 1; i < history.length; i++) assert.ok(history[i - 1].at >= history[i].at);

    await env.sql`
      insert into contact_events (contact_id, at, kind, detail)
      select ${id}, now() + make_interval(secs => n), 'status-change', 'event ' || n from generate_series(1, 60) n`;
    const last = (await api.call('GET', `/contacts/${id}/history`)).json.items;
    assert.equal(last.length, 50);
    assert.equal(last[0].detail, 'event 60');
    assert.equal(last[49].detail, 'event 11');
    assert.equal((await api.call('GET', '/contacts/999999/history')).status, 404);
  });
});
