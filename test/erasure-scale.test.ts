// Scale check of Job 4 (bounded, not a benchmark): 20,000 content items, each its own object in the
// local content store, erased through the API by an in-process worker. Checked: everything is erased
// and read back absent, the worker's memory stays flat (items are paged, never held all at once), and the
// workflow history stays small (batches carry cursors and counts, never item lists).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { auditOf, newCampaign, startApi, type Api } from './erasure-fixtures.js';

const ITEMS = 20_000;
const COPY_CONCURRENCY = 16;
// Bigger batches than the default 200: what an administrator would pick for a bulk erasure.
const BATCH_SIZE = 1000;

let env: TestEnv;
let api: Api;

before(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  await env.startWorker();
});

after(async () => {
  await api?.close();
  await env?.stop();
});

/** ITEMS chat interactions on one day, each with a transcript stored as its own small object. */
async function seed(campaignId: string): Promise<void> {
  const ids = (await env.sql<{ id: string }[]>`
    insert into interactions (campaign_id, channel, direction, started_at, ended_at, customer_address, agents)
    select ${campaignId}, 'chat', 'inbound', t, t + interval '2 minutes', 'customer-' || n || '@example.com', '{alice}'
    from generate_series(1, ${ITEMS}) n, lateral (select '2025-03-01T14:00:00Z'::timestamptz + n * interval '1 second' as t) s
    returning id`).map((r) => r.id);
  // One real encrypted object, copied under a fresh key per item: each item has its own object to
  // erase, without paying an encryption and an fsync 20,000 times in the test.
  const template = await env.deps.store.put(Readable.from([Buffer.from('chat: hello, my account number is 12345678')]), { prefix: 'interactions' });
  const root = path.join(env.dataDir, 'content');
  const objects = ids.map(() => ({ key: template.key.replace(/[^/]+\.enc$/, `${randomUUID()}.enc`), size: template.sizeBytes, sha256: template.sha256 }));
  let next = 0;
  await Promise.all(Array.from({ length: COPY_CONCURRENCY }, async () => {
    while (next < objects.length) await copyFile(path.join(root, template.key), path.join(root, objects[next++].key));
  }));
  await env.deps.store.remove(template.key);
  await env.sql`
    insert into interaction_content (interaction_id, kind, store_key, size_bytes, sha256, completed_at)
    select id, 'chat-transcript', key, size, sha, '2025-03-01T16:00:00Z'
    from unnest(${ids}::bigint[], ${objects.map((o) => o.key)}::text[], ${objects.map((o) => o.size)}::bigint[], ${objects.map((o) => o.sha256)}::text[])
      as u(id, key, size, sha)`;
}

async function storeObjects(): Promise<number> {
  const entries = await readdir(path.join(env.dataDir, 'content'), { recursive: true }).catch(() => [] as string[]);
  return entries.filter((e) => e.endsWith('.enc')).length;
}

test(`erasing ${ITEMS} items keeps worker memory flat and the history small, and leaves no object behind`, async () => {
  const campaignId = await newCampaign(env, 'UTC');
  const seeding = Date.now();
  await seed(campaignId);
  console.log(`seeded ${ITEMS} items in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
  assert.equal(await storeObjects(), ITEMS);
  const eraser = await api.newKey('operator', true);

  const previewed = await api.call('POST', '/erasures/preview', {
    key: eraser, body: { campaignId, items: ['chat-transcript'], date: '2025-03-01', reason: 'scale check' },
  });
  assert.equal(previewed.status, 200, JSON.stringify(previewed.json));
  assert.equal(previewed.json.items, ITEMS);

  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  const started = Date.now();
  let runId: string;
  try {
    const confirmed = await api.call('POST', '/erasures', { key: eraser, body: { previewId: previewed.json.previewId, confirm: true, batchSize: BATCH_SIZE } });
    assert.equal(confirmed.status, 202);
    runId = confirmed.json.runId;
    const result = await env.client.workflow.getHandle(runId).result();
    assert.equal(result.verified, true);
    assert.equal(result.counts['chat-transcript'], ITEMS);
  } finally {
    clearInterval(sampler);
  }
  const growthMb = (peak - baseline) / 2 ** 20;
  console.log(`erased ${ITEMS} items in ${((Date.now() - started) / 1000).toFixed(1)} s; worker RSS grew ${growthMb.toFixed(0)} MiB (peak ${(peak / 2 ** 20).toFixed(0)} MiB)`);
  assert.ok(growthMb < 150, `RSS grew ${growthMb.toFixed(0)} MiB while erasing ${ITEMS} items`);

  assert.equal(await storeObjects(), 0, 'every object is gone from the content store');
  const [left] = await env.sql`
    select count(*)::int as n from interaction_content c join interactions i on i.id = c.interaction_id
    where i.campaign_id = ${campaignId} and (c.store_key is not null or c.erased_run is distinct from ${runId})`;
  assert.equal(left.n, 0);

  const history = await env.client.workflow.getHandle(runId).fetchHistory();
  const events = history.events ?? [];
  const bytes = Buffer.byteLength(JSON.stringify(events));
  console.log(`history: ${events.length} events, ${(bytes / 1024).toFixed(0)} KiB`);
  assert.ok(events.length < 1_000, `${events.length} events`);
  assert.ok(bytes < 2 ** 20, `${bytes} bytes of history`);

  const audit = await auditOf(env, runId);
  assert.deepEqual(audit.map((a) => a.action), ['erasure.requested', 'erasure.completed']);
  assert.equal(audit[1].counts['chat-transcript'], ITEMS);
  assert.equal(audit[1].counts.interactions, ITEMS);
});
