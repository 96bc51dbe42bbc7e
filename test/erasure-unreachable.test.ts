// Erasure when the destination of the exported playback copies goes away or slows down mid-run: the run
// always ends (failed with ErasureIncomplete, naming what remains, or cancelled when asked), the audit log
// always gets its end entry, and a slow destination is read back item by item instead of restarting.
// The destinations are real (a folder, moto behind a loopback proxy); test hooks around the real
// activities only mark the moment (after the first batch, before the read-back) where the test acts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../activities/index.js';
import { openDestination } from '../lib/destinations.js';
import { verifyErased } from '../lib/erasure/verification.js';
import type { EraseBatchInput } from '../contracts/erasure.js';
import { addInteraction, auditOf, contentOf, newCampaign, startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startS3, type S3Server } from './harness/servers/index.js';
import { until } from './harness/wait.js';
import { createDestination } from './recording-export-helpers.js';

interface Hooks {
  afterBatch?: () => Promise<void>;
  beforeVerify?: () => Promise<void>;
}

let env: TestEnv;
let api: Api;
let eraser: string;
let s3: S3Server;
let proxy: DelayProxy;
const hooks = new Map<string, Hooks>();

before(async () => {
  [env, s3] = await Promise.all([createTestEnv(), startS3()]);
  proxy = await startDelayProxy(Number(new URL(s3.endpoint).port));
  api = await startApi(env);
  eraser = await api.newKey('operator', true);
  const real = createActivities(env.deps);
  await env.startWorker({
    activityOverrides: {
      async eraseBatch(input: EraseBatchInput) {
        const result = await real.eraseBatch(input);
        await hooks.get(input.previewId)?.afterBatch?.();
        return result;
      },
      async verifyErasure(input: { runId: string; previewId: string; requireAll: boolean }) {
        await hooks.get(input.previewId)?.beforeVerify?.();
        return real.verifyErasure(input);
      },
    },
  });
});

after(async () => {
  await api?.close();
  await env?.stop();
  await proxy?.close();
  await s3?.stop();
});

/** A loopback proxy in front of moto that can refuse connections or hold every answer back `delayMs`. */
interface DelayProxy { port: number; delayMs: number; down(): void; up(): void; close(): Promise<void> }

async function startDelayProxy(targetPort: number): Promise<DelayProxy> {
  const sockets = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream);
    // Answers are held back in order: each chunk leaves delayMs after the one before it arrived.
    let chain = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      const wait = state.delayMs;
      chain = chain.then(() => (wait ? sleep(wait) : undefined)).then(() => { if (!client.destroyed) client.write(chunk); });
    });
    upstream.on('end', () => { chain = chain.then(() => { client.end(); }); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const state: DelayProxy = {
    port: (server.address() as net.AddressInfo).port,
    delayMs: 0,
    down() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    up() { refusing = false; },
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
  return state;
}

async function s3Destination(): Promise<string> {
  const bucket = `copies-${randomBytes(4).toString('hex')}`;
  await s3.createBucket(bucket);
  return createDestination(env.sql, env.deps.keyring,
    { protocol: 's3', bucket, region: s3.region, endpoint: `http://127.0.0.1:${proxy.port}`, forcePathStyle: true, path: 'exports' },
    { accessKeyId: s3.accessKeyId, password: s3.secretAccessKey });
}

/** Voice calls whose every recording has a playback copy at the destination, registered as an export does. */
async function callsWithCopies(destinationId: string, calls: number, day: string): Promise<string> {
  const campaignId = await newCampaign(env);
  for (let i = 0; i < calls; i++) {
    await addInteraction(env, campaignId, 'voice', `${day}T${String(8 + (i % 12)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00-04:00`);
  }
  const recordings = (await contentOf(env, campaignId)).filter((c) => c.kind === 'voice-recording');
  const transfer = await openDestination(env.sql, env.deps.keyring, destinationId);
  try {
    for (const r of recordings) {
      const rel = `r/${r.id}.wav`;
      const put = await transfer.put(rel, Readable.from([Buffer.from(`RIFF copy of ${r.id}`)]));
      await env.sql`update interaction_content set exported_to = ${put.location}, exported_dest = ${destinationId}, exported_path = ${rel} where id = ${r.id}`;
    }
  } finally {
    await transfer.close();
  }
  return campaignId;
}

async function erase(campaignId: string, day: string, batchSize: number, hook: Hooks) {
  const previewed = await api.call('POST', '/erasures/preview', { key: eraser, body: { campaignId, items: ['voice-recording'], date: day, reason: 'unreachable copies' } });
  assert.equal(previewed.status, 200, JSON.stringify(previewed.json));
  hooks.set(previewed.json.previewId, hook);
  const started = await api.call('POST', '/erasures', { key: eraser, body: { previewId: previewed.json.previewId, confirm: true, batchSize } });
  assert.equal(started.status, 202);
  return { preview: previewed.json, runId: started.json.runId as string, handle: env.client.workflow.getHandle(started.json.runId) };
}

/** The run's result, or a failure naming the wait when it does not end (the defect: a run that never ends). */
async function ended<T>(result: Promise<T>, what: string, ms = 90_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not end in ${ms / 1000} s`)), ms); });
  try {
    return await Promise.race([result, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function runRow(runId: string) {
  const [run] = await env.sql<{ status: string; error: string | null }[]>`select status, error from runs where run_id = ${runId}`;
  return run;
}

describe('the destination of the exported copies goes away mid-run', () => {
  test('when it is deleted after the first batch, the run ends failed with ErasureIncomplete naming what remains, and the audit log gets its end entry', async () => {
    const root = path.join(env.dataDir, `copies-${randomBytes(3).toString('hex')}`);
    const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: root });
    const day = '2025-09-01';
    const campaignId = await callsWithCopies(destinationId, 4, day);
    let deleted = false;
    const { runId, handle } = await erase(campaignId, day, 3, {
      async afterBatch() {
        if (deleted) return;
        deleted = true;
        await env.sql`delete from destinations where id = ${destinationId}`;
      },
    });

    const failure = await ended(handle.result().then(() => undefined, (err: unknown) => err), 'the erasure');
    assert.ok(failure instanceof WorkflowFailedError, String(failure));
    const cause = (failure.cause as { cause?: { type?: string; message?: string } }).cause;
    assert.equal(cause?.type, 'ErasureIncomplete');

    const content = await contentOf(env, campaignId);
    const erased = content.filter((c) => c.erased_run === runId);
    const kept = content.filter((c) => c.kind === 'voice-recording' && c.erased_run === null);
    assert.equal(erased.length, 3, 'the first batch was erased before the destination went');
    assert.equal(kept.length, 9, 'the rest was left untouched');
    for (const c of erased) assert.match(cause!.message!, new RegExp(`${c.id} \\(exported copy not read back: no destination holds it\\)`));
    for (const c of kept.slice(0, 5)) assert.match(cause!.message!, new RegExp(`${c.id} \\(database\\)`));
    assert.match(cause!.message!, /12 item\(s\)/);
    assert.equal((await readdir(path.join(root, 'r'))).length, 9, 'the copies of the untouched items are still there');

    const audit = await auditOf(env, runId);
    assert.deepEqual(audit.map((a) => a.action), ['erasure.requested', 'erasure.failed']);
    assert.equal(audit[1].counts['voice-recording'], 3);
    assert.match(audit[1].scope.error, /still hold content or could not be read back/);
    assert.equal((await runRow(runId)).status, 'failed');
  });

  test('a cancel during verification is honoured: the run ends cancelled and the end entry says the read-back was cut short', async () => {
    const destinationId = await s3Destination();
    const day = '2025-09-02';
    const campaignId = await callsWithCopies(destinationId, 2, day);
    let once = false;
    // The destination stops answering once everything is erased, so the read-back keeps failing and retrying.
    const { runId, handle } = await erase(campaignId, day, 10, {
      async beforeVerify() {
        if (!once) proxy.down();
        once = true;
      },
    });
    try {
      await until('the read-back retrying', async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        return pending.some((a) => a.activityType?.name === 'verifyErasure' && (a.attempt ?? 0) >= 2);
      });
      assert.equal((await api.call('POST', `/runs/${encodeURIComponent(runId)}/cancel`)).status, 202);
      const failure = await ended(handle.result().then(() => undefined, (err: unknown) => err), 'the cancelled erasure', 30_000);
      assert.ok(failure instanceof WorkflowFailedError, String(failure));
      assert.equal((await handle.describe()).status.name, 'CANCELLED');
    } finally {
      proxy.up();
    }
    const audit = await auditOf(env, runId);
    assert.deepEqual(audit.map((a) => a.action), ['erasure.requested', 'erasure.cancelled']);
    assert.equal(audit[1].counts['voice-recording'], 6, 'everything was erased before the cancel');
    assert.match(audit[1].scope.error, /during verification/);
    assert.equal((await runRow(runId)).status, 'cancelled');
    assert.equal((await api.call('GET', '/audit-log/verify')).json.ok, true);
  });
});

describe('a slow destination', () => {
  test('is read back item by item within the heartbeat timeout: verification ends on its first attempt', async () => {
    const destinationId = await s3Destination();
    const day = '2025-09-03';
    // 96 copies, 8 read at a time, each answer held back 1.2 s: about 14 s, more than the 10 s heartbeat timeout.
    const campaignId = await callsWithCopies(destinationId, 32, day);
    const { runId, handle } = await erase(campaignId, day, 1000, {
      async beforeVerify() { proxy.delayMs = 1200; },
    });
    try {
      const result = await ended(handle.result(), 'the erasure with a slow destination', 120_000);
      assert.equal(result.verified, true);
    } finally {
      proxy.delayMs = 0;
    }
    const { events } = await handle.fetchHistory();
    const verifyScheduled = (events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'verifyErasure').map((e) => Number(e.eventId));
    const attempts = (events ?? []).filter((e) => verifyScheduled.includes(Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1)))
      .map((e) => e.activityTaskStartedEventAttributes!.attempt);
    assert.deepEqual(attempts, [1], 'verified in one attempt, never restarted');
    assert.equal((await contentOf(env, campaignId)).filter((c) => c.erased_run === runId).length, 96);
  });

  test('a retried read-back resumes after the last page its heartbeat reported, keeping what that attempt found', async () => {
    const campaignId = await newCampaign(env);
    const call = await addInteraction(env, campaignId, 'voice', '2025-09-04T10:00:00-04:00');
    const held = (await contentOf(env, campaignId)).map((c) => c.store_key!);
    const runId = `erasure/test/resume-${randomBytes(3).toString('hex')}`;
    // Journal rows whose objects are still in the store: each one read back is reported as remaining.
    for (const [i, contentId] of [10, 20, 30].entries()) {
      await env.sql`
        insert into erasure_journal (run_id, content_id, interaction_id, kind, store_key)
        values (${runId}, ${contentId}, ${call.id}, 'voice-recording', ${held[i]})`;
    }
    const seen: string[] = [];
    const progress = await verifyErased({
      sql: env.sql, store: env.deps.store, keyring: env.deps.keyring, runId, previewId: 'ep_none', requireAll: true, lastAttempt: false,
      resume: { afterContentId: '20', checked: 2, remaining: ['10 (content store)'], remainingCount: 1 },
      onProgress: (p) => seen.push(p.afterContentId),
    });
    assert.deepEqual(progress.remaining, ['10 (content store)', '30 (content store)'], 'content 20 was not read again, 10 was kept');
    assert.equal(progress.checked, 3);
    assert.equal(seen.at(-1), '30');

    // The activity takes its starting point from the heartbeat details of the attempt before it.
    const retried = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { afterContentId: '20', checked: 2, remaining: [], remainingCount: 0 } });
    const beats: unknown[] = [];
    retried.on('heartbeat', (d: unknown) => beats.push(d));
    await assert.rejects(retried.run(createActivities(env.deps).verifyErasure, { runId, previewId: 'ep_none', requireAll: true }), (err: Error) => {
      assert.match(err.message, /1 item\(s\) still hold content or could not be read back: 30 \(content store\)\./);
      return true;
    });
    assert.ok(beats.length > 0, 'it heartbeats its progress');
  });
});
