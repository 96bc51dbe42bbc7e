// Job 1 against Job 4: an export batch that sent a recording's playback copy before an erasure of that
// recording committed must not register the copy afterwards (the erased recording would come back as a live
// s3:// copy). The erasure runs to its end between the upload and the batch's commit, deterministically: the
// batch reads the next recording's content only after the first file is at the destination, and that read
// waits for the erasure.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import type { ContentStore } from '../lib/content-store/types.js';
import { ERASED_DURING_EXPORT } from '../lib/export/queries.js';
import { openTransfer, type DestinationSecrets, type DestinationSettings } from '../lib/transfer/index.js';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startS3, type S3Server } from './harness/servers/index.js';
import { until } from './harness/wait.js';
import { createDestination, createJob, newCampaign, readAll, readManifest, runExport, seedCalls } from './recording-export-helpers.js';

let env: TestEnv;
let s3: S3Server;
let api: Api;
let onContentRead: ((key: string) => Promise<void>) | undefined;
const BUCKET = `race-${randomBytes(3).toString('hex')}`;

before(async () => {
  [env, s3] = await Promise.all([createTestEnv(), startS3()]);
  await s3.createBucket(BUCKET);
  api = await startApi(env);
  const store: ContentStore = { ...env.deps.store, get: async (key) => { await onContentRead?.(key); return env.deps.store.get(key); } };
  await env.startWorker({ deps: { store } });
});

after(async () => {
  await api?.close();
  await env?.stop();
  await s3?.stop();
});

async function exists(transfer: ReturnType<typeof openTransfer>, path: string): Promise<boolean> {
  try {
    await readAll(transfer, path);
    return true;
  } catch {
    return false;
  }
}

async function playbackJob() {
  const campaign = await newCampaign(env.sql);
  const [first] = await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2025-06-01T14:00:00Z'), [{}]);
  const [second] = await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2025-06-02T14:00:00Z'), [{}]);
  const settings: DestinationSettings = { protocol: 's3', bucket: BUCKET, endpoint: s3.endpoint, region: s3.region, username: s3.accessKeyId, path: `playback-${randomBytes(3).toString('hex')}` };
  const secrets: DestinationSecrets = { password: s3.secretAccessKey };
  const destinationId = await createDestination(env.sql, env.deps.keyring, settings, secrets);
  const jobId = await createJob(env.sql, campaign.id, { destinationId, useForPlayback: true, fileNameTemplate: 'r/${recordingId}.wav' });
  return { campaignId: campaign.id, first, second, jobId, transfer: openTransfer(settings, secrets) };
}

/** Erases the interaction's recordings through the API and waits for the run's end. */
async function eraseRecordings(campaignId: string, interactionId: string): Promise<{ verified: boolean }> {
  const preview = await api.call('POST', '/erasures/preview', {
    body: { campaignId, interactionIds: [interactionId], items: ['voice-recording'], reason: 'race with an export' },
  });
  assert.equal(preview.status, 200, JSON.stringify(preview.json));
  const started = await api.call('POST', '/erasures', { body: { previewId: preview.json.previewId, confirm: true } });
  assert.equal(started.status, 202, JSON.stringify(started.json));
  return await env.client.workflow.getHandle(started.json.runId).result() as { verified: boolean };
}

it('a recording erased after its copy was sent but before the batch committed is not registered for playback, and the copy is removed', async () => {
  const { campaignId, first: erased, second: kept, jobId, transfer } = await playbackJob();
  const erasedPath = `r/${erased.recording!.id}.wav`;

  let erasure: { verified: boolean } | undefined;
  onContentRead = async (key) => {
    if (key !== kept.recording!.storeKey) return;
    onContentRead = undefined;
    assert.equal(await exists(transfer, erasedPath), true, 'the first copy is at the destination, not yet committed');
    erasure = await eraseRecordings(campaignId, erased.id);
  };
  const { result } = await runExport(env, { definitionId: jobId, batchSize: 10, parallelism: 1 });
  onContentRead = undefined;
  assert.equal(erasure?.verified, true, 'the erasure ran between the upload and the commit');

  const [row] = await env.sql`select erased_at, exported_to, exported_dest, store_key from interaction_content where id = ${erased.recording!.id}`;
  assert.ok(row.erased_at, 'erased');
  assert.deepEqual([row.exported_to, row.exported_dest, row.store_key], [null, null, null], 'no playback copy registered on the erased recording');
  assert.equal(await exists(transfer, erasedPath), false, 'the copy sent before the erasure was removed');
  const [record] = await env.sql`select result, error, location from recording_exports where job_id = ${jobId} and content_id = ${erased.recording!.id}`;
  assert.deepEqual({ ...record }, { result: 'failed', error: ERASED_DURING_EXPORT, location: null });

  const [other] = await env.sql`select exported_to from interaction_content where id = ${kept.recording!.id}`;
  assert.match(other.exported_to, new RegExp(`^s3://${BUCKET}/playback-[0-9a-f]+/r/${kept.recording!.id}\\.wav$`), 'the other recording is exported as usual');
  assert.deepEqual([result.exported, result.failed], [1, 1]);
  const manifest = await readManifest(transfer, result.manifest!);
  assert.deepEqual(manifest.map((r) => [r.recording_id, r.result]).sort(), [[erased.recording!.id, 'failed'], [kept.recording!.id, 'exported']].sort());

  // A new preview of the erased recording finds nothing left to erase, and nothing at the destination.
  const again = await api.call('POST', '/erasures/preview', {
    body: { campaignId, interactionIds: [erased.id], items: ['voice-recording'], reason: 'check' },
  });
  assert.equal(again.status, 200);
  assert.equal(again.json.counts['voice-recording'] ?? 0, 0);
  await transfer.close();
});

it('a copy sent by a batch attempt that died before its commit is removed by the retry when the recording was erased meanwhile', async () => {
  const { campaignId, first, second: erased, jobId, transfer } = await playbackJob();
  const erasedPath = `r/${erased.recording!.id}.wav`;
  let failedOnce = false;
  onContentRead = async (key) => {
    if (key !== first.recording!.storeKey || failedOnce) return;
    failedOnce = true;
    // The second file of the batch goes while the first is held; then the recording is erased, and the
    // attempt fails before committing anything (its first file never went).
    await until('the second file at the destination', () => exists(transfer, erasedPath));
    assert.equal((await eraseRecordings(campaignId, erased.id)).verified, true);
    throw new Error('connection to the content store reset');
  };
  const { result } = await runExport(env, { definitionId: jobId, batchSize: 10, parallelism: 2 });
  onContentRead = undefined;
  assert.ok(failedOnce);
  assert.deepEqual([result.exported, result.failed], [1, 0]);
  assert.equal(await exists(transfer, erasedPath), false, 'the retry removed the copy of the erased recording');
  const [row] = await env.sql`select erased_at, exported_to from interaction_content where id = ${erased.recording!.id}`;
  assert.ok(row.erased_at);
  assert.equal(row.exported_to, null);
  assert.equal((await env.sql`select 1 from recording_exports where job_id = ${jobId} and content_id = ${erased.recording!.id}`).length, 0, 'nothing recorded for it');
  assert.equal(await exists(transfer, `r/${first.recording!.id}.wav`), true);
  await transfer.close();
});
