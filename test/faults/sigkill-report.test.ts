// Worker processes SIGKILLed again and again at seeded random points of one report run (FAULT_TRIALS
// kills, default 10; FAULT_SEED): after a last worker finishes it, nothing is lost or duplicated, the
// watermarks are exact and no campaign lock is left behind.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startApi, type Api } from '../erasure-fixtures.js';
import { createTestEnv, type TestEnv } from '../harness/env.js';
import { createReportDefinition, newCampaign as newReportCampaign, startReport } from '../report-helpers.js';
import { crashLoop, distinctCampaignIds, kill, rngFor, TRIALS } from './crash-helpers.js';

let env: TestEnv;
let api: Api;
before(async () => {
  env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC' } });
  await distinctCampaignIds(env.sql);
  api = await startApi(env);
});
after(async () => {
  await api?.close();
  await env?.stop();
});

const runEnded = (workflowId: string) => async () => {
  const { status } = await env.client.workflow.getHandle(workflowId).describe();
  return status.name !== 'RUNNING';
};

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('report: one saved file with every row, no stray object in the content store', async () => {
    const campaign = await newReportCampaign(env.sql, new Date('2025-01-01T00:00:00Z'));
    const attempts = 200_000;
    await env.sql`
      insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status, collected_at)
      select ${campaign.id}, 'C' || (g % 40000), '+1555' || lpad(g::text, 7, '0'), t - interval '40 seconds', t, 'NOANSWER', t
      from generate_series(1, ${attempts}) as g, lateral (select timestamptz '2025-01-02T00:00:00Z' + g * interval '1 second') as x(t)`;
    const definitionId = await createReportDefinition(env.sql, { campaignId: campaign.id, timeframe: { kind: 'entire-campaign' } });
    const handle = await startReport(env, { definitionId });
    const landed = await crashLoop(env, rngFor('report'), { progress: async () => 0, ended: runEnded(handle.workflowId) }, { maxExtraMs: 6000, waitForProgress: false });
    assert.ok(landed >= Math.min(TRIALS, 3), `${landed} kills landed mid-run`);
    const last = await env.spawnWorker();
    const result = (await handle.result()) as { rows: number };
    await kill(last);
    assert.equal(result.rows, attempts);
    const saved = await env.sql`select * from saved_reports where run_id = ${handle.workflowId}`;
    assert.equal(saved.length, 1, 'one saved file for the run');
    const objects = await readdir(path.join(env.dataDir, 'content', 'reports'), { recursive: true, withFileTypes: true }).catch(() => []);
    assert.deepEqual(objects.filter((e) => e.isFile() && e.name.startsWith('.')).map((e) => e.name), [], 'no half-written object left');
  });
});
