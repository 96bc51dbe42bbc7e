// Job 1 at scale: thousands of small recordings (rows sharing a few content-store objects, inserted in one
// statement) exported to a local folder by an in-process worker. The worker's memory stays flat while the
// files stream through, and continue-as-new keeps each execution's history short.
import assert from 'node:assert/strict';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, it } from 'node:test';
import { readWatermark } from '../lib/export/jobs.js';
import { makeWav } from '../lib/generator/index.js';
import { openTransfer } from '../lib/transfer/index.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { createDestination, createJob, filesUnder, insertRecordings, newCampaign, readManifest, startExport } from './recording-export-helpers.js';

const RECORDINGS = 5000;
const MB = 1024 * 1024;

let env: TestEnv;
before(async () => {
  env = await createTestEnv();
  await env.startWorker();
});
after(async () => { await env?.stop(); });

it(`${RECORDINGS} recordings: every file exported once, worker RSS flat, each execution's history small`, async (t) => {
  const campaign = await newCampaign(env.sql);
  // 2 s WAVs of ~32 KB: ~160 MB pass through the worker in all, far more than the RSS growth allowed below.
  const objects = await Promise.all([1, 2, 3, 4].map((seed) => env.deps.store.put(Readable.from([makeWav({ seed, durationMs: 2000 })]))));
  const recordings = await insertRecordings(env.sql, campaign.id, objects, RECORDINGS, new Date('2025-09-01T10:00:00Z'));
  const root = path.join(env.dataDir, 'scale-dest');
  const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: root });
  const jobId = await createJob(env.sql, campaign.id, { destinationId, fileNameTemplate: 'r/${callDate}/${callHour}/${recordingId}.wav' });

  const started = Date.now();
  const handle = await startExport(env, { definitionId: jobId, batchSize: 200, parallelism: 8, batchesPerExecution: 5 });
  // The baseline is taken once the first batches ran (modules loaded, pools and buffers warm).
  let baseline: number | undefined;
  let peak = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const rss = process.memoryUsage().rss;
      if (baseline === undefined) {
        const [{ n }] = await env.sql<{ n: number }[]>`select count(*)::int as n from recording_exports where job_id = ${jobId}`;
        if (n >= 500) baseline = rss;
      } else {
        peak = Math.max(peak, rss);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const result = (await handle.result()) as { exported: number; failed: number; manifest: string };
  done = true;
  await sampler;
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`exported ${result.exported} in ${seconds.toFixed(1)} s; RSS baseline ${(baseline! / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB`);

  assert.equal(result.exported, RECORDINGS);
  assert.equal(result.failed, 0);
  assert.ok(baseline !== undefined && peak > 0, 'RSS was sampled during the run');
  assert.ok(peak - baseline < 96 * MB, `RSS grew by ${((peak - baseline) / MB).toFixed(0)} MB while ~160 MB streamed through`);

  const latest = await env.client.workflow.getHandle(handle.workflowId).describe();
  assert.notEqual(latest.runId, handle.firstExecutionRunId, 'the run continued as new');
  assert.ok(latest.historyLength < 150, `the last execution's history has ${latest.historyLength} events`);
  const first = await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
  assert.ok(first.historyLength < 150, `the first execution's history has ${first.historyLength} events`);

  const files = await filesUnder(root);
  assert.equal(files.filter((f) => f.endsWith('.wav')).length, RECORDINGS);
  assert.deepEqual(files.filter((f) => f.endsWith('.part')), []);
  const [{ n, distinct }] = await env.sql<{ n: number; distinct: number }[]>`
    select count(*)::int as n, count(distinct path)::int as distinct from recording_exports where job_id = ${jobId} and result = 'exported'`;
  assert.deepEqual([n, distinct], [RECORDINGS, RECORDINGS]);
  const transfer = openTransfer({ protocol: 'file', path: root });
  assert.equal((await readManifest(transfer, result.manifest)).length, RECORDINGS);
  await transfer.close();
  assert.equal((await readWatermark(env.sql, jobId))!.afterContentId, recordings.at(-1)!.id);
});
