// Erasure: voice recordings of N interactions (one encrypted content-store file each) erased by the erasure
// workflow through the API (preview, confirm: journal, content store, DB columns, read-back verification,
// hash-chained audit) against a plain SQL UPDATE plus unlinking the same number of files.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Sql } from '../db/sql.js';
import { createCampaign } from '../lib/generator/index.js';
import { createTestEnv, type TestEnv } from '../test/harness/env.js';
import { startApi } from '../test/erasure-fixtures.js';
import { runProfile } from './profile.js';
import { count, fmt, scaled, timeFigure, timed, workerReady, type BenchContext, type Figure, distinctCampaignIds } from './lib.js';

const FULL_INTERACTIONS = 100_000;
const UNLINK_CONCURRENCY = 16;
/** Items per batch: the API's maximum. Each batch costs a few workflow-task round trips on top of its
 *  work, so at 1000 a batch the orchestration alone was about a tenth of the baseline's whole time. */
const BATCH_SIZE = 5000;
/** Calls erased once, untimed, before the measured erasure. */
const WARM_UP = 10;

async function inParallel<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/**
 * A campaign of `n` calls on 2025-07-01 (UTC), each with one voice recording in its own content-store file:
 * one object is stored, then its encrypted file copied under fresh keys (same bytes, still decryptable).
 */
async function seedCalls(env: TestEnv, n: number): Promise<string> {
  const sql: Sql = env.sql;
  const campaignId = await createCampaign(sql, { name: `bench-erasure-${randomBytes(3).toString('hex')}`, timezone: 'UTC' });
  const original = await env.deps.store.put(Readable.from([randomBytes(4096)]), { prefix: 'interactions' });
  const root = path.join(env.config.dataDir, 'content');
  const dir = `interactions/bench-${randomBytes(3).toString('hex')}`;
  await mkdir(path.join(root, dir), { recursive: true });
  const keys = Array.from({ length: n }, (_, i) => `${dir}/${i}.enc`);
  await inParallel(keys, 16, (key) => copyFile(path.join(root, original.key), path.join(root, key)));
  await sql`
    with calls as (
      insert into interactions (campaign_id, channel, direction, started_at, ended_at, customer_phone, agents, disposition)
      select ${campaignId}, 'voice', 'outbound', timestamptz '2025-07-01T00:00:00Z' + n * interval '100 ms',
             timestamptz '2025-07-01T00:00:30Z' + n * interval '100 ms', '+1555' || lpad(n::text, 7, '0'), array['alice'], 'Sale'
      from generate_series(0, ${n - 1}::int) n
      returning id, ended_at)
    insert into interaction_content (interaction_id, kind, segment, store_key, size_bytes, sha256, completed_at)
    select c.id, 'voice-recording', null, k.key, ${original.sizeBytes}, ${original.sha256}, c.ended_at
    from (select id, ended_at, row_number() over (order by id) as i from calls) c
    join unnest(${keys}::text[]) with ordinality as k(key, i) on k.i = c.i`;
  await sql`vacuum analyze interaction_content`;
  await sql`analyze interactions`;
  return campaignId;
}

async function baseline(env: TestEnv, campaignId: string): Promise<number> {
  const root = path.join(env.config.dataDir, 'content');
  return (await timed(async () => {
    const erased = await env.sql<{ store_key: string }[]>`
      with old as (
        select c.id, c.store_key from interaction_content c join interactions i on i.id = c.interaction_id
        where i.campaign_id = ${campaignId} and c.kind = 'voice-recording' and c.store_key is not null for update of c)
      update interaction_content c set store_key = null, sha256 = null, erased_at = now()
      from old where c.id = old.id
      returning old.store_key`;
    await inParallel(erased, UNLINK_CONCURRENCY, (row) => unlink(path.join(root, row.store_key)));
  })).seconds;
}

export async function erasureBenchmark(ctx: BenchContext): Promise<Figure[]> {
  const n = scaled(ctx, FULL_INTERACTIONS, 100);
  const env = await createTestEnv();
  await distinctCampaignIds(env.sql);
  const api = await startApi(env);
  try {
    ctx.log(`erasure: seeding 2 × ${count(n)} calls with their files`);
    const [mine, theirs, warmUp] = [await seedCalls(env, n), await seedCalls(env, n), await seedCalls(env, WARM_UP)];
    const eraser = await api.newKey('operator', true);
    const worker = await env.spawnWorker();
    await workerReady(worker);
    const erase = async (campaignId: string, items: number) => {
      const p = await timed(() => api.call('POST', '/erasures/preview', { key: eraser, body: { campaignId, items: ['voice-recording'], date: '2025-07-01', reason: 'benchmark' } }));
      const preview = p.value;
      if (preview.status !== 200 || preview.json.items !== items) throw new Error(`erasure preview: ${preview.status} ${JSON.stringify(preview.json)}`);
      const o = await timed(async () => {
        const c = await timed(() => api.call('POST', '/erasures', { key: eraser, body: { previewId: preview.json.previewId, confirm: true, batchSize: BATCH_SIZE } }));
        const started = c.value;
        if (started.status !== 202) throw new Error(`erasure start: ${started.status} ${JSON.stringify(started.json)}`);
        return { runId: started.json.runId as string, confirm: c.seconds, result: await env.client.workflow.getHandle(started.json.runId).result() };
      });
      return { p, o };
    };
    // A worker's first workflow starts its V8 isolate (~0.1 s here); a worker in service has long done that.
    await erase(warmUp, WARM_UP);
    const { p, o } = await erase(mine, n);
    if (!o.value.result.verified) throw new Error('the erasure did not verify');
    const profile = await runProfile(env.client, o.value.runId);
    ctx.log(`erasure: ours ${fmt(o.seconds)} s; running the baseline`);
    const b = await baseline(env, theirs);
    return [timeFigure({
      benchmark: 'Erasure (voice recordings)', size: `${count(n)} interactions`, ours: o.seconds, baseline: b, limit: 2, goal: '≤ 2×',
      notes: `ours: POST /erasures (confirm) until the run's result, after one untimed erasure of ${WARM_UP} calls warmed the worker up; the preview before it took ${fmt(p.seconds)} s more, the confirmation (preview re-checked against its scope) ${fmt(o.value.confirm)} s of it. The workflow (batches of ${count(BATCH_SIZE)}: content store, columns + journal, progress written during the next batch; then read-back, audit); baseline: one UPDATE … RETURNING + unlink (${UNLINK_CONCURRENCY} at a time). Where ours went: ${profile}`,
    })];
  } finally {
    await api.close();
    await env.stop();
  }
}
