// Recording export with recordings arriving late while worker processes are SIGKILLed again and again at
// seeded random points (FAULT_TRIALS kills, default 10; FAULT_SEED): calls that ended a month before
// everything else, uploaded mid-run. After a last worker finishes the run, each late recording was exported
// once, none was skipped, no file is duplicated and the cursor is at the last recording to arrive.
import assert from 'node:assert/strict';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { readWatermark } from '../../lib/export/jobs.js';
import { makeWav } from '../../lib/generator/index.js';
import type { TestEnv } from '../harness/env.js';
import { createDestination, createJob, filesUnder, insertRecordings, newCampaign, startExport } from '../recording-export-helpers.js';
import { crashLoop, faultSuiteEnv, rngFor, TRIALS, until, type JobRun } from './crash-helpers.js';

const suite = faultSuiteEnv();

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('recording export with recordings arriving late mid-run: each late one exported once, none skipped', async () => {
    const run = await startLateArrivalsRun(suite.env, 20 * TRIALS, 'sigkill-export-late');
    await crashLoop(suite.env, run, rngFor('export-late'), { maxExtraMs: 1500, waitForProgress: true });
  });
});

/**
 * `count` recordings at the start; then, once the run has recorded 4, 8 and 12 files, five more each whose calls
 * ended a month before all the others (uploads finishing late). Far from the end of the run, so the run itself
 * must pick them up.
 */
async function startLateArrivalsRun(env: TestEnv, count: number, folder: string): Promise<JobRun> {
  const campaign = await newCampaign(env.sql);
  const objects = await Promise.all([4, 5].map((seed) => env.deps.store.put(Readable.from([makeWav({ seed, durationMs: 400 })]))));
  await insertRecordings(env.sql, campaign.id, objects, count, new Date('2025-07-01T10:00:00Z'));
  const root = path.join(env.dataDir, folder);
  const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: root });
  const jobId = await createJob(env.sql, campaign.id, { destinationId, fileNameTemplate: 'r/${recordingId}.wav' });
  const handle = await startExport(env, { definitionId: jobId, batchSize: 4, parallelism: 2, batchesPerExecution: 6 });
  const progress = async () => (await env.sql<{ n: number }[]>`select count(*)::int as n from recording_exports where job_id = ${jobId}`)[0].n;
  const late: string[] = [];
  const arrivals = (async () => {
    for (const [wave, after] of [4, 8, 12].entries()) {
      await until(`${after} files recorded`, async () => (await progress()) >= after);
      const rows = await insertRecordings(env.sql, campaign.id, objects, 5, new Date(Date.UTC(2025, 5, 1, 10, wave)));
      late.push(...rows.map((r) => r.id));
    }
  })();
  arrivals.catch(() => undefined); // awaited (and its failure reported) in finish()
  return {
    workflowId: handle.workflowId,
    workerEnv: { EXPORT_BANDWIDTH_KBPS: '48' },
    progress,
    async finish() {
      await arrivals;
      const total = count + late.length;
      const result = (await env.client.workflow.getHandle(handle.workflowId).result()) as { exported: number; failed: number };
      assert.deepEqual([result.exported, result.failed], [total, 0]);
      const [rows] = await env.sql<{ n: number; distinct_content: number; late: number }[]>`
        select count(*)::int as n, count(distinct content_id)::int as distinct_content,
               count(*) filter (where content_id = any(${late}::bigint[]))::int as late
        from recording_exports where job_id = ${jobId} and result = 'exported'`;
      assert.deepEqual({ ...rows }, { n: total, distinct_content: total, late: late.length }, 'every late recording exported once');
      const files = await filesUnder(root);
      assert.equal(files.filter((f) => f.endsWith('.wav')).length, total, 'one file per recording');
      assert.deepEqual(files.filter((f) => f.endsWith('.part')), []);
      assert.equal((await readWatermark(env.sql, jobId))!.afterContentId, late.at(-1), 'the cursor is at the last recording to arrive');
    },
  };
}
