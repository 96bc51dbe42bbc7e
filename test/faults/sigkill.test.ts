// Worker processes SIGKILLed again and again at seeded random points of one run of each job (FAULT_TRIALS
// kills, default 10; FAULT_SEED): after a last worker finishes it, nothing is lost or duplicated, the
// watermarks are exact and no campaign lock is left behind.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { verifyAuditChain } from '../../lib/audit/index.js';
import { campaignLockOf } from '../../lib/campaign-lock.js';
import { readWatermark } from '../../lib/export/jobs.js';
import { makeWav } from '../../lib/generator/index.js';
import { listImportWorkflowId, type ListImportInput, type ListImportResult } from '../../workflows/list-import-shared.js';
import { runSearchAttributes } from '../../workflows/shared/search-attributes.js';
import { addInteraction, auditOf, startApi, type Api } from '../erasure-fixtures.js';
import { createTestEnv, type TestEnv } from '../harness/env.js';
import { createDestination, createJob, filesUnder, insertRecordings, newCampaign, startExport } from '../recording-export-helpers.js';
import { createReportDefinition, newCampaign as newReportCampaign, startReport } from '../report-helpers.js';
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

describe(`SIGKILL of the worker at ${TRIALS} random points per job`, () => {
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

  test('erasure: each item erased and journalled once, one request and one end in the audit, chain intact', async () => {
    const campaignId = (await newCampaign(env.sql)).id;
    const calls = 8 * TRIALS;
    for (let i = 0; i < calls; i++) await addInteraction(env, campaignId, 'chat', `2025-07-01T${String(8 + (i % 10)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00Z`);
    const eraser = await api.newKey('operator', true);
    const preview = await api.call('POST', '/erasures/preview', { key: eraser, body: { campaignId, items: ['chat-transcript'], date: '2025-07-01', reason: 'fault suite' } });
    assert.equal(preview.status, 200, JSON.stringify(preview.json));
    const started = await api.call('POST', '/erasures', { key: eraser, body: { previewId: preview.json.previewId, confirm: true, batchSize: 2 } });
    const runId: string = started.json.runId;
    const progress = async () => (await env.sql<{ n: number }[]>`select count(*)::int as n from erasure_journal where run_id = ${runId}`)[0].n;
    const landed = await crashLoop(env, rngFor('erasure'), { progress, ended: runEnded(runId) }, { maxExtraMs: 300, waitForProgress: true });
    assert.ok(landed >= Math.min(TRIALS, 3), `${landed} kills landed mid-run`);
    const last = await env.spawnWorker();
    const result = await env.client.workflow.getHandle(runId).result();
    await kill(last);
    assert.equal(result.verified, true);
    const [journal] = await env.sql`select count(*)::int as n, count(distinct content_id)::int as distinct_n from erasure_journal where run_id = ${runId}`;
    assert.deepEqual({ ...journal }, { n: preview.json.items, distinct_n: preview.json.items });
    assert.deepEqual((await auditOf(env, runId)).map((a) => a.action), ['erasure.requested', 'erasure.completed']);
    assert.equal((await verifyAuditChain(env.sql)).ok, true);
    assert.equal(await campaignLockOf(env.sql, campaignId), null);
  });

  test('report: one saved file with every row, no stray object in the content store', async () => {
    const campaign = await newReportCampaign(env.sql, new Date('2025-01-01T00:00:00Z'));
    const attempts = 200_000;
    await env.sql`
      insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status, collected_at)
      select ${campaign.id}, 'C' || (g % 40000), '+1555' || lpad(g::text, 7, '0'), t - interval '40 seconds', t, 'NOANSWER', t
      from generate_series(1, ${attempts}) as g, lateral (select timestamptz '2025-01-02T00:00:00Z' + g * interval '1 second') as x(t)`;
    const definitionId = await createReportDefinition(env.sql, { campaignId: campaign.id, timeframe: { kind: 'entire-campaign' } });
    const handle = await startReport(env, { definitionId });
    const landed = await crashLoop(env, rngFor('report'), { progress: async () => 0, ended: runEnded(handle.workflowId) }, { maxExtraMs: 6000, waitForProgress: false });
    assert.ok(landed >= Math.min(TRIALS, 3), `${landed} kills landed mid-run`);
    const last = await env.spawnWorker();
    const result = (await handle.result()) as { rows: number };
    await kill(last);
    assert.equal(result.rows, attempts);
    const saved = await env.sql`select * from saved_reports where run_id = ${handle.workflowId}`;
    assert.equal(saved.length, 1, 'one saved file for the run');
    const objects = await readdir(path.join(env.dataDir, 'content', 'reports'), { recursive: true, withFileTypes: true }).catch(() => []);
    assert.deepEqual(objects.filter((e) => e.isFile() && e.name.startsWith('.')).map((e) => e.name), [], 'no half-written object left');
  });

  test('list import: every contact once with its merged values, counts exact, campaign lock released', async () => {
    const campaign = await newCampaign(env.sql);
    const rows = 60_000;
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
    const landed = await crashLoop(env, rngFor('import'), { progress: async () => 0, ended: runEnded(workflowId) }, { maxExtraMs: 6000, waitForProgress: false });
    assert.ok(landed >= Math.min(TRIALS, 3), `${landed} kills landed mid-run`);
    const last = await env.spawnWorker();
    const result = (await handle.result()) as ListImportResult;
    await kill(last);
    assert.deepEqual([result.rowsRead, result.imported, result.updated, result.rejected], [rows, rows / 2, rows / 2, 0]);
    const [contacts] = await env.sql`
      select count(*)::int as n, count(*) filter (where name like 'New %')::int as merged,
             (select count(*)::int from contact_phones p join contacts c on c.id = p.contact_id where c.campaign_id = ${campaign.id}) as phones
      from contacts where campaign_id = ${campaign.id}`;
    assert.deepEqual({ ...contacts }, { n: rows, merged: rows, phones: rows });
    assert.equal(await campaignLockOf(env.sql, campaign.id), null);
  });
});
