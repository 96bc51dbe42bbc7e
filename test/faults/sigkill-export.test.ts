// Worker processes SIGKILLed again and again at seeded random points of one recording export run (FAULT_TRIALS
// kills, default 10; FAULT_SEED): after a last worker finishes it, nothing is lost or duplicated, the
// watermarks are exact and no campaign lock is left behind.
import assert from 'node:assert/strict';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { campaignLockOf } from '../../lib/campaign-lock.js';
import { readWatermark } from '../../lib/export/jobs.js';
import { makeWav } from '../../lib/generator/index.js';
import { startApi, type Api } from '../erasure-fixtures.js';
import { createTestEnv, type TestEnv } from '../harness/env.js';
import { createDestination, createJob, filesUnder, insertRecordings, newCampaign, startExport } from '../recording-export-helpers.js';
import { crashLoop, distinctCampaignIds, kill, rngFor, TRIALS } from './crash-helpers.js';

let env: TestEnv;
let api: Api;
before(async () => {
  env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC' } });
  await distinctCampaignIds(env.sql);
  api = await startApi(env);
});
after(async () => {
  await api?.close();
  await env?.stop();
});

const runEnded = (workflowId: string) => async () => {
  const { status } = await env.client.workflow.getHandle(workflowId).describe();
  return status.name !== 'RUNNING';
};

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('recording export: every file exactly once, every recording recorded once, watermark exact', async () => {
    const campaign = await newCampaign(env.sql);
    const objects = await Promise.all([1, 2, 3].map((seed) => env.deps.store.put(Readable.from([makeWav({ seed, durationMs: 400 })]))));
    const recordings = await insertRecordings(env.sql, campaign.id, objects, 20 * TRIALS, new Date('2025-07-01T10:00:00Z'));
    const root = path.join(env.dataDir, 'sigkill-export');
    const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: root });
    const jobId = await createJob(env.sql, campaign.id, { destinationId, fileNameTemplate: 'r/${recordingId}.wav' });
    const handle = await startExport(env, { definitionId: jobId, batchSize: 4, parallelism: 2, batchesPerExecution: 6 });
    const progress = async () => (await env.sql<{ n: number }[]>`select count(*)::int as n from recording_exports where job_id = ${jobId}`)[0].n;
    const workerEnv = { EXPORT_BANDWIDTH_KBPS: '48' };
    const spawn = env.spawnWorker.bind(env);
    env.spawnWorker = (extra = {}) => spawn({ ...workerEnv, ...extra });
    try {
      const landed = await crashLoop(env, rngFor('export'), { progress, ended: runEnded(handle.workflowId) }, { maxExtraMs: 1500, waitForProgress: true });
      assert.ok(landed >= Math.min(TRIALS, 3), `${landed} kills landed mid-run`);
      const last = await env.spawnWorker();
      const result = (await env.client.workflow.getHandle(handle.workflowId).result()) as { exported: number; failed: number };
      await kill(last);
      assert.equal(result.failed, 0);
    } finally {
      env.spawnWorker = spawn;
    }
    const [rows] = await env.sql<{ n: number; distinct_content: number; distinct_path: number }[]>`
      select count(*)::int as n, count(distinct content_id)::int as distinct_content, count(distinct path)::int as distinct_path
      from recording_exports where job_id = ${jobId} and result = 'exported'`;
    assert.deepEqual({ ...rows }, { n: recordings.length, distinct_content: recordings.length, distinct_path: recordings.length });
    const files = await filesUnder(root);
    assert.equal(files.filter((f) => f.endsWith('.wav')).length, recordings.length, 'one file per recording');
    assert.deepEqual(files.filter((f) => f.endsWith('.part')), []);
    assert.equal((await readWatermark(env.sql, jobId))!.afterContentId, recordings.at(-1)!.id);
    assert.equal(await campaignLockOf(env.sql, campaign.id), null);
  });
});
