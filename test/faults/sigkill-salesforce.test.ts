// Worker processes SIGKILLed at seeded random points of Salesforce export runs (against the Salesforce stand-in,
// which holds each sObject Collections answer a moment after saving the records, so kills land between Salesforce
// saving a chunk and the worker recording it). With an external id field every result's object exists exactly
// once afterwards; without one (create mode) no object is ever created twice, and every result is either created
// once or reported in the run's result as of unknown outcome — never silently dropped.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { newCampaign } from '../recording-export-helpers.js';
import { startSalesforceStandin, type SalesforceStandin } from '../harness/salesforce-standin.js';
import { CALL_RESULT_FIELDS, jobBody, seedResults, SF_USER } from '../salesforce-helpers.js';
import { crashLoop, faultSuiteEnv, rngFor, sleep, type JobRun } from './crash-helpers.js';

const suite = faultSuiteEnv();
const KILLS = Number(process.env.FAULT_TRIALS ?? '4');
const RESULTS = 3000; // 15 chunks: enough for the kills to land mid-run (1,200 let a run end between two)
let sf: SalesforceStandin;
let accountId: string;

/** The stand-in and the account, made once the suite's environment and API are up. */
async function ready(): Promise<void> {
  if (sf) return;
  sf = await startSalesforceStandin({ users: [SF_USER], objects: { Call_Result__c: CALL_RESULT_FIELDS } });
  sf.afterCollectionApplied = async () => { await sleep(250); };
  const account = await suite.api.call('POST', '/salesforce-accounts', { body: { name: 'Faults org', loginUrl: sf.url, username: SF_USER.username, password: SF_USER.password, securityToken: SF_USER.securityToken } });
  assert.equal(account.status, 201, JSON.stringify(account.json));
  accountId = account.json.id;
}
after(async () => sf?.close());

async function startSalesforceRun(externalIdField: string | undefined): Promise<JobRun & { jobId: string }> {
  await ready();
  const { env, api } = suite;
  const campaign = await newCampaign(env.sql);
  await seedResults(env.sql, campaign.id, RESULTS, new Date('2025-07-01T08:00:00Z'));
  const job = await api.call('POST', '/salesforce-export-jobs', { body: jobBody(campaign.id, accountId, { externalIdField }) });
  assert.equal(job.status, 201, JSON.stringify(job.json));
  const started = await api.call('POST', `/salesforce-export-jobs/${job.json.id}/run`);
  assert.equal(started.status, 202, JSON.stringify(started.json));
  const jobId: string = job.json.id;
  return {
    jobId,
    workflowId: started.json.runId,
    workerEnv: {},
    progress: async () => (await env.sql<{ n: number }[]>`
      select count(*)::int as n from salesforce_export_ledger where job_id = ${jobId} and state <> 'sending'`)[0].n,
    async finish() {
      const result = await env.client.workflow.getHandle(started.json.runId).result();
      // Upserted objects carry the job's key; created ones (no external id) are told apart by having none.
      const objects = sf.records('Call_Result__c').filter((r) => (externalIdField
        ? String(r.Result_Key__c ?? '').startsWith(`cc-${jobId}-`)
        : r.Result_Key__c === undefined && String(r.Client_Id__c ?? '').startsWith('SF')));
      const keys = objects.map((r) => String(r.Client_Id__c));
      assert.equal(new Set(keys).size, keys.length, 'no result\'s object created twice');
      const [ledger] = await env.sql`
        select count(*)::int as n, count(*) filter (where state = 'sent')::int as sent, count(*) filter (where state = 'unknown')::int as unknown,
               count(*) filter (where state = 'sending')::int as sending
        from salesforce_export_ledger where job_id = ${jobId}`;
      assert.equal(ledger.n, RESULTS, 'every result is in the ledger once');
      assert.equal(ledger.sending, 0, 'no claim left unresolved');
      if (externalIdField) {
        assert.equal(keys.length, RESULTS, 'every result\'s object exists');
        assert.equal(ledger.sent, RESULTS);
      } else {
        assert.equal(ledger.sent + ledger.unknown, RESULTS);
        assert.ok(keys.length >= ledger.sent && keys.length <= RESULTS, `${keys.length} objects for ${ledger.sent} sent and ${ledger.unknown} unknown`);
        assert.equal(result.unknown, ledger.unknown, 'every unknown outcome is reported in the run result');
        assert.equal(result.errors.filter((e: { error: string }) => /outcome unknown/.test(e.error)).length, ledger.unknown);
      }
    },
  };
}

describe(`SIGKILL of the worker at ${KILLS} random points of a Salesforce export`, () => {
  test('with an external id field: every result\'s object created exactly once', async () => {
    const run = await startSalesforceRun('Result_Key__c');
    await crashLoop(suite.env, run, rngFor('salesforce-upsert'), { trials: KILLS, maxExtraMs: 300, waitForProgress: true });
  });

  test('without one (create mode): never created twice; a lost answer is reported as unknown, never resent', async () => {
    const run = await startSalesforceRun(undefined);
    await crashLoop(suite.env, run, rngFor('salesforce-create'), { trials: KILLS, maxExtraMs: 300, waitForProgress: true });
  });
});
