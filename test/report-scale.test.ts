// A report over a million attempts streams from PostgreSQL through the worker into the content store in
// bounded memory: the worker process's resident memory grows by far less than the report's size.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { createReportDefinition, newCampaign, runReport } from './report-helpers.js';

const ATTEMPTS = 1_000_000;
let env: TestEnv;

before(async () => {
  env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC' } });
  await env.startWorker();
});

after(async () => { await env?.stop(); });

test('an All Attempts report over a million attempts runs in bounded memory', async () => {
  const campaign = await newCampaign(env.sql, new Date('2025-01-01T00:00:00Z'));
  // Set-based: one statement writes the million rows (200k contacts, five attempts each, one per second).
  await env.sql`
    insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status, collected_at)
    select ${campaign.id}, 'C' || (g % 200000), '+1555' || lpad((g % 10000000)::text, 7, '0'), t - interval '40 seconds', t,
           (array['DELIVEREDPERSON','NOANSWER','BUSY','DELIVEREDMACHINE','UNDELIVEREDMACHINE','CALL_BAD_NUMBER','DNC','BADDATA'])[1 + g % 8], t
    from generate_series(1, ${ATTEMPTS}) as g, lateral (select timestamptz '2025-01-02T00:00:00Z' + g * interval '1 second') as x(t)`;
  await env.sql`analyze call_attempts`;
  const definitionId = await createReportDefinition(env.sql, { campaignId: campaign.id, timeframe: { kind: 'entire-campaign' } });

  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  const result = await runReport(env, { definitionId }).finally(() => clearInterval(sampler));

  assert.equal(result.rows, ATTEMPTS);
  const growth = peak - baseline;
  console.log(`report ${(result.sizeBytes / 1e6).toFixed(0)} MB, worker RSS growth ${(growth / 1e6).toFixed(0)} MB`);
  assert.ok(result.sizeBytes > 100e6, `the report is large (${result.sizeBytes} bytes)`);
  assert.ok(growth < Math.min(150e6, result.sizeBytes / 2), `RSS grew ${growth} bytes for a ${result.sizeBytes}-byte report`);
});
