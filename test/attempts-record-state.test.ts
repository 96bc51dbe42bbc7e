// Attempts carry the reason codes and record status the dialer reports (API.md "Contact lists"): the contact
// takes the newest reported state, Closed completes the record at the attempt's end, a late batch with older
// attempts never rolls a record back, and a batch with one bad item changes nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startApi, newCampaign, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';

let env: TestEnv;
let api: Api;
let campaignId: string;

before(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  campaignId = await newCampaign(env);
  for (const clientId of ['R-1', 'R-2', 'R-3']) {
    await env.sql`insert into contacts (campaign_id, client_id, name) values (${campaignId}, ${clientId}, ${'n ' + clientId})`;
  }
});
after(async () => { await api?.close(); await env?.stop(); });

const attempt = (clientId: string, completedAt: string, extra: Record<string, unknown> = {}) => ({
  campaignId, clientId, phone: '+15550001111', startedAt: new Date(Date.parse(completedAt) - 60_000).toISOString(), completedAt,
  status: 'DELIVEREDPERSON', ...extra,
});

async function contact(clientId: string) {
  const [row] = await env.sql<{ id: string }[]>`select id::text from contacts where campaign_id = ${campaignId} and client_id = ${clientId}`;
  return (await api.call('GET', `/contacts/${row.id}`)).json;
}

test('the newest reported state wins; Closed sets closedAt to the completion time', async () => {
  const res = await api.call('POST', '/attempts', { body: [
    attempt('R-1', '2025-03-01T10:00:00.000Z', { recordStatus: 'Callback', majorReason: 'NO_ANSWER' }),
    attempt('R-1', '2025-03-01T12:00:00.000Z', { recordStatus: 'Closed', majorReason: 'SALE', minorReason: 'UPSELL' }),
    attempt('R-1', '2025-03-01T11:00:00.000Z', { recordStatus: 'Remaining', majorReason: 'BUSY' }),
    attempt('R-2', '2025-03-01T09:00:00.000Z'),
  ] });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  const r1 = await contact('R-1');
  assert.equal(r1.status, 'Closed');
  assert.equal(r1.majorReason, 'SALE');
  assert.equal(r1.minorReason, 'UPSELL');
  assert.equal(r1.closedAt, '2025-03-01T12:00:00.000Z');
  const r2 = await contact('R-2');
  assert.equal(r2.status, 'Remaining', 'an attempt that reports no state leaves the contact as it was');
  assert.equal(r2.closedAt, null);
  const stored = await env.sql`select major_reason, minor_reason, record_status from call_attempts where client_id = 'R-1' and campaign_id = ${campaignId} order by completed_at`;
  assert.deepEqual(stored.map((a) => a.record_status), ['Callback', 'Remaining', 'Closed']);
});

test('a late batch of older attempts does not roll the record back; a newer one reopens it', async () => {
  let res = await api.call('POST', '/attempts', { body: [attempt('R-1', '2025-03-01T08:00:00.000Z', { recordStatus: 'Inactive', majorReason: 'OLD' })] });
  assert.equal(res.status, 201);
  let r1 = await contact('R-1');
  assert.equal(r1.status, 'Closed');
  assert.equal(r1.majorReason, 'SALE');
  res = await api.call('POST', '/attempts', { body: [attempt('R-1', '2025-03-02T08:00:00.000Z', { recordStatus: 'Callback' })] });
  assert.equal(res.status, 201);
  r1 = await contact('R-1');
  assert.equal(r1.status, 'Callback');
  assert.equal(r1.closedAt, null, 'a reopened record is no longer completed');
  assert.equal(r1.majorReason, 'SALE', 'reasons not reported keep their value');
});

test('an unknown record status is 400 naming the item, and nothing is recorded', async () => {
  const before = await env.sql`select count(*)::int as n from call_attempts where campaign_id = ${campaignId}`;
  const res = await api.call('POST', '/attempts', { body: [
    attempt('R-3', '2025-03-03T08:00:00.000Z', { recordStatus: 'Closed' }),
    attempt('R-3', '2025-03-03T09:00:00.000Z', { recordStatus: 'Finished' }),
  ] });
  assert.equal(res.status, 400);
  assert.match(JSON.stringify(res.json), /1\.recordStatus/);
  const afterCount = await env.sql`select count(*)::int as n from call_attempts where campaign_id = ${campaignId}`;
  assert.equal(afterCount[0].n, before[0].n);
  assert.equal((await contact('R-3')).status, 'Remaining');
});
