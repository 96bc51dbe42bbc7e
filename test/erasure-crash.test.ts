// A worker process killed with SIGKILL in the middle of an erasure: a new worker finishes it, every
// previewed item is erased exactly once, and the audit log holds exactly one request and one end entry
// whose counts equal the preview.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { verifyAuditChain } from '../lib/audit/index.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { addInteraction, auditOf, contentOf, newCampaign, startApi, type Api } from './erasure-fixtures.js';

let env: TestEnv;
let api: Api;

before(async () => {
  env = await createTestEnv();
  api = await startApi(env);
});

after(async () => {
  await api?.close();
  await env?.stop();
});

async function journalled(runId: string): Promise<number> {
  const [row] = await env.sql`select count(*)::int as n from erasure_journal where run_id = ${runId}`;
  return row.n;
}

test('after SIGKILL mid-erasure a restarted worker completes it; nothing is erased or logged twice', async () => {
  const campaignId = await newCampaign(env);
  for (let i = 0; i < 20; i++) await addInteraction(env, campaignId, 'voice', `2025-07-01T${String(8 + (i % 10)).padStart(2, '0')}:${String(i * 2).padStart(2, '0')}:00-04:00`);
  const eraser = await api.newKey('operator', true);
  const items = ['voice-recording', 'voice-transcript', 'screen-recording'];
  const previewed = await api.call('POST', '/erasures/preview', { key: eraser, body: { campaignId, items, date: '2025-07-01', reason: 'crash test' } });
  assert.equal(previewed.json.items, 100);

  let worker: ChildProcess = await env.spawnWorker();
  const started = await api.call('POST', '/erasures', { key: eraser, body: { previewId: previewed.json.previewId, confirm: true, batchSize: 2 } });
  const runId: string = started.json.runId;
  const deadline = Date.now() + 60_000;
  while (await journalled(runId) < 6) {
    assert.ok(Date.now() < deadline, 'the worker started erasing');
    await sleep(20);
  }
  worker.kill('SIGKILL');
  await new Promise((resolve) => worker.once('exit', resolve));
  const atKill = await journalled(runId);
  assert.ok(atKill < 100, `killed mid-erasure (${atKill} of 100 erased)`);

  worker = await env.spawnWorker();
  const result = await env.client.workflow.getHandle(runId).result();
  assert.equal(result.verified, true);

  const [journal] = await env.sql`select count(*)::int as n, count(distinct content_id)::int as distinct_n from erasure_journal where run_id = ${runId}`;
  assert.deepEqual({ ...journal }, { n: 100, distinct_n: 100 }, 'each item erased once');
  const content = await contentOf(env, campaignId);
  assert.ok(content.filter((c) => items.includes(c.kind)).every((c) => c.erased_run === runId && c.store_key === null));

  const audit = await auditOf(env, runId);
  assert.deepEqual(audit.map((a) => a.action), ['erasure.requested', 'erasure.completed']);
  const { interactions, bytes, ...perKind } = audit[1].counts;
  assert.deepEqual(perKind, previewed.json.counts);
  assert.equal(interactions, 20);
  assert.equal(bytes, previewed.json.sizeBytes);
  assert.equal(audit[0].counts.items, 100);
  assert.equal((await verifyAuditChain(env.sql)).ok, true);
  const [run] = await env.sql`select status, attempts from runs where run_id = ${runId}`;
  assert.equal(run.status, 'completed');
});
