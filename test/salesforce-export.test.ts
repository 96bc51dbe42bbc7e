// Periodic Salesforce export through the API, against the Salesforce stand-in (test/harness/salesforce-standin.ts):
// accounts (secrets never returned, test), the mapping checked against the object's describe, test by creating
// object, a run of 450 results in 3 collections requests, per-record errors by record key, a session expiring
// mid-run, transient faults retried, and a second run that sends nothing twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newCampaign } from './recording-export-helpers.js';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type RunningWorker, type TestEnv } from './harness/env.js';
import { startSalesforceStandin, type SalesforceStandin } from './harness/salesforce-standin.js';
import { CALL_RESULT_FIELDS, FIELD_MAP, jobBody, seedResults, SF_USER } from './salesforce-helpers.js';

let env: TestEnv;
let api: Api;
let sf: SalesforceStandin;
let worker: RunningWorker;
let accountId: string;

before(async () => {
  [env, sf] = await Promise.all([createTestEnv(), startSalesforceStandin({ users: [SF_USER], objects: { Call_Result__c: CALL_RESULT_FIELDS } })]);
  worker = await env.startWorker();
  api = await startApi(env);
});

after(async () => {
  await api?.close();
  await worker?.stop();
  await env?.stop();
  await sf?.close();
});

async function runToEnd(jobId: string) {
  const started = await api.call('POST', `/salesforce-export-jobs/${jobId}/run`);
  assert.equal(started.status, 202, JSON.stringify(started.json));
  const result = await env.client.workflow.getHandle(started.json.runId).result();
  return { runId: started.json.runId as string, result };
}

describe('Salesforce integration accounts', () => {
  it('are created with secrets sealed and never returned; the test logs in, and names a refused login', async () => {
    const created = await api.call('POST', '/salesforce-accounts', { body: { name: 'Sales org', loginUrl: sf.url, username: SF_USER.username, password: SF_USER.password, securityToken: SF_USER.securityToken } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    accountId = created.json.id;
    const shown = await api.call('GET', `/salesforce-accounts/${accountId}`);
    assert.equal(shown.json.password, '••••');
    assert.equal(shown.json.securityToken, '••••');
    assert.ok(!JSON.stringify(shown.json).includes(SF_USER.password) && !JSON.stringify(shown.json).includes(SF_USER.securityToken!));
    const [stored] = await env.sql`select secrets from salesforce_accounts where id = ${accountId}`;
    assert.ok(!String(stored.secrets).includes(SF_USER.password), 'sealed at rest');
    assert.deepEqual((await api.call('POST', `/salesforce-accounts/${accountId}/test`)).json, { ok: true });

    const oauth = await api.call('POST', '/salesforce-accounts', { body: { name: 'OAuth org', loginUrl: sf.url, username: SF_USER.username, password: SF_USER.password, securityToken: SF_USER.securityToken, clientId: SF_USER.clientId, clientSecret: SF_USER.clientSecret } });
    assert.equal(oauth.status, 201);
    assert.equal((await api.call('POST', `/salesforce-accounts/${oauth.json.id}/test`)).status, 200);

    const wrong = await api.call('POST', '/salesforce-accounts', { body: { name: 'Wrong token', loginUrl: sf.url, username: SF_USER.username, password: SF_USER.password, securityToken: 'nope' } });
    const refused = await api.call('POST', `/salesforce-accounts/${wrong.json.id}/test`);
    assert.equal(refused.status, 422);
    assert.match(refused.json.detail, /INVALID_LOGIN/);
    const half = await api.call('POST', '/salesforce-accounts', { body: { name: 'Half OAuth', loginUrl: sf.url, username: 'u', password: 'p', clientId: 'x' } });
    assert.equal(half.status, 400);
    assert.equal(half.json.errors[0].path, 'clientSecret');
  });
});

describe('Salesforce export jobs', () => {
  it('refuse a mapping that does not fit the object, naming the field, and save nothing', async () => {
    const campaign = await newCampaign(env.sql);
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ fieldMap: { ...FIELD_MAP, Nope__c: 'name' } }, 'fieldMap.Nope__c', /has no field Nope__c/],
      [{ fieldMap: { ...FIELD_MAP, Formula__c: 'name' } }, 'fieldMap.Formula__c', /not createable/],
      [{ fieldMap: { ...FIELD_MAP, Is_Test__c: 'closed_at' } }, 'fieldMap.Is_Test__c', /type mismatch: Call_Result__c.Is_Test__c is boolean, result column "closed_at" is datetime/],
      [{ fieldMap: { ...FIELD_MAP, Client_Id__c: 'shoe_size' } }, 'fieldMap.Client_Id__c', /unknown result column "shoe_size"/],
      [{ fieldMap: { Client_Id__c: 'client_id' } }, 'fieldMap', /Call_Result__c.Name is required/],
      [{ externalIdField: 'Client_Id__c' }, 'externalIdField', /not an External ID field/],
      [{ object: 'Nope__c' }, 'object', /does not exist/],
      [{ schedule: { every: '10m' } }, 'schedule.every', /at least 15m/],
      [{ accountId: '999999' }, 'accountId', /does not exist/],
    ];
    for (const [over, path, message] of cases) {
      const res = await api.call('POST', '/salesforce-export-jobs', { body: jobBody(campaign.id, accountId, over) });
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.json)}`);
      assert.ok(res.json.errors.some((e: { path: string; message: string }) => e.path === path && message.test(e.message)), `${path}: ${JSON.stringify(res.json.errors)}`);
    }
    const [{ n }] = await env.sql`select count(*)::int as n from job_definitions where kind = 'salesforce-export' and campaign_id = ${campaign.id}`;
    assert.equal(n, 0);
  });

  it('is scheduled, shown, and "test by creating object" creates one object from the mapping', async () => {
    const campaign = await newCampaign(env.sql);
    const created = await api.call('POST', '/salesforce-export-jobs', { body: jobBody(campaign.id, accountId, { enabled: true, schedule: { every: '1h' } }) });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.scheduleId, `salesforce-export/${created.json.id}`);
    const shown = await api.call('GET', `/salesforce-export-jobs/${created.json.id}`);
    assert.equal(shown.json.object, 'Call_Result__c');
    assert.ok(shown.json.nextRunAt, 'an enabled job has a next run');
    const tasks = await api.call('GET', '/tasks?type=salesforce-export');
    assert.ok(tasks.json.items.some((t: { scheduleId?: string; type: string; typeName: string }) => t.scheduleId === created.json.scheduleId && t.type === 'salesforce-export'
      && t.typeName === 'Campaign results export'), JSON.stringify(tasks.json));
    const before = sf.records('Call_Result__c').length;
    const tested = await api.call('POST', `/salesforce-export-jobs/${created.json.id}/test`);
    assert.equal(tested.status, 200, JSON.stringify(tested.json));
    const made = sf.records('Call_Result__c').find((r) => r.Id === tested.json.objectId)!;
    assert.equal(made.Name, 'Test Record');
    assert.equal(made.Client_Id__c, 'TEST-0001');
    assert.equal(sf.records('Call_Result__c').length, before + 1);
    const disabled = await api.call('PATCH', `/salesforce-export-jobs/${created.json.id}`, { body: { enabled: false } });
    assert.equal(disabled.json.nextRunAt, null);
    assert.equal((await api.call('DELETE', `/salesforce-export-jobs/${created.json.id}`)).status, 204);
  });

  it('a run of 450 results sends 3 collections of at most 200, each result once; the next run sends nothing again', async () => {
    const campaign = await newCampaign(env.sql);
    await seedResults(env.sql, campaign.id, 450, new Date('2025-06-01T08:00:00Z'));
    const job = await api.call('POST', '/salesforce-export-jobs', { body: jobBody(campaign.id, accountId) });
    assert.equal(job.status, 201, JSON.stringify(job.json));
    const collections = sf.counts.collections;
    const { runId, result } = await runToEnd(job.json.id);
    assert.deepEqual({ sent: result.sent, created: result.created, failed: result.failed, chunks: result.chunks }, { sent: 450, created: 450, failed: 0, chunks: 3 });
    assert.equal(sf.counts.collections - collections, 3);
    const mine = sf.records('Call_Result__c').filter((r) => String(r.Result_Key__c).startsWith(`cc-${job.json.id}-`));
    assert.equal(mine.length, 450);
    assert.equal(new Set(mine.map((r) => r.Client_Id__c)).size, 450);
    const first = mine.find((r) => r.Client_Id__c === 'SF0')!;
    assert.deepEqual([first.Name, first.Disposition__c, first.Attempt_Number__c, Date.parse(String(first.Closed_At__c))], ['Person 0', 'Sale', 2, Date.parse('2025-06-01T08:00:00Z')]);
    const [run] = await env.sql`select type, status, progress_done::int from runs where run_id = ${runId}`;
    assert.deepEqual({ ...run }, { type: 'salesforce-export', status: 'completed', progress_done: 450 });
    const shown = await api.call('GET', `/salesforce-export-jobs/${job.json.id}`);
    const [started] = await env.sql`select started_at from runs where run_id = ${runId}`;
    assert.ok(Math.abs(Date.parse(shown.json.exportCreatedAfter) - started.started_at.getTime()) < 5000, 'the watermark moved to the end of the run\'s window');

    const logged = await api.call('GET', '/task-log?type=salesforce-export&limit=500');
    const entry = logged.json.items.find((i: { runId: string }) => i.runId === runId);
    assert.deepEqual([entry?.type, entry?.typeName], ['salesforce-export', 'Campaign results export'], 'in the task log as a Salesforce export, with the seed\'s name');

    const again = await runToEnd(job.json.id);
    assert.equal(again.result.sent, 0);
    assert.equal(sf.records('Call_Result__c').filter((r) => String(r.Result_Key__c).startsWith(`cc-${job.json.id}-`)).length, 450);
  });

  it('per-record errors come back in the run result by record key; the rest are created (create mode, no external id)', async () => {
    const campaign = await newCampaign(env.sql);
    await seedResults(env.sql, campaign.id, 30, new Date('2025-06-02T08:00:00Z'), (i) => i % 10 === 3);
    const job = await api.call('POST', '/salesforce-export-jobs', { body: jobBody(campaign.id, accountId, { externalIdField: undefined, format: 'detailed' }) });
    assert.equal(job.status, 201, JSON.stringify(job.json));
    const { runId, result } = await runToEnd(job.json.id);
    assert.deepEqual([result.sent, result.failed], [54, 6], 'detailed: two attempts per record; three nameless records refused twice each');
    assert.deepEqual(result.errors.map((e: { clientId: string }) => e.clientId).sort(), ['SF13', 'SF13', 'SF23', 'SF23', 'SF3', 'SF3']);
    assert.ok(result.errors.every((e: { key: string; error: string }) => /^a\d+$/.test(e.key) && /^REQUIRED_FIELD_MISSING: Required fields are missing: \[Name\]/.test(e.error)));
    const [run] = await env.sql`select status, error from runs where run_id = ${runId}`;
    assert.equal(run.status, 'completed');
    assert.match(run.error, /6 record\(s\) were not accepted/);
    const [ledger] = await env.sql`select count(*) filter (where state = 'sent')::int as sent, count(*) filter (where state = 'failed')::int as failed from salesforce_export_ledger where job_id = ${job.json.id}`;
    assert.deepEqual({ ...ledger }, { sent: 54, failed: 6 });
  });

  it('a session that expires mid-run is renewed by a new login; 5xx and REQUEST_LIMIT_EXCEEDED are retried; every result is created once', async () => {
    const campaign = await newCampaign(env.sql);
    await seedResults(env.sql, campaign.id, 450, new Date('2025-06-03T08:00:00Z'));
    for (const externalIdField of ['Result_Key__c', undefined]) {
      const job = await api.call('POST', '/salesforce-export-jobs', { body: jobBody(campaign.id, accountId, { externalIdField, fieldMap: { ...FIELD_MAP, Result_Key__c: externalIdField ? undefined : 'client_id' } }) });
      assert.equal(job.status, 201, JSON.stringify(job.json));
      const logins = sf.counts.logins;
      let collections = 0;
      sf.afterCollectionApplied = async () => {
        collections++;
        if (collections === 1) {
          sf.expireSessions();
          sf.failNext('unavailable', 1, /composite/);
          sf.failNext('request-limit', 1, /composite/);
        }
      };
      const { result } = await runToEnd(job.json.id);
      sf.afterCollectionApplied = undefined;
      assert.deepEqual([result.sent, result.failed, result.unknown], [450, 0, 0]);
      assert.ok(sf.counts.logins > logins, 'logged in again after the expiry');
      const keys = externalIdField
        ? sf.records('Call_Result__c').filter((r) => String(r.Result_Key__c).startsWith(`cc-${job.json.id}-`)).map((r) => r.Result_Key__c)
        : sf.records('Call_Result__c').filter((r) => r.Result_Key__c === null || r.Result_Key__c === undefined ? false : String(r.Result_Key__c).startsWith('SF') && r.Closed_At__c && String(r.Closed_At__c).startsWith('2025-06-03')).map((r) => r.Result_Key__c);
      assert.equal(keys.length, 450, `${externalIdField ?? 'create'}: 450 objects`);
      assert.equal(new Set(keys).size, 450, `${externalIdField ?? 'create'}: each once`);
    }
  });

  it('more than 1000 record errors: the result lists 1000 and names errorsPath; the API pages through every one', async () => {
    const campaign = await newCampaign(env.sql);
    await seedResults(env.sql, campaign.id, 1010, new Date('2025-06-04T08:00:00Z'), (i) => i >= 3);
    const job = await api.call('POST', '/salesforce-export-jobs', { body: jobBody(campaign.id, accountId) });
    assert.equal(job.status, 201, JSON.stringify(job.json));
    const { runId, result } = await runToEnd(job.json.id);
    assert.deepEqual([result.sent, result.failed, result.errors.length, result.errorsTruncated], [3, 1007, 1000, 7]);
    assert.equal(result.errorsPath, `/salesforce-export-jobs/${job.json.id}/record-errors?runId=${encodeURIComponent(runId)}`);
    const keys: string[] = [];
    let path: string | null = `${result.errorsPath}&limit=300`;
    while (path) {
      const page = await api.call('GET', path);
      assert.equal(page.status, 200, JSON.stringify(page.json));
      for (const e of page.json.items) {
        assert.equal(e.state, 'failed');
        assert.equal(e.runId, runId);
        assert.match(e.error, /^REQUIRED_FIELD_MISSING/);
        keys.push(e.key);
      }
      path = page.json.nextCursor ? `${result.errorsPath}&limit=300&cursor=${page.json.nextCursor}` : null;
    }
    assert.equal(keys.length, 1007);
    assert.equal(new Set(keys).size, 1007, 'no page repeats a row');
    const ledger = await env.sql<{ result_key: string }[]>`select result_key from salesforce_export_ledger where job_id = ${job.json.id} and state = 'failed'`;
    assert.deepEqual([...keys].sort(), ledger.map((r) => r.result_key).sort(), 'every error of the ledger, none dropped');
    const all = await api.call('GET', `/salesforce-export-jobs/${job.json.id}/record-errors?limit=5`);
    assert.equal(all.json.items.length, 5);
    assert.equal((await api.call('GET', '/salesforce-export-jobs/999999/record-errors')).status, 404);
  });

  it('schedule.startAt sets the phase of the interval: nextRunAt falls on startAt, then every `every` after it', async () => {
    const campaign = await newCampaign(env.sql);
    const future = await api.call('POST', '/salesforce-export-jobs', { body: jobBody(campaign.id, accountId, { enabled: true, schedule: { startAt: '2030-01-01T00:07:00Z', every: '15m' } }) });
    assert.equal(future.status, 201, JSON.stringify(future.json));
    assert.equal((await api.call('GET', `/salesforce-export-jobs/${future.json.id}`)).json.nextRunAt, '2030-01-01T00:07:00.000Z', 'the first run at startAt');
    const past = await api.call('POST', '/salesforce-export-jobs', { body: jobBody(campaign.id, accountId, { enabled: true, schedule: { startAt: '2025-01-01T00:07:00Z', every: '1h' } }) });
    assert.equal(past.status, 201, JSON.stringify(past.json));
    const next = new Date((await api.call('GET', `/salesforce-export-jobs/${past.json.id}`)).json.nextRunAt);
    assert.deepEqual([next.getUTCMinutes(), next.getUTCSeconds()], [7, 0], 'on the phase of startAt, not the epoch');
    assert.ok(next.getTime() > Date.now() && next.getTime() <= Date.now() + 3_600_000);
    const moved = await api.call('PATCH', `/salesforce-export-jobs/${past.json.id}`, { body: { schedule: { startAt: '2025-01-01T00:41:00Z', every: '1h' } } });
    assert.equal(moved.status, 200, JSON.stringify(moved.json));
    assert.equal(new Date(moved.json.nextRunAt).getUTCMinutes(), 41, 'an edit moves the phase');
    for (const id of [future.json.id, past.json.id]) assert.equal((await api.call('DELETE', `/salesforce-export-jobs/${id}`)).status, 204);
  });
});
