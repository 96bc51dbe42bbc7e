// Bulk delete and bulk status change through the API on a real worker, PostgreSQL and Temporal (issue 14): the
// dry run counts and changes nothing; each process changes exactly the filter's contacts and leaves the rest (other
// lists, other statuses, the neighbour campaign) alone; the deleted contacts are downloadable as CSV (formulas
// neutralized); a cancel in the middle of the transaction — held still by a row lock the test takes, as a
// concurrent edit would — changes nothing and frees the lock; edits are refused while the process holds it;
// status changes run only on running campaigns and assign only the seed's statuses.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { startApi, type Api } from './erasure-fixtures.js';
import { distinctCampaignIds } from './faults/crash-helpers.js';
import { createTestEnv, type TestEnv, type RunningWorker } from './harness/env.js';
import {
  blockedInStep, contactsOf, holdContact, lockOf, processFile, runOf, seedProcessCampaign, waitFor,
} from './contact-process-helpers.js';

let env: TestEnv;
let api: Api;
let worker: RunningWorker;

before(async () => {
  env = await createTestEnv({ env: { CAMPAIGN_LOCK_CHECK_SECONDS: '1' } });
  await distinctCampaignIds(env.sql);   // lock workflows are named by campaign id in the shared namespace
  worker = await env.startWorker();
  api = await startApi(env);
});
after(async () => { await api?.close(); await worker?.stop(); await env?.stop(); });

const finished = (runId: string) => env.client.workflow.getHandle(runId).result().catch((err: unknown) => err);

test('deletion: dry run counts, the run deletes exactly the filter\'s contacts in one go and keeps them as CSV', async () => {
  const seeded = await seedProcessCampaign(env.sql, 'del');
  const before = await contactsOf(env.sql, seeded.campaignId);
  const neighbour = await contactsOf(env.sql, seeded.neighbour);
  const filter = { statuses: ['Closed', 'Postponed', 'Inactive'], majorReasons: ['SALE', 'BUSY'] };

  const dry = await api.call('POST', `/campaigns/${seeded.campaignId}/deletions`, { body: { filter, dryRun: true } });
  assert.equal(dry.status, 200, JSON.stringify(dry.json));
  assert.deepEqual(dry.json, { matched: 3 });
  assert.deepEqual(await contactsOf(env.sql, seeded.campaignId), before, 'a dry run deletes nothing');

  const res = await api.call('POST', `/campaigns/${seeded.campaignId}/deletions`, { body: { filter, comment: 'purge sales' } });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const { runId } = res.json;
  assert.match(runId, /^list-delete\//);
  const result = await finished(runId) as any;
  assert.equal(result.deleted, 3, JSON.stringify(result));
  assert.equal(result.matched, 3);

  const left = await contactsOf(env.sql, seeded.campaignId);
  assert.deepEqual(left.map((c) => c.client_id), ['P4', 'P5', 'P6']);
  assert.deepEqual(left, before.filter((c) => ['P4', 'P5', 'P6'].includes(c.client_id)), 'the rest is left as it was');
  assert.deepEqual(await contactsOf(env.sql, seeded.neighbour), neighbour, 'another campaign is never touched');
  const [{ phones }] = await env.sql`select count(*)::int as phones from contact_phones p join contacts c on c.id = p.contact_id where c.campaign_id = ${seeded.campaignId}`;
  assert.equal(phones, 2, 'the deleted contacts\' phones went with them');
  assert.equal(await lockOf(env.sql, seeded.campaignId), null, 'the lock is released');

  const file = await processFile(api.base, api.adminKey, runId);
  assert.equal(file.status, 200);
  const rows = parse(file.bytes.toString('utf8'), { columns: true }) as Record<string, string>[];
  assert.deepEqual(rows.map((r) => r.client_id).sort(), ['P1', 'P2', 'P3']);
  const p2 = rows.find((r) => r.client_id === 'P2')!;
  assert.equal(p2.name, '\'=HYPERLINK("x")', 'formulas are neutralized');
  assert.equal(p2.phone, '+15550100002');
  assert.equal(p2.phone2, '+15550100012');
  assert.equal(p2.list, 'a');
  assert.equal(p2.region, 'south', 'custom fields are columns of their own');
  assert.equal(rows.find((r) => r.client_id === 'P1')!.note, 'café');

  const processes = await api.call('GET', `/processes?campaignId=${seeded.campaignId}&type=delete`);
  assert.equal(processes.status, 200, JSON.stringify(processes.json));
  const [row] = processes.json.items;
  assert.equal(row.runId, runId);
  assert.equal(row.type, 'delete');
  assert.equal(row.status, 'finished');
  assert.equal(row.details.matched, 3);
  assert.equal(row.details.deleted, 3);
  assert.equal(row.fileUrl, `/processes/${encodeURIComponent(runId)}/file`);
});

test('deletion: a cancel in the middle of the transaction deletes nothing; edits are refused while it holds the lock', async () => {
  const seeded = await seedProcessCampaign(env.sql, 'delcancel');
  const before = await contactsOf(env.sql, seeded.campaignId);
  const held = await holdContact(env.sql, seeded.campaignId, 'P3');
  try {
    const res = await api.call('POST', `/campaigns/${seeded.campaignId}/deletions`, { body: { filter: { majorReasons: ['SALE'] } } });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const { runId } = res.json;
    await blockedInStep(env.sql, runId, 'deleting');
    assert.equal((await lockOf(env.sql, seeded.campaignId))?.held_by, runId);

    const [{ id: p4 }] = await env.sql`select id::text from contacts where campaign_id = ${seeded.campaignId} and client_id = 'P4'`;
    const edit = await api.call('PATCH', `/contacts/${p4}`, { body: { name: 'Changed' } });
    assert.equal(edit.status, 409, 'an edit is refused while the deletion holds the lock');
    const other = await api.call('POST', `/campaigns/${seeded.campaignId}/status-changes`, { body: { filter: {}, set: { status: 'Inactive' }, wait: false } });
    assert.equal(other.status, 409, 'another process with wait: false is refused');

    await env.client.workflow.getHandle(runId).cancel();
    await finished(runId);
    assert.equal((await runOf(env.sql, runId)).status, 'cancelled');
  } finally {
    await held.release();
  }
  assert.deepEqual(await contactsOf(env.sql, seeded.campaignId), before, 'nothing was deleted');
  await waitFor('the lock to be released', async () => (await lockOf(env.sql, seeded.campaignId)) === null);
  const [result] = await env.sql`select 1 from contact_process_results r join list_imports p using (run_id) where p.campaign_id = ${seeded.campaignId}`;
  assert.equal(result, undefined, 'no result was recorded');
});

test('status change: only on running campaigns, only Remaining or Inactive; dry run counts', async () => {
  const seeded = await seedProcessCampaign(env.sql, 'stbad');
  let res = await api.call('POST', `/campaigns/${seeded.campaignId}/status-changes`, { body: { filter: {}, set: { status: 'Closed' } } });
  assert.equal(res.status, 400, JSON.stringify(res.json));
  assert.ok(JSON.stringify(res.json.errors).includes('set.status'), JSON.stringify(res.json));
  res = await api.call('POST', `/campaigns/${seeded.campaignId}/status-changes`, { body: { filter: {} } });
  assert.equal(res.status, 400, 'a status change that changes nothing is refused');
  res = await api.call('POST', `/campaigns/${seeded.campaignId}/status-changes`, { body: { filter: { statuses: ['Open'] }, set: { status: 'Remaining' } } });
  assert.equal(res.status, 400);
  assert.ok(JSON.stringify(res.json.errors).includes('filter.statuses'), JSON.stringify(res.json));

  res = await api.call('POST', `/campaigns/${seeded.campaignId}/status-changes`, { body: { filter: { listIds: [seeded.listB] }, set: { status: 'Remaining' }, dryRun: true } });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.deepEqual(res.json, { matched: 3 });

  await env.sql`update campaigns set state = 'stopped' where id = ${seeded.campaignId}`;
  res = await api.call('POST', `/campaigns/${seeded.campaignId}/status-changes`, { body: { filter: {}, set: { status: 'Remaining' } } });
  assert.equal(res.status, 422, JSON.stringify(res.json));
  const [{ n }] = await env.sql`select count(*)::int as n from list_imports where campaign_id = ${seeded.campaignId}`;
  assert.equal(n, 0, 'nothing was started');
});

test('status change: new status and priority, retry counts cleared, phones activated — on the filter\'s contacts only', async () => {
  const seeded = await seedProcessCampaign(env.sql, 'st');
  const before = await contactsOf(env.sql, seeded.campaignId);
  const neighbour = await contactsOf(env.sql, seeded.neighbour);
  const res = await api.call('POST', `/campaigns/${seeded.campaignId}/status-changes`, {
    body: { filter: { statuses: ['Closed', 'Inactive', 'Postponed'], fields: { region: 'north' } }, set: { status: 'Remaining', priority: 9 },
      clearRetryCount: true, activatePhones: true },
  });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const result = await finished(res.json.runId) as any;
  assert.equal(result.matched, 2, JSON.stringify(result));   // P1 (Closed, north), P3 (Postponed, north)
  assert.equal(result.changed, 2);
  const after = await contactsOf(env.sql, seeded.campaignId);
  const byId = Object.fromEntries(after.map((c) => [c.client_id, c]));
  assert.equal(byId.P1.status, 'Remaining');
  assert.equal(byId.P1.priority, 9);
  assert.equal(byId.P1.closed_at, null, 'a reactivated record is no longer closed');
  assert.deepEqual(byId.P1.phones, [{ position: 1, number: '+15550100001', state: 'Active', retry: 0 }]);
  assert.deepEqual(byId.P3.phones, [
    { position: 1, number: '+15550100003', state: 'Excluded', retry: 0 },
    { position: 2, number: '+15550100013', state: 'Active', retry: 0 },
  ], 'an Excluded phone stays Excluded; an Inactive one becomes Active');
  assert.equal(result.phonesChanged, 3);
  for (const id of ['P2', 'P4', 'P5', 'P6']) {
    assert.deepEqual(byId[id], before.find((c) => c.client_id === id), `${id} is left alone`);
  }
  assert.deepEqual(await contactsOf(env.sql, seeded.neighbour), neighbour);
  assert.equal(await lockOf(env.sql, seeded.campaignId), null);
  const [{ id: p1 }] = await env.sql`select id::text from contacts where campaign_id = ${seeded.campaignId} and client_id = 'P1'`;
  const history = await api.call('GET', `/contacts/${p1}/history`);
  assert.equal(history.status, 200, JSON.stringify(history.json));
  const line = history.json.items.find((h: any) => h.runId === res.json.runId);
  assert.ok(line, `the status change is in the contact's history: ${JSON.stringify(history.json)}`);
  assert.equal(line.kind, 'status-change');
  assert.match(line.detail, /status → Remaining, priority → 9, retry counts cleared, phones activated/);
  const [{ id: p2 }] = await env.sql`select id::text from contacts where campaign_id = ${seeded.campaignId} and client_id = 'P2'`;
  assert.ok(!(await api.call('GET', `/contacts/${p2}/history`)).json.items.some((h: any) => h.runId === res.json.runId), 'not in an unchanged contact\'s');
  const processes = await api.call('GET', `/processes?campaignId=${seeded.campaignId}&type=status-change`);
  assert.equal(processes.json.items[0].details.changed, 2);
  assert.equal(processes.json.items[0].fileUrl, null);
});

test('status change: a cancel in the middle of the transaction changes nothing', async () => {
  const seeded = await seedProcessCampaign(env.sql, 'stcancel');
  const before = await contactsOf(env.sql, seeded.campaignId);
  const held = await holdContact(env.sql, seeded.campaignId, 'P6');
  try {
    const res = await api.call('POST', `/campaigns/${seeded.campaignId}/status-changes`, {
      body: { filter: {}, set: { status: 'Inactive' }, clearRetryCount: true },
    });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const { runId } = res.json;
    await blockedInStep(env.sql, runId, 'changing');
    await env.client.workflow.getHandle(runId).cancel();
    await finished(runId);
    assert.equal((await runOf(env.sql, runId)).status, 'cancelled');
  } finally {
    await held.release();
  }
  assert.deepEqual(await contactsOf(env.sql, seeded.campaignId), before, 'nothing was changed');
  await waitFor('the lock to be released', async () => (await lockOf(env.sql, seeded.campaignId)) === null);
});
