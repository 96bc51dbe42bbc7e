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
import { readWatermark } from '../../lib/export/jobs.js';
import { makeWav } from '../../lib/generator/index.js';
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
