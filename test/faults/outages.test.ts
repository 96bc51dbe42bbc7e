// The destination goes away mid-export (SFTP or S3 behind a proxy that cuts every connection and refuses new
// ones for FAULT_OUTAGE_SECONDS, default 30): the transfers are retried and the run completes with every file
// once. And with two workers, killing the one doing the work leaves the other to finish it.
import assert from 'node:assert/strict';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { verifyAuditChain } from '../../lib/audit/index.js';
import { openDestination } from '../../lib/destinations.js';
import { readWatermark } from '../../lib/export/jobs.js';
import { makeWav } from '../../lib/generator/index.js';
import { addInteraction, auditOf, contentOf, newCampaign as newErasureCampaign, startApi, type Api } from '../erasure-fixtures.js';
import { createTestEnv, type TestEnv } from '../harness/env.js';
import { startS3, startSshd, type S3Server, type SshdServer } from '../harness/servers/index.js';
import { createDestination, createJob, filesUnder, insertRecordings, newCampaign, startExport } from '../recording-export-helpers.js';
import { kill, sleep, until } from './crash-helpers.js';
import { startTcpProxy } from './tcp-proxy.js';

const OUTAGE_MS = Number(process.env.FAULT_OUTAGE_SECONDS ?? '30') * 1000;
const RECORDINGS = 40;

let env: TestEnv;
let sshd: SshdServer;
let s3: S3Server;
before(async () => {
  [env, sshd, s3] = await Promise.all([createTestEnv({ env: { EXPORT_BANDWIDTH_KBPS: '64' } }), startSshd(), startS3()]);
});
after(async () => {
  await env?.stop();
  await Promise.allSettled([sshd?.stop(), s3?.stop()]);
});

async function recordingsJob(destinationId: string) {
  const campaign = await newCampaign(env.sql);
  const objects = await Promise.all([1, 2].map((seed) => env.deps.store.put(Readable.from([makeWav({ seed, durationMs: 400 })]))));
  const recordings = await insertRecordings(env.sql, campaign.id, objects, RECORDINGS, new Date('2025-07-01T10:00:00Z'));
  const jobId = await createJob(env.sql, campaign.id, { destinationId, fileNameTemplate: 'r/${recordingId}.wav' });
  const exported = async () => (await env.sql<{ n: number }[]>`select count(*)::int as n from recording_exports where job_id = ${jobId}`)[0].n;
  return { jobId, recordings, exported };
}

async function exactlyOnce(jobId: string, count: number, lastId: string): Promise<void> {
  const [rows] = await env.sql<{ n: number; paths: number }[]>`
    select count(*)::int as n, count(distinct path)::int as paths from recording_exports where job_id = ${jobId} and result = 'exported'`;
  assert.deepEqual({ ...rows }, { n: count, paths: count });
  assert.equal((await readWatermark(env.sql, jobId))!.afterContentId, lastId);
}

describe('outages and lost workers during an export', () => {
  test(`SFTP server unreachable for ${OUTAGE_MS / 1000} s mid-export: retried, completes, no duplicate or partial file`, async () => {
    const proxy = await startTcpProxy(sshd.host, sshd.port);
    const root = path.join(sshd.rootDir, `outage-${randomBytes(3).toString('hex')}`);
    await mkdir(root);
    const destinationId = await createDestination(env.sql, env.deps.keyring,
      { protocol: 'sftp', host: '127.0.0.1', port: proxy.port, username: sshd.username, path: root }, { privateKey: sshd.privateKey });
    const { jobId, recordings, exported } = await recordingsJob(destinationId);
    const worker = await env.startWorker();
    try {
      const handle = await startExport(env, { definitionId: jobId, batchSize: 4, parallelism: 2 });
      await until('the first files', async () => (await exported()) >= 4);
      await proxy.down();
      await sleep(OUTAGE_MS);
      await proxy.up();
      const result = (await handle.result()) as { exported: number; failed: number; errors: string[] };
      assert.deepEqual([result.exported, result.failed], [RECORDINGS, 0], result.errors?.join('\n'));
    } finally {
      await worker.stop();
      await proxy.close();
    }
    await exactlyOnce(jobId, RECORDINGS, recordings.at(-1)!.id);
    const files = await filesUnder(root);
    assert.equal(files.filter((f) => f.endsWith('.wav')).length, RECORDINGS);
    assert.deepEqual(files.filter((f) => !f.endsWith('.wav') && !f.endsWith('.csv')), [], 'no partial file left');
  });

  test(`S3 server unreachable for ${OUTAGE_MS / 1000} s mid-export: retried, completes, each object once`, async () => {
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(s3.endpoint).port));
    const bucket = `outage-${randomBytes(4).toString('hex')}`;
    await s3.createBucket(bucket);
    const destinationId = await createDestination(env.sql, env.deps.keyring,
      { protocol: 's3', bucket, region: s3.region, endpoint: `http://127.0.0.1:${proxy.port}`, forcePathStyle: true },
      { accessKeyId: s3.accessKeyId, password: s3.secretAccessKey });
    const { jobId, recordings, exported } = await recordingsJob(destinationId);
    const worker = await env.startWorker();
    try {
      const handle = await startExport(env, { definitionId: jobId, batchSize: 4, parallelism: 2 });
      await until('the first objects', async () => (await exported()) >= 4);
      await proxy.down();
      await sleep(OUTAGE_MS);
      await proxy.up();
      const result = (await handle.result()) as { exported: number; failed: number; errors: string[] };
      assert.deepEqual([result.exported, result.failed], [RECORDINGS, 0], result.errors?.join('\n'));
    } finally {
      await worker.stop();
      await proxy.close();
    }
    await exactlyOnce(jobId, RECORDINGS, recordings.at(-1)!.id);
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'r/' }));
    client.destroy();
    assert.equal(listed.KeyCount, RECORDINGS);
  });

  test('two workers, the busy one killed: the other finishes the export, every file once', async () => {
    const root = path.join(env.dataDir, 'two-workers');
    const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: root });
    const { jobId, recordings, exported } = await recordingsJob(destinationId);
    const [a, b] = [await env.spawnWorker(), await env.spawnWorker()];
    try {
      const handle = await startExport(env, { definitionId: jobId, batchSize: 4, parallelism: 2 });
      await until('the first files', async () => (await exported()) >= 4);
      // Whichever worker holds the running batch: kill the one whose identity Temporal reports.
      const pending = (await handle.describe()).raw.pendingActivities?.[0];
      const identity = pending?.lastWorkerIdentity ?? '';
      const victim = identity.startsWith(`${b.pid}@`) ? b : a;
      await kill(victim);
      const result = (await handle.result()) as { exported: number; failed: number };
      assert.deepEqual([result.exported, result.failed], [RECORDINGS, 0]);
    } finally {
      await kill(a);
      await kill(b);
    }
    await exactlyOnce(jobId, RECORDINGS, recordings.at(-1)!.id);
    assert.equal((await filesUnder(root)).filter((f) => f.endsWith('.wav')).length, RECORDINGS);
  });
});

// Erasure of content whose playback copies live at an S3 destination behind the proxy: a destination down
// for a while is retried and the run completes; one that stays down ends the run (failed, ErasureIncomplete,
// with the audit end entry) after bounded retries, where it used to retry for ever.
describe('outages of the exported copies\' destination during an erasure', () => {
  // One API for both tests: the admin key it bootstraps is handed out once per database.
  let api: Api;
  let eraser: string;
  before(async () => {
    api = await startApi(env);
    eraser = await api.newKey('operator', true);
  });
  after(() => api?.close());

  async function erasureOfCopies(proxyPort: number, calls: number) {
    const bucket = `erase-${randomBytes(4).toString('hex')}`;
    await s3.createBucket(bucket);
    const destinationId = await createDestination(env.sql, env.deps.keyring,
      { protocol: 's3', bucket, region: s3.region, endpoint: `http://127.0.0.1:${proxyPort}`, forcePathStyle: true, path: 'p' },
      { accessKeyId: s3.accessKeyId, password: s3.secretAccessKey });
    const campaignId = await newErasureCampaign(env);
    for (let i = 0; i < calls; i++) await addInteraction(env, campaignId, 'voice', `2025-10-01T${String(8 + (i % 10)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00-04:00`);
    const recordings = (await contentOf(env, campaignId)).filter((c) => c.kind === 'voice-recording');
    const transfer = await openDestination(env.sql, env.deps.keyring, destinationId);
    for (const r of recordings) {
      const put = await transfer.put(`r/${r.id}.wav`, Readable.from([Buffer.from(`copy of ${r.id}`)]));
      await env.sql`update interaction_content set exported_to = ${put.location}, exported_dest = ${destinationId}, exported_path = ${`r/${r.id}.wav`} where id = ${r.id}`;
    }
    await transfer.close();
    const preview = await api.call('POST', '/erasures/preview', { key: eraser, body: { campaignId, items: ['voice-recording'], date: '2025-10-01', reason: 'outage' } });
    const started = await api.call('POST', '/erasures', { key: eraser, body: { previewId: preview.json.previewId, confirm: true, batchSize: 3 } });
    assert.equal(started.status, 202, JSON.stringify(started.json));
    const runId: string = started.json.runId;
    const journalled = async () => (await env.sql<{ n: number }[]>`select count(*)::int as n from erasure_journal where run_id = ${runId}`)[0].n;
    return { runId, items: recordings.length, journalled, handle: env.client.workflow.getHandle(runId) };
  }

  test(`S3 destination of the copies unreachable for ${OUTAGE_MS / 1000} s mid-erasure: retried, completes, each item erased once`, async () => {
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(s3.endpoint).port));
    const worker = await env.startWorker();
    try {
      const run = await erasureOfCopies(proxy.port, 8);
      await until('the first batch', async () => (await run.journalled()) >= 3);
      await proxy.down();
      await sleep(OUTAGE_MS);
      await proxy.up();
      const result = await run.handle.result();
      assert.equal(result.verified, true);
      const [journal] = await env.sql`select count(*)::int as n, count(distinct content_id)::int as distinct_n from erasure_journal where run_id = ${run.runId}`;
      assert.deepEqual({ ...journal }, { n: run.items, distinct_n: run.items });
      assert.deepEqual((await auditOf(env, run.runId)).map((a) => a.action), ['erasure.requested', 'erasure.completed']);
    } finally {
      await worker.stop();
      await proxy.close();
    }
  });

  test('S3 destination of the copies gone for good mid-erasure: the run ends failed with ErasureIncomplete and the audit end entry', async () => {
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(s3.endpoint).port));
    const worker = await env.startWorker();
    try {
      const run = await erasureOfCopies(proxy.port, 8);
      await until('the first batch', async () => (await run.journalled()) >= 3);
      await proxy.down();
      // Bounded retries (ERASE_ATTEMPTS, about 2 minutes of backoff), then the run ends.
      const failure = await run.handle.result().then(() => undefined, (err: unknown) => err);
      assert.ok(failure instanceof WorkflowFailedError, String(failure));
      const cause = (failure.cause as { cause?: { type?: string; message?: string } }).cause;
      assert.equal(cause?.type, 'ErasureIncomplete');
      assert.match(cause?.message ?? '', /could not be reached|could not be read back/);
      const audit = await auditOf(env, run.runId);
      assert.deepEqual(audit.map((a) => a.action), ['erasure.requested', 'erasure.failed']);
      assert.equal(audit[1].counts['voice-recording'], await run.journalled(), 'the end entry counts what was erased');
      const [row] = await env.sql`select status from runs where run_id = ${run.runId}`;
      assert.equal(row.status, 'failed');
      assert.equal((await verifyAuditChain(env.sql)).ok, true);
    } finally {
      await worker.stop();
      await proxy.close();
    }
  });
});
