// Playback after the storage time (seed 000, "Use exported files for playback in interaction search"): once a
// recording has expired it plays from the S3 object of the last export with useForPlayback (moto on loopback),
// streamed through the API with range requests; FTP/SFTP exports are not played (410 saying why); a copy gone
// from its bucket is 410; an erased recording is never played, its S3 copy removed by the erasure.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseS3Location } from '../lib/erasure/exported-copies.js';
import { makeWav } from '../lib/generator/index.js';
import { CONTENT_EXPIRY_WORKFLOW, type ContentExpiryResult } from '../contracts/content-expiry.js';
import { runSearchAttributes } from '../contracts/search-attributes.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startS3, startSshd, type S3Server, type SshdServer } from './harness/servers/index.js';
import { newCampaign, startApi, type Api } from './erasure-fixtures.js';
import { createDestination, createJob, runExport } from './recording-export-helpers.js';

const DAYS = 30;
let env: TestEnv;
let api: Api;
let s3: S3Server;
let sshd: SshdServer;
let client: S3Client;
let viewer: string;
const bucketA = `playback-a-${randomBytes(3).toString('hex')}`;
const bucketB = `playback-b-${randomBytes(3).toString('hex')}`;
const wav = makeWav({ seed: 7, durationMs: 6_000 });

before(async () => {
  [s3, sshd] = await Promise.all([startS3(), startSshd()]);
  await s3.createBucket(bucketA);
  await s3.createBucket(bucketB);
  client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  env = await createTestEnv({ env: { RECORDING_STORAGE_DAYS: String(DAYS) } });
  api = await startApi(env);
  viewer = await api.newKey('viewer', false);
  await env.startWorker();
});

after(async () => {
  await api?.close();
  await env?.stop();
  client?.destroy();
  await Promise.all([s3?.stop(), sshd?.stop()]);
});

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

const s3Destination = (bucket: string) => createDestination(env.sql, env.deps.keyring,
  { protocol: 's3', bucket, endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, username: s3.accessKeyId, path: 'calls' },
  { password: s3.secretAccessKey });

/** A call that ended `days` ago, with its complete recording uploaded through the API. */
async function oldCall(campaignId: string, days: number): Promise<string> {
  const startedAt = daysAgo(days);
  const created = await api.call('POST', '/interactions', {
    body: { campaignId, channel: 'voice', direction: 'inbound', startedAt, endedAt: new Date(Date.parse(startedAt) + 60_000).toISOString(), agents: ['alice'] },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const put = await fetch(`${api.base}/interactions/${created.json.id}/recording`, {
    method: 'PUT', headers: { authorization: `Bearer ${api.adminKey}`, 'content-type': 'audio/wav' }, body: Uint8Array.from(wav),
  });
  assert.equal(put.status, 200, await put.text());
  return created.json.id;
}

async function expire(): Promise<ContentExpiryResult> {
  const handle = await env.client.workflow.start(CONTENT_EXPIRY_WORKFLOW, {
    taskQueue: env.taskQueue, workflowId: `content-expiry-s3-${randomBytes(3).toString('hex')}`, args: [{}],
    typedSearchAttributes: runSearchAttributes({ kind: 'content-expiry', triggeredBy: 'test' }),
  });
  return await handle.result() as ContentExpiryResult;
}

async function play(id: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.base}/interactions/${id}/recording`, { headers: { authorization: `Bearer ${viewer}`, ...headers } });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

async function exportedTo(id: string): Promise<string | null> {
  const [row] = await env.sql<{ exported_to: string | null }[]>`
    select exported_to from interaction_content where interaction_id = ${id} and kind = 'voice-recording' and segment is null`;
  return row.exported_to;
}

async function objectExists(location: string): Promise<boolean> {
  const { bucket, key } = parseS3Location(location)!;
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

test('after expiry: played from the last S3 export with useForPlayback (ranges too), 410 once that copy is gone', async () => {
  const campaignId = await newCampaign(env);
  const id = await oldCall(campaignId, DAYS + 5);
  const [destA, destB] = await Promise.all([s3Destination(bucketA), s3Destination(bucketB)]);
  const jobA = await createJob(env.sql, campaignId, { destinationId: destA, useForPlayback: true }, daysAgo(DAYS + 10));
  const jobB = await createJob(env.sql, campaignId, { destinationId: destB, useForPlayback: true }, daysAgo(DAYS + 10));
  assert.equal((await runExport(env, { definitionId: jobA })).result.exported, 1);
  const first = await exportedTo(id);
  assert.ok(first?.startsWith(`s3://${bucketA}/`), String(first));
  assert.equal((await runExport(env, { definitionId: jobB })).result.exported, 1);
  const last = await exportedTo(id);
  assert.ok(last?.startsWith(`s3://${bucketB}/`), `the last export wins: ${last}`);

  assert.equal((await expire()).expired, 1);
  const [row] = await env.sql<{ store_key: string | null; expired_at: Date | null }[]>`
    select store_key, expired_at from interaction_content where interaction_id = ${id} and kind = 'voice-recording'`;
  assert.equal(row.store_key, null);
  assert.ok(row.expired_at);
  assert.equal(await exportedTo(id), last, 'expiry keeps the playback copy');

  // The first export's copy is removed: playback does not need it.
  const a = parseS3Location(first!)!;
  await client.send(new DeleteObjectCommand({ Bucket: a.bucket, Key: a.key }));
  const whole = await play(id);
  assert.equal(whole.res.status, 200);
  assert.equal(whole.res.headers.get('content-type'), 'audio/wav');
  assert.equal(whole.res.headers.get('content-length'), String(wav.length));
  assert.ok(whole.body.equals(wav), 'played byte for byte from the S3 copy');
  const part = await play(id, { range: 'bytes=1000-50999' });
  assert.equal(part.res.status, 206);
  assert.equal(part.res.headers.get('content-range'), `bytes 1000-50999/${wav.length}`);
  assert.ok(part.body.equals(wav.subarray(1000, 51000)));
  assert.equal((await play(id, { range: `bytes=${wav.length + 10}-` })).res.status, 416);

  // Gone from its bucket: nothing left to play, and the problem says so.
  const b = parseS3Location(last!)!;
  await client.send(new DeleteObjectCommand({ Bucket: b.bucket, Key: b.key }));
  const gone = await play(id);
  assert.equal(gone.res.status, 410);
  assert.equal(JSON.parse(gone.body.toString()).type, 'urn:cc-jobs:problem:recording-copy-gone');
});

test('after expiry: an SFTP-only export is not played back (410 saying why)', async () => {
  const campaignId = await newCampaign(env);
  const id = await oldCall(campaignId, DAYS + 2);
  const destination = await createDestination(env.sql, env.deps.keyring,
    { protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, path: path.join(sshd.rootDir, `out-${randomBytes(3).toString('hex')}`) },
    { privateKey: sshd.privateKey });
  const job = await createJob(env.sql, campaignId, { destinationId: destination }, daysAgo(DAYS + 10));
  assert.equal((await runExport(env, { definitionId: job })).result.exported, 1);
  assert.equal(await exportedTo(id), null, 'an SFTP export registers no playback copy');
  assert.equal((await play(id)).res.status, 200, 'played from the content store while kept');

  await expire();
  const gone = await play(id);
  assert.equal(gone.res.status, 410);
  const problem = JSON.parse(gone.body.toString());
  assert.equal(problem.type, 'urn:cc-jobs:problem:recording-expired');
  assert.match(problem.detail, /storage time/);
  assert.match(problem.detail, /SFTP/);
});

test('an expired recording with an S3 playback copy, then erased: 410 erased, and the copy is gone', async () => {
  const campaignId = await newCampaign(env);
  const id = await oldCall(campaignId, DAYS + 3);
  const job = await createJob(env.sql, campaignId, { destinationId: await s3Destination(bucketA), useForPlayback: true }, daysAgo(DAYS + 10));
  await runExport(env, { definitionId: job });
  const copy = (await exportedTo(id))!;
  await expire();
  assert.equal((await play(id)).res.status, 200, 'played from the copy');

  const eraser = await api.newKey('operator', true);
  const previewed = await api.call('POST', '/erasures/preview', { key: eraser, body: { campaignId, items: ['voice-recording'], interactionIds: [id], reason: 'GDPR request 7' } });
  assert.equal(previewed.status, 200, JSON.stringify(previewed.json));
  assert.equal(previewed.json.counts['voice-recording'], 1, 'the expired recording\'s copy is in scope');
  const started = await api.call('POST', '/erasures', { key: eraser, body: { previewId: previewed.json.previewId, confirm: true } });
  assert.equal(started.status, 202, JSON.stringify(started.json));
  await env.client.workflow.getHandle(started.json.runId).result();

  assert.equal(await objectExists(copy), false, 'the erasure removed the S3 copy');
  const erased = await play(id);
  assert.equal(erased.res.status, 410);
  assert.equal(JSON.parse(erased.body.toString()).type, 'urn:cc-jobs:problem:recording-erased');
});
