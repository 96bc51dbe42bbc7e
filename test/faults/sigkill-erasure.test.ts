// Worker processes SIGKILLed again and again at seeded random points of one erasure run (FAULT_TRIALS
// kills, default 10; FAULT_SEED): after a last worker finishes it, nothing is lost or duplicated, the
// watermarks are exact and no campaign lock is left behind.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyAuditChain } from '../../lib/audit/index.js';
import { campaignLockOf } from '../../lib/campaign-lock.js';
import { addInteraction, auditOf, startApi, type Api } from '../erasure-fixtures.js';
import { createTestEnv, type TestEnv } from '../harness/env.js';
import { newCampaign } from '../recording-export-helpers.js';
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
  test('erasure: each item erased and journalled once, one request and one end in the audit, chain intact', async () => {
    const campaignId = (await newCampaign(env.sql)).id;
    const calls = 8 * TRIALS;
    for (let i = 0; i < calls; i++) await addInteraction(env, campaignId, 'chat', `2025-07-01T${String(8 + (i % 10)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00Z`);
    const eraser = await api.newKey('operator', true);
    const preview = await api.call('POST', '/erasures/preview', { key: eraser, body: { campaignId, items: ['chat-transcript'], date: '2025-07-01', reason: 'fault suite' } });
    assert.equal(preview.status, 200, JSON.stringify(preview.json));
    const started = await api.call('POST', '/erasures', { key: eraser, body: { previewId: preview.json.previewId, confirm: true, batchSize: 2 } });
    const runId: string = started.json.runId;
    const progress = async () => (await env.sql<{ n: number }[]>`select count(*)::int as n from erasure_journal where run_id = ${runId}`)[0].n;
    const landed = await crashLoop(env, rngFor('erasure'), { progress, ended: runEnded(runId) }, { maxExtraMs: 300, waitForProgress: true });
    assert.ok(landed >= Math.min(TRIALS, 3), `${landed} kills landed mid-run`);
    const last = await env.spawnWorker();
    const result = await env.client.workflow.getHandle(runId).result();
    await kill(last);
    assert.equal(result.verified, true);
    const [journal] = await env.sql`select count(*)::int as n, count(distinct content_id)::int as distinct_n from erasure_journal where run_id = ${runId}`;
    assert.deepEqual({ ...journal }, { n: preview.json.items, distinct_n: preview.json.items });
    assert.deepEqual((await auditOf(env, runId)).map((a) => a.action), ['erasure.requested', 'erasure.completed']);
    assert.equal((await verifyAuditChain(env.sql)).ok, true);
    assert.equal(await campaignLockOf(env.sql, campaignId), null);
  });
});
