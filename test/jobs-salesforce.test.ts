// A salesforce-export step inside a job made of steps (issue 16), end to end against the Salesforce stand-in
// (test/harness/salesforce-standin.ts): the step runs the Salesforce export job's own workflow as its child, the
// objects it creates are in the stand-in, the step's output and history say what was sent, and a second run of
// the job sends only what is new — each result is created in Salesforce once.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type RunningWorker, type TestEnv } from './harness/env.js';
import { startSalesforceStandin, type SalesforceStandin } from './harness/salesforce-standin.js';
import { closedRun, createJob, runJob, stepsOf } from './jobs-helpers.js';
import { newCampaign } from './recording-export-helpers.js';
import { CALL_RESULT_FIELDS, jobBody, seedResults, SF_USER } from './salesforce-helpers.js';

let env: TestEnv;
let api: Api;
let sf: SalesforceStandin;
let worker: RunningWorker;

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

it('a salesforce-export step creates each result once in Salesforce; its output and history say so; a re-run sends only new results', async () => {
  const account = await api.call('POST', '/salesforce-accounts', { body: { name: 'Org', loginUrl: sf.url, username: SF_USER.username, password: SF_USER.password, securityToken: SF_USER.securityToken } });
  assert.equal(account.status, 201, JSON.stringify(account.json));
  const campaign = await newCampaign(env.sql);
  await seedResults(env.sql, campaign.id, 250, new Date('2025-06-01T08:00:00Z'));
  const sfJob = await api.call('POST', '/salesforce-export-jobs', { body: jobBody(campaign.id, account.json.id) });
  assert.equal(sfJob.status, 201, JSON.stringify(sfJob.json));
  const jobId = await createJob(api, {
    name: 'Results to Salesforce', trigger: { kind: 'manual' },
    steps: [{ name: 'to salesforce', kind: 'salesforce-export', jobId: sfJob.json.id }],
  });
  const mine = () => sf.records('Call_Result__c').filter((r) => String(r.Result_Key__c).startsWith(`cc-${sfJob.json.id}-`));
  const collections = sf.counts.collections;

  const runId = await runJob(api, jobId);
  assert.equal((await closedRun(env, runId)).status, 'completed');
  const [step] = await stepsOf(env, runId);
  assert.deepEqual([step.name, step.kind, step.status], ['to salesforce', 'salesforce-export', 'completed']);
  assert.equal(step.child_id, `${runId}/step-0-to_salesforce`, 'the child\'s id says job, run and step');
  assert.deepEqual([step.output.childId, step.output.sent, step.output.created, step.output.failed, step.output.unknown, step.output.chunks], [step.child_id, 250, 250, 0, 0, 2]);
  const [child] = await env.sql`select type, status, progress_done::int as done from runs where run_id = ${step.child_id}`;
  assert.deepEqual({ ...child }, { type: 'salesforce-export', status: 'completed', done: 250 }, 'the Salesforce export\'s own workflow ran as the child');
  assert.equal(sf.counts.collections - collections, 2, '≤ 200 per collections request');
  assert.equal(mine().length, 250, '250 objects created in the stand-in');
  assert.equal(new Set(mine().map((r) => r.Client_Id__c)).size, 250, 'each result once');
  const history = await api.call('GET', `/jobs/${jobId}/history`);
  assert.equal(history.status, 200);
  assert.equal(JSON.stringify(history.json).includes('"sent":250'), true, `the history shows the step's output: ${JSON.stringify(history.json).slice(0, 400)}`);

  // The job again: nothing sent twice; then ten new results, and only those are sent.
  const again = await runJob(api, jobId);
  assert.equal((await closedRun(env, again)).status, 'completed');
  assert.equal((await stepsOf(env, again))[0].output.sent, 0);
  assert.equal(mine().length, 250);
  await env.sql`update contacts set client_id = 'X' || client_id where campaign_id = ${campaign.id}`; // keep the first 250 apart
  await seedResults(env.sql, campaign.id, 10, new Date(Date.now() - 60_000));
  const third = await runJob(api, jobId);
  assert.equal((await closedRun(env, third)).status, 'completed');
  assert.equal((await stepsOf(env, third))[0].output.sent, 10);
  assert.equal(mine().length, 260);
  assert.equal(new Set(mine().map((r) => r.Result_Key__c)).size, 260, 'every object created once');
});
