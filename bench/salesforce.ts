// Salesforce export: records per second of one run of a Salesforce export job (`simple`, upsert on an external id,
// 10,000 results at full size) against the local Salesforce stand-in (test/harness/salesforce-standin.ts), by the
// salesforceExport workflow (read the window through a cursor, claim each chunk of 200 in the ledger, one sObject
// Collections upsert, settle), against a plain jsforce loop sending the same records, already built, as sObject
// Collections upserts of 200, one after another, to the same stand-in (other keys, so both create).
import { randomBytes } from 'node:crypto';
import { openSalesforce, type SalesforceConnection } from '../lib/salesforce/connection.js';
import { sealAccountSecrets } from '../lib/salesforce/accounts.js';
import { salesforceJobConfigSchema } from '../lib/salesforce/definition.js';
import { insertSalesforceJob } from '../lib/salesforce/jobs.js';
import { createTestEnv } from '../test/harness/env.js';
import { startSalesforceStandin } from '../test/harness/salesforce-standin.js';
import { CALL_RESULT_FIELDS, FIELD_MAP, seedResults, SF_USER } from '../test/salesforce-helpers.js';
import { SALESFORCE_EXPORT_WORKFLOW, type SalesforceExportResult } from '../contracts/salesforce-export.js';
import { runProfile } from './profile.js';
import { count, distinctCampaignIds, fmt, scaled, throughputFigure, timed, type BenchContext, type Figure } from './lib.js';

const FULL_RESULTS = 10_000;
const CHUNK = 200;
const OBJECT = 'Call_Result__c';

export async function salesforceBenchmark(ctx: BenchContext): Promise<Figure[]> {
  const n = scaled(ctx, FULL_RESULTS, 400);
  const [env, sf] = await Promise.all([
    createTestEnv(), startSalesforceStandin({ users: [SF_USER], objects: { [OBJECT]: CALL_RESULT_FIELDS } }),
  ]);
  await distinctCampaignIds(env.sql);
  try {
    const [{ id: campaignId }] = await env.sql<{ id: string }[]>`
      insert into campaigns (name, timezone) values (${`bench-sf-${randomBytes(3).toString('hex')}`}, 'UTC') returning id::text`;
    ctx.log(`salesforce: ${count(n)} results`);
    await seedResults(env.sql, campaignId, n, new Date('2025-06-01T08:00:00Z'));
    await env.sql`vacuum analyze contacts`;
    await env.sql`vacuum analyze call_attempts`;
    const [{ id: accountId }] = await env.sql<{ id: string }[]>`
      insert into salesforce_accounts (name, login_url, username, client_id, secrets)
      values ('bench', ${sf.url}, ${SF_USER.username}, null,
              ${sealAccountSecrets(env.deps.keyring, { password: SF_USER.password, securityToken: SF_USER.securityToken })})
      returning id::text`;
    const jobId = await insertSalesforceJob(env.sql, {
      name: `bench-${randomBytes(3).toString('hex')}`, enabled: false, campaignId, exportCreatedAfter: '2025-01-01T00:00:00Z',
      config: salesforceJobConfigSchema.parse({
        format: 'simple', dispositions: 'all', accountId, object: OBJECT, fieldMap: FIELD_MAP, externalIdField: 'Result_Key__c', schedule: { every: '15m' },
      }),
    });

    // The baseline: the same records (as the job maps them), built beforehand, upserted 200 at a time.
    const rows = await env.sql<{ client_id: string; name: string; closed_at: Date }[]>`
      select client_id, name, closed_at from contacts where campaign_id = ${campaignId} order by closed_at, client_id`;
    const records = rows.map((r, i) => ({
      attributes: { type: OBJECT }, Name: r.name, Client_Id__c: r.client_id, Disposition__c: 'Sale', Closed_At__c: r.closed_at.toISOString(),
      Attempt_Number__c: 2, Result_Key__c: `base-${i}`,
    }));
    const conn: SalesforceConnection = await openSalesforce({
      id: accountId, name: 'bench', loginUrl: sf.url, username: SF_USER.username, clientId: null,
      secrets: { password: SF_USER.password, securityToken: SF_USER.securityToken }, createdAt: new Date(), updatedAt: new Date(),
    });
    const b = await timed(async () => {
      for (let i = 0; i < records.length; i += CHUNK) {
        const results = await conn.sobject(OBJECT).upsert(records.slice(i, i + CHUNK), 'Result_Key__c', { allOrNone: false }) as unknown as { success: boolean }[];
        if (results.some((r) => !r.success)) throw new Error('the baseline upsert was refused');
      }
    });
    const baselineRate = n / b.seconds;

    await env.startWorker();
    ctx.log(`salesforce: baseline ${fmt(baselineRate, 0)} records/s; running the workflow`);
    const workflowId = `salesforce-export/${jobId}/bench-${Date.now()}`;
    const o = await timed(async () => {
      const handle = await env.client.workflow.start(SALESFORCE_EXPORT_WORKFLOW, { taskQueue: env.taskQueue, workflowId, args: [{ definitionId: jobId }] });
      return (await handle.result()) as SalesforceExportResult;
    });
    if (o.value.sent !== n) throw new Error(`the run sent ${o.value.sent} results, expected ${n} (${o.value.failed} failed)`);
    const profile = await runProfile(env.client, workflowId);
    return [
      throughputFigure({
        benchmark: 'Salesforce export: records/s', size: `${count(n)} results`, ours: n / o.seconds, baseline: baselineRate, unit: 'records/s',
        atLeast: 0.8, goal: '≥ 0.8×',
        notes: `ours: the whole run (start, window wait, ledger claim + settle per chunk of ${CHUNK}, run record) ${fmt(o.seconds)} s; `
          + `baseline: a plain jsforce loop of sObject Collections upserts of ${CHUNK} (records built beforehand) ${fmt(b.seconds)} s; `
          + `both against the stand-in in this process. Where ours went: ${profile}`,
      }),
    ];
  } finally {
    await env.stop();
    await sf.close();
  }
}
