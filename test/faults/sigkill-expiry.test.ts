// The content expiry survives a worker SIGKILLed in the middle of a batch: the batch is blocked on a row lock
// after removing its objects (the test holds the lock, no sleeping), the worker is killed, the lock released, and
// a new worker finishes the run. Afterwards every item past the storage time is expired exactly once (by this
// run, object gone, pointer cleared), everything newer is untouched, and the run's counts are exact.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { CONTENT_EXPIRY_SCHEDULE_ID, CONTENT_EXPIRY_WORKFLOW, type ContentExpiryResult } from '../../contracts/content-expiry.js';
import { runSearchAttributes } from '../../contracts/search-attributes.js';
import { createCampaign, insertInteraction } from '../../lib/generator/index.js';
import { createTestEnv, type TestEnv } from '../harness/env.js';

const DAYS = 10;
let env: TestEnv;

before(async () => {
  env = await createTestEnv({ env: { RECORDING_STORAGE_DAYS: String(DAYS) } });
});

after(async () => {
  await env?.client.schedule.getHandle(CONTENT_EXPIRY_SCHEDULE_ID).delete().catch(() => undefined);
  await env?.stop();
});

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function kill(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill('SIGKILL');
  await exited;
}

let seed = 1;
/** A call (complete recording, agent segments, transcript) or a chat (its transcript), started `startedAt`. */
async function addInteraction(campaignId: string, channel: 'voice' | 'chat', startedAt: string): Promise<void> {
  const start = new Date(startedAt);
  await insertInteraction(env.sql, env.deps.store, {
    campaignId, seed: seed++, channel, startedAt: start, endedAt: new Date(start.getTime() + 90_000),
    customerPhone: '+15551230000', agents: ['alice', 'bob'], disposition: 'Sale', recordingMs: 200,
    text: channel === 'voice' ? 'Agent: hello.' : undefined,
  });
}

test('SIGKILL mid-batch: the expiry completes exactly', async () => {
  const campaignId = await createCampaign(env.sql, { name: `expiry-${randomBytes(3).toString('hex')}`, timezone: 'America/New_York' });
  for (let i = 0; i < 6; i++) await addInteraction(campaignId, 'voice', daysAgo(DAYS + 1 + i));
  for (let i = 0; i < 3; i++) await addInteraction(campaignId, 'chat', daysAgo(DAYS + 2 + i));
  for (let i = 0; i < 2; i++) await addInteraction(campaignId, 'voice', daysAgo(DAYS - 1 - i));
  const cutoff = daysAgo(DAYS);
  const before = await env.sql<{ id: string; store_key: string; old: boolean }[]>`
    select id, store_key, completed_at < ${cutoff}::text::timestamptz as old from interaction_content order by completed_at, id`;
  const old = before.filter((r) => r.old);
  const batchSize = 5;
  assert.ok(old.length > 3 * batchSize, `${old.length} old items`);

  // The 8th old item (in the second batch) is locked: that batch removes its objects, then waits on the lock.
  const blocker = await env.sql.reserve();
  await blocker`begin`;
  await blocker`select id from interaction_content where id = ${old[batchSize + 2].id} for update`;
  const worker = await env.spawnWorker();
  const handle = await env.client.workflow.start(CONTENT_EXPIRY_WORKFLOW, {
    taskQueue: env.taskQueue, workflowId: `content-expiry-kill-${randomBytes(3).toString('hex')}`, args: [{ batchSize }],
    typedSearchAttributes: runSearchAttributes({ kind: 'content-expiry', triggeredBy: 'test' }),
  });
  try {
    await until('the second batch waits on the locked row', async () => {
      const [row] = await env.sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%expired_run%' and pid <> pg_backend_pid()`;
      return row.n > 0;
    });
    const [firstBatch] = await env.sql<{ n: number }[]>`select count(*)::int as n from interaction_content where expired_run = ${handle.workflowId}`;
    assert.equal(firstBatch.n, batchSize, 'the first batch committed');
    await kill(worker);
  } finally {
    await blocker`rollback`;
    blocker.release();
  }
  await env.spawnWorker();
  const result = await handle.result() as ContentExpiryResult;

  const rows = await env.sql<{ id: string; store_key: string | null; expired_at: Date | null; expired_run: string | null }[]>`
    select id, store_key, expired_at, expired_run from interaction_content order by completed_at, id`;
  for (const was of before) {
    const row = rows.find((r) => r.id === was.id)!;
    if (was.old) {
      assert.equal(row.store_key, null, `content ${row.id} expired`);
      assert.equal(row.expired_run, handle.workflowId, `content ${row.id} expired by this run`);
      assert.equal(await env.deps.store.exists(was.store_key), false, `object of ${row.id} gone`);
    } else {
      assert.equal(row.store_key, was.store_key, `content ${row.id} kept`);
      assert.equal(row.expired_at, null);
      assert.equal(await env.deps.store.exists(was.store_key), true);
    }
  }
  assert.equal(result.expired, old.length, 'counted exactly once each, whatever attempt cleared it');
  const [run] = await env.sql<{ status: string; done: number }[]>`select status, progress_done as done from runs where run_id = ${handle.workflowId}`;
  assert.equal(run.status, 'completed');
  assert.equal(Number(run.done), old.length);
  const attempts = (await handle.fetchHistory()).events!.filter((e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1);
  assert.ok(attempts.length >= 1, 'the killed batch was retried');
});
