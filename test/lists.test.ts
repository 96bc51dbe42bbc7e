// Named lists (API.md "Contact lists"): an import puts every contact it adds in its list (listName, default
// "default"; a new name creates the list, once), contacts it only updates stay in theirs, and
// GET /campaigns/{id}/lists counts each list's contacts per status. The import's changes are lines of the
// contacts' history, naming the run.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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

async function upload(text: string): Promise<string> {
  const res = await fetch(`${api.base}/uploads`, { method: 'POST', headers: { authorization: `Bearer ${api.adminKey}`, 'content-type': 'text/csv' }, body: text });
  assert.equal(res.status, 201);
  return (await res.json() as { uploadId: string }).uploadId;
}

async function importList(campaignId: string, csv: string, extra: Record<string, unknown> = {}) {
  const res = await api.call('POST', `/campaigns/${campaignId}/imports`, { body: { source: { uploadId: await upload(csv) }, ...extra } });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const run = await waitFor(`import ${res.json.runId}`, async () => {
    const r = (await api.call('GET', `/runs/${encodeURIComponent(res.json.runId)}`)).json;
    return ['completed', 'failed', 'cancelled'].includes(r.status) && r;
  });
  assert.equal(run.status, 'completed', run.error);
  return run;
}

const listsOf = async (campaignId: string) => {
  const res = await api.call('GET', `/campaigns/${campaignId}/lists`);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json.items as { id: string; name: string; contacts: number; byStatus: Record<string, number> }[];
};
const contactsOf = async (campaignId: string, query = '') => {
  const res = await api.call('GET', `/campaigns/${campaignId}/contacts?limit=500${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json.items as { id: string; clientId: string; listId: string; status: string }[];
};

describe('lists', () => {
  test('an import without listName fills "default"; a named one creates its list; counts per list and status', async () => {
    const campaignId = await newCampaign(env);
    assert.deepEqual(await listsOf(campaignId), [], 'a new campaign has no list yet');
    await importList(campaignId, 'client_id,name,phone\nA1,Ann,+15550000001\nA2,Bob,+15550000002\n');
    let lists = await listsOf(campaignId);
    assert.deepEqual(lists.map((l) => [l.name, l.contacts, l.byStatus]), [['default', 2, { Remaining: 2 }]]);
    const defaultId = lists[0].id;

    // A new name: the new contacts join it; A2, already in the campaign, is updated and stays in "default".
    const run = await importList(campaignId, 'client_id,name,phone\nB1,Cy,+15550000011\nB2,Di,+15550000012\nA2,Bobby,+15550000002\n',
      { listName: 'spring', mergeRule: 'append' });
    assert.deepEqual([run.result.imported, run.result.updated], [2, 1]);
    await env.sql`update contacts set status = 'Closed' where campaign_id = ${campaignId} and client_id = 'B2'`;
    lists = await listsOf(campaignId);
    assert.deepEqual(lists.map((l) => [l.name, l.contacts, l.byStatus]),
      [['default', 2, { Remaining: 2 }], ['spring', 2, { Remaining: 1, Closed: 1 }]]);
    const springId = lists[1].id;
    assert.deepEqual((await contactsOf(campaignId, `&listId=${springId}`)).map((c) => c.clientId), ['B1', 'B2']);
    assert.deepEqual((await contactsOf(campaignId, `&listId=${defaultId}`)).map((c) => c.clientId), ['A1', 'A2']);

    // The same name again: the list is reused, never duplicated; replace puts the re-added contact in it.
    await importList(campaignId, 'client_id,name,phone\nB3,Ed,+15550000013\nA1,Ann,+15550000001\n', { listName: 'spring', mergeRule: 'replace' });
    lists = await listsOf(campaignId);
    assert.deepEqual(lists.map((l) => [l.name, l.contacts]), [['default', 1], ['spring', 4]]);
    const [{ n }] = await env.sql<{ n: number }[]>`select count(*)::int as n from calling_lists where campaign_id = ${campaignId}`;
    assert.equal(n, 2);
  });

  test("an import's changes are in the contacts' history, naming the run; contacts it left alone get no line", async () => {
    const campaignId = await newCampaign(env);
    const first = await importList(campaignId, 'client_id,name,phone\nH1,Hal,+15550000021\nH2,Ida,+15550000022\n', { listName: 'h' });
    const second = await importList(campaignId, 'client_id,name,phone\nH1,Hal Jr,+15550000021\n', { mergeRule: 'append', updateRule: 'nothing' });
    const [h1, h2] = await contactsOf(campaignId);
    const historyOf = async (id: string) => (await api.call('GET', `/contacts/${id}/history`)).json.items;
    const h1History = await historyOf(h1.id);
    assert.deepEqual(h1History.map((h: any) => [h.kind, h.detail, h.runId, h.actor]), [
      ['import', 'updated by list import (update rule nothing, merge rule append)', second.runId, 'key:bootstrap-admin'],
      ['import', 'imported into list h', first.runId, 'key:bootstrap-admin'],
    ]);
    assert.ok(Date.parse(h1History[0].at) >= Date.parse(h1History[1].at));
    assert.deepEqual((await historyOf(h2.id)).map((h: any) => h.runId), [first.runId]);
  });

  test('bad input: an empty listName is 400 naming the field, nothing started; an unknown campaign is 404', async () => {
    const campaignId = await newCampaign(env);
    const res = await api.call('POST', `/campaigns/${campaignId}/imports`, { body: { source: { uploadId: await upload('client_id\nZ1\n') }, listName: '  ' } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json.errors.map((e: any) => e.path), ['listName']);
    const [{ n }] = await env.sql<{ n: number }[]>`select count(*)::int as n from runs where campaign_id = ${campaignId}`;
    assert.equal(n, 0);
    assert.equal((await api.call('GET', '/campaigns/999999/lists')).status, 404);
  });
});
