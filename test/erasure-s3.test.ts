// Erasure with the content store in S3 and an exported playback copy in an S3 destination (moto on
// loopback): every object is gone afterwards, other content stays; an exported copy the platform cannot
// reach makes the run fail loudly instead of claiming success.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { openDestination } from '../lib/destinations.js';
import { parseS3Location } from '../lib/erasure/exported-copies.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startS3, type S3Server } from './harness/servers/index.js';
import { addInteraction, auditOf, contentOf, newCampaign, startApi, type Api } from './erasure-fixtures.js';

let s3: S3Server;
let client: S3Client;
let env: TestEnv;
let api: Api;
let eraser: string;
let destinationId: string;
const contentBucket = `content-${randomBytes(3).toString('hex')}`;
const exportBucket = `exports-${randomBytes(3).toString('hex')}`;

before(async () => {
  s3 = await startS3();
  await s3.createBucket(contentBucket);
  await s3.createBucket(exportBucket);
  client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  // The content store uses the SDK's default credential chain, as in production.
  process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
  env = await createTestEnv({
    env: { CONTENT_STORE: 's3', CONTENT_S3_BUCKET: contentBucket, CONTENT_S3_ENDPOINT: s3.endpoint, CONTENT_S3_FORCE_PATH_STYLE: 'true' },
  });
  api = await startApi(env);
  eraser = await api.newKey('operator', true);
  const created = await api.call('POST', '/destinations', {
    body: { name: 'playback', protocol: 's3', bucket: exportBucket, endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, path: 'exports', username: s3.accessKeyId, password: s3.secretAccessKey },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  destinationId = created.json.id;
  await env.startWorker();
});

after(async () => {
  await api?.close();
  await env?.stop();
  client?.destroy();
  await s3?.stop();
});

async function objectExists(bucket: string, key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

/** Exports a copy of the recording through the destination and registers it for playback. */
async function exportForPlayback(contentId: string, name: string): Promise<string> {
  const transfer = await openDestination(env.sql, env.deps.keyring, destinationId);
  try {
    const put = await transfer.put(`recordings/${name}.wav`, Readable.from([Buffer.from('RIFF exported copy')]));
    await env.sql`update interaction_content set exported_to = ${put.location} where id = ${contentId}`;
    return put.location;
  } finally {
    await transfer.close();
  }
}

async function erase(body: Record<string, unknown>) {
  const previewed = await api.call('POST', '/erasures/preview', { key: eraser, body });
  assert.equal(previewed.status, 200, JSON.stringify(previewed.json));
  const started = await api.call('POST', '/erasures', { key: eraser, body: { previewId: previewed.json.previewId, confirm: true } });
  assert.equal(started.status, 202);
  return { preview: previewed.json, runId: started.json.runId as string };
}

describe('erasure with S3 storage', () => {
  test('content objects and the exported playback copy are absent from S3 afterwards; other content stays', async () => {
    const campaignId = await newCampaign(env);
    const call = await addInteraction(env, campaignId, 'voice', '2025-06-01T10:00:00-04:00');
    const keep = await addInteraction(env, campaignId, 'voice', '2025-06-02T10:00:00-04:00');
    const location = await exportForPlayback(call.recording!.id, `call-${call.id}`);
    const exported = parseS3Location(location)!;
    assert.equal(await objectExists(exported.bucket, exported.key), true);
    const before = await contentOf(env, campaignId);
    for (const c of before) assert.equal(await objectExists(contentBucket, c.store_key!), true);

    const { preview, runId } = await erase({ campaignId, items: ['voice-recording', 'screen-recording'], date: '2025-06-01', reason: 'S3 erasure' });
    assert.deepEqual(preview.counts, { 'voice-recording': 3, 'screen-recording': 1 });
    const result = await env.client.workflow.getHandle(runId).result();
    assert.equal(result.verified, true);

    assert.equal(await objectExists(exported.bucket, exported.key), false, 'exported copy gone');
    for (const c of before) {
      const erased = c.interaction_id === call.id && ['voice-recording', 'screen-recording'].includes(c.kind);
      assert.equal(await objectExists(contentBucket, c.store_key!), !erased, `content ${c.id} (${c.kind}) of ${c.interaction_id === keep.id ? 'the kept call' : 'the erased call'}`);
    }
    const [row] = await env.sql`select exported_to, store_key, erased_run from interaction_content where id = ${call.recording!.id}`;
    assert.deepEqual({ ...row }, { exported_to: null, store_key: null, erased_run: runId });
    assert.deepEqual((await auditOf(env, runId)).map((a) => a.action), ['erasure.requested', 'erasure.completed']);
  });

  test('an exported copy no destination can reach fails the run loudly, and the audit says so', async () => {
    const campaignId = await newCampaign(env);
    const call = await addInteraction(env, campaignId, 'voice', '2025-06-03T10:00:00-04:00');
    await env.sql`update interaction_content set exported_to = 's3://bucket-nobody-has/recordings/x.wav' where id = ${call.recording!.id}`;
    const { runId } = await erase({ campaignId, items: ['voice-recording'], date: '2025-06-03', reason: 'unreachable copy' });
    await assert.rejects(env.client.workflow.getHandle(runId).result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      const cause = (err.cause as { cause?: { type?: string; message?: string } })?.cause;
      assert.equal(cause?.type, 'ErasureIncomplete');
      assert.match(cause?.message ?? '', new RegExp(`${call.recording!.id} \\(database\\)`));
      return true;
    });
    const audit = await auditOf(env, runId);
    assert.deepEqual(audit.map((a) => a.action), ['erasure.requested', 'erasure.failed']);
    assert.equal(audit[1].counts['voice-recording'], 2, 'the two segment recordings were erased; the call with the copy was not');
    assert.match(audit[1].scope.error, /ErasureIncomplete|still hold content/);
    const [run] = await env.sql`select status, error from runs where run_id = ${runId}`;
    assert.equal(run.status, 'failed');
    assert.match(run.error, /still hold content/);
  });
});
