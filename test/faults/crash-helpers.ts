// Shared by the fault suite: one test environment (+ in-process API) per file, one run of each job kind with
// the exact outcome checks every fault test makes (nothing lost or duplicated, watermarks exact, campaign
// locks released), and the kill loop of the sigkill-*.test.ts files: worker child processes SIGKILLed at
// seeded random points of a run, then a last worker that is left to finish it. FAULT_TRIALS sets the kills
// per job (default 10), FAULT_SEED the seed.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before } from 'node:test';
import proto from '@temporalio/proto';
import { verifyAuditChain } from '../../lib/audit/index.js';
import { campaignLockOf } from '../../lib/campaign-lock/index.js';
import { readWatermark } from '../../lib/export/jobs.js';
import { createRng, makeWav } from '../../lib/generator/index.js';
import { listImportWorkflowId, type ListImportInput, type ListImportResult } from '../../contracts/list-import.js';
import { runSearchAttributes } from '../../contracts/search-attributes.js';
import { addInteraction, auditOf, startApi, type Api } from '../erasure-fixtures.js';
import { createTestEnv, type TestEnv } from '../harness/env.js';
import { createDestination, createJob, filesUnder, insertRecordings, newCampaign, startExport } from '../recording-export-helpers.js';
import { createReportDefinition, newCampaign as newReportCampaign, startReport } from '../report-helpers.js';

type Rng = ReturnType<typeof createRng>;
const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

export const TRIALS = Number(process.env.FAULT_TRIALS ?? '10');
export const SEED = Number(process.env.FAULT_SEED ?? '8');

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function rngFor(job: string): Rng {
  return createRng(SEED, 'faults', job);
}

export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export async function kill(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill('SIGKILL');
  await exited;
}

/**
 * The file's test environment and API, created before its tests and stopped after them. `servers` gives a
 * PostgreSQL and/or a Temporal server of the file's own (started first, stopped last) instead of the suite's.
 */
export function faultSuiteEnv(options: {
  servers?: { start(): Promise<{ pgUrl?: string; temporalAddress?: string }>; stop(): Promise<void> };
} = {}): { readonly env: TestEnv; readonly api: Api } {
  let env: TestEnv | undefined;
  let api: Api | undefined;
  before(async () => {
    const servers = await options.servers?.start();
    env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC' }, servers });
    await distinctCampaignIds(env.sql);
    api = await startApi(env);
  });
  after(async () => {
    await api?.close();
    await env?.stop();
    await options.servers?.stop();
  });
  return {
    get env() { return env!; },
    get api() { return api!; },
  };
}

/** True once the workflow has closed (completed, failed, ...). */
export const runEnded = (env: TestEnv, workflowId: string) => async (): Promise<boolean> => {
  const { status } = await env.client.workflow.getHandle(workflowId).describe();
  return status.name !== 'RUNNING';
};

/** One started run of a job and its exact outcome checks. */
export interface JobRun {
  workflowId: string;
  /** Environment for the workers that run it. */
  workerEnv: NodeJS.ProcessEnv;
  /** A number that grows as the run does work (files recorded, bytes staged, items journalled). */
  progress(): Promise<number>;
  /** Waits for the run's result and asserts the outcome. */
  finish(): Promise<void>;
}

/** Recording export of `count` recordings to a folder: every file exactly once, every recording recorded once,
 *  watermark exact, campaign lock released. Throttled so a run lasts long enough to be hit mid-way. */
export async function startExportRun(env: TestEnv, count: number, folder: string): Promise<JobRun> {
  const campaign = await newCampaign(env.sql);
  const objects = await Promise.all([1, 2, 3].map((seed) => env.deps.store.put(Readable.from([makeWav({ seed, durationMs: 400 })]))));
  const recordings = await insertRecordings(env.sql, campaign.id, objects, count, new Date('2025-07-01T10:00:00Z'));
  const root = path.join(env.dataDir, folder);
  const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: root });
  const jobId = await createJob(env.sql, campaign.id, { destinationId, fileNameTemplate: 'r/${recordingId}.wav' });
  const handle = await startExport(env, { definitionId: jobId, batchSize: 4, parallelism: 2, batchesPerExecution: 6 });
  return {
    workflowId: handle.workflowId,
    workerEnv: { EXPORT_BANDWIDTH_KBPS: '48' },
    progress: async () => (await env.sql<{ n: number }[]>`select count(*)::int as n from recording_exports where job_id = ${jobId}`)[0].n,
    async finish() {
      const result = (await env.client.workflow.getHandle(handle.workflowId).result()) as { exported: number; failed: number };
      assert.deepEqual([result.exported, result.failed], [count, 0]);
      const [rows] = await env.sql<{ n: number; distinct_content: number; distinct_path: number }[]>`
        select count(*)::int as n, count(distinct content_id)::int as distinct_content, count(distinct path)::int as distinct_path
        from recording_exports where job_id = ${jobId} and result = 'exported'`;
      assert.deepEqual({ ...rows }, { n: count, distinct_content: count, distinct_path: count });
      const files = await filesUnder(root);
      assert.equal(files.filter((f) => f.endsWith('.wav')).length, count, 'one file per recording');
      assert.deepEqual(files.filter((f) => f.endsWith('.part')), []);
      assert.equal((await readWatermark(env.sql, jobId))!.afterContentId, recordings.at(-1)!.id);
      assert.equal(await campaignLockOf(env.sql, campaign.id), null);
    },
  };
}

/** List import of `rows` rows, half of them new and half merged into existing contacts: every contact once with
 *  its merged values, counts exact, campaign lock released. Progress: bytes staged (runs.progress_done). */
export async function startImportRun(env: TestEnv, rows: number): Promise<JobRun> {
  const campaign = await newCampaign(env.sql);
  await env.sql`insert into contacts (campaign_id, client_id, name) select ${campaign.id}, 'C' || g, 'Old ' || g from generate_series(0, ${rows / 2 - 1}::int) g`;
  const csv = ['client_id,name,phone', ...Array.from({ length: rows }, (_, i) => `C${i},New ${i},+1555${String(i).padStart(7, '0')}`)].join('\n');
  const stored = await env.deps.store.put(Readable.from([csv]), { prefix: 'uploads' });
  const [upload] = await env.sql`
    insert into uploads (id, store_key, size_bytes, sha256) values (${`fault-${campaign.id}`}, ${stored.key}, ${stored.sizeBytes}, ${stored.sha256}) returning id`;
  const input: ListImportInput = {
    campaignId: campaign.id, source: { uploadId: upload.id }, separator: ',', hasHeader: true, keyField: 'clientId', wait: true,
    importRule: 'append', updateRule: 'nothing', mergeRule: 'append', deleteAllBeforeImport: false,
  };
  const workflowId = listImportWorkflowId(campaign.id, new Date());
  const handle = await env.client.workflow.start('listImport', {
    workflowId, taskQueue: env.taskQueue, args: [input], typedSearchAttributes: runSearchAttributes({ kind: 'list-import', campaignId: campaign.id, triggeredBy: 'faults' }),
  });
  return {
    workflowId,
    workerEnv: {},
    progress: async () => Number((await env.sql<{ done: string | null }[]>`select progress_done as done from runs where run_id = ${workflowId}`)[0]?.done ?? 0),
    async finish() {
      const result = (await handle.result()) as ListImportResult;
      assert.deepEqual([result.rowsRead, result.imported, result.updated, result.rejected], [rows, rows / 2, rows / 2, 0]);
      const [contacts] = await env.sql`
        select count(*)::int as n, count(*) filter (where name like 'New %')::int as merged,
               (select count(*)::int from contact_phones p join contacts c on c.id = p.contact_id where c.campaign_id = ${campaign.id}) as phones
        from contacts where campaign_id = ${campaign.id}`;
      assert.deepEqual({ ...contacts }, { n: rows, merged: rows, phones: rows });
      assert.equal(await campaignLockOf(env.sql, campaign.id), null);
    },
  };
}

/** All Attempts report over `attempts` attempts: one saved file with every row, no half-written object in the
 *  content store. Progress: 1 once the report's generation has started on a worker. */
export async function startReportRun(env: TestEnv, attempts: number): Promise<JobRun> {
  const campaign = await newReportCampaign(env.sql, new Date('2025-01-01T00:00:00Z'));
  await env.sql`
    insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status, collected_at)
    select ${campaign.id}, 'C' || (g % 40000), '+1555' || lpad(g::text, 7, '0'), t - interval '40 seconds', t, 'NOANSWER', t
    from generate_series(1, ${attempts}) as g, lateral (select timestamptz '2025-01-02T00:00:00Z' + g * interval '1 second') as x(t)`;
  const definitionId = await createReportDefinition(env.sql, { campaignId: campaign.id, timeframe: { kind: 'entire-campaign' } });
  const handle = await startReport(env, { definitionId });
  return {
    workflowId: handle.workflowId,
    // Generation capped at ~1.5 MB/s (REPORT_GENERATE_KBPS, as an operator sparing the database would): the
    // report then takes seconds on any machine, so the seeded kills land mid-run instead of after a fast
    // machine has already finished it.
    workerEnv: { REPORT_GENERATE_KBPS: '1500' },
    async progress() {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      return pending.some((a) => a.activityType?.name === 'generateReport' && a.state === STARTED) ? 1 : 0;
    },
    async finish() {
      const result = (await handle.result()) as { rows: number };
      assert.equal(result.rows, attempts);
      const saved = await env.sql`select * from saved_reports where run_id = ${handle.workflowId}`;
      assert.equal(saved.length, 1, 'one saved file for the run');
      const objects = await readdir(path.join(env.dataDir, 'content', 'reports'), { recursive: true, withFileTypes: true }).catch(() => []);
      assert.deepEqual(objects.filter((e) => e.isFile() && e.name.startsWith('.')).map((e) => e.name), [], 'no half-written object left');
    },
  };
}

/** Erasure of `calls` chat transcripts through the API (batches of 2): each item erased and journalled once,
 *  one request and one end in the audit, the audit chain intact, campaign lock released. */
export async function startErasureRun(env: TestEnv, api: Api, calls: number): Promise<JobRun> {
  const campaignId = (await newCampaign(env.sql)).id;
  for (let i = 0; i < calls; i++) await addInteraction(env, campaignId, 'chat', `2025-07-01T${String(8 + (i % 10)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00Z`);
  const eraser = await api.newKey('operator', true);
  const preview = await api.call('POST', '/erasures/preview', { key: eraser, body: { campaignId, items: ['chat-transcript'], date: '2025-07-01', reason: 'fault suite' } });
  assert.equal(preview.status, 200, JSON.stringify(preview.json));
  const started = await api.call('POST', '/erasures', { key: eraser, body: { previewId: preview.json.previewId, confirm: true, batchSize: 2 } });
  assert.equal(started.status, 202, JSON.stringify(started.json));
  const runId: string = started.json.runId;
  return {
    workflowId: runId,
    workerEnv: {},
    progress: async () => (await env.sql<{ n: number }[]>`select count(*)::int as n from erasure_journal where run_id = ${runId}`)[0].n,
    async finish() {
      const result = await env.client.workflow.getHandle(runId).result();
      assert.equal(result.verified, true);
      const [journal] = await env.sql`select count(*)::int as n, count(distinct content_id)::int as distinct_n from erasure_journal where run_id = ${runId}`;
      assert.deepEqual({ ...journal }, { n: preview.json.items, distinct_n: preview.json.items });
      assert.deepEqual((await auditOf(env, runId)).map((a) => a.action), ['erasure.requested', 'erasure.completed']);
      assert.equal((await verifyAuditChain(env.sql)).ok, true);
      assert.equal(await campaignLockOf(env.sql, campaignId), null);
    },
  };
}

/**
 * The sigkill tests: up to `trials` times, start a worker, wait until the run makes progress (or, for runs
 * without visible progress, only the random delay), wait a seeded random extra 0-`maxExtraMs` ms, SIGKILL
 * it; at least min(trials, 3) kills must land while the run is open. Then a last worker finishes the run
 * and its outcome is checked.
 */
export async function crashLoop(env: TestEnv, run: JobRun, rng: Rng, options: { trials?: number; maxExtraMs: number; waitForProgress: boolean }): Promise<void> {
  const trials = options.trials ?? TRIALS;
  const ended = runEnded(env, run.workflowId);
  let landed = 0;
  for (let t = 0; t < trials; t++) {
    if (await ended()) break;
    const worker = await env.spawnWorker({ LOG_LEVEL: 'error', ...run.workerEnv });
    const before = await run.progress();
    if (options.waitForProgress) {
      await until('the run to make progress', async () => (await run.progress()) > before || (await ended()), 180_000);
    }
    await sleep(rng.int(0, options.maxExtraMs));
    const open = !(await ended());
    await kill(worker);
    if (open) landed++;
  }
  assert.ok(landed >= Math.min(trials, 3), `${landed} kills landed mid-run`);
  const last = await env.spawnWorker(run.workerEnv);
  try {
    await run.finish();
  } finally {
    await kill(last);
  }
}

/**
 * Starts this database's campaign ids at a random offset: campaign-lock workflows are named
 * `campaign-lock/<campaignId>` in the Temporal namespace all test databases share, so two fresh databases
 * would otherwise both lock "campaign 1" through the same workflow.
 */
export async function distinctCampaignIds(sql: TestEnv['sql']): Promise<void> {
  await sql`select setval(pg_get_serial_sequence('campaigns', 'id'), ${1_000_000 + Math.floor(Math.random() * 1_000_000_000)})`;
}
