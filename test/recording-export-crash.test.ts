// A worker process killed (SIGKILL) in the middle of a batch: after a new worker takes over, every expected
// file is at the destination exactly once, each recording is recorded once, and the watermark is exact.
// The provider bandwidth limit (EXPORT_BANDWIDTH_KBPS) slows the transfer enough to kill it mid-batch. No
// half-written `.part` file is left behind and the manifest lists each file once.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { readWatermark } from '../lib/export/jobs.js';
import { openTransfer } from '../lib/transfer/index.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import {
  createDestination, createJob, dirOf, filesIn, filesUnder, newCampaign, readAll, readManifest, seedCalls, startExport,
} from './recording-export-helpers.js';

let env: TestEnv;
before(async () => { env = await createTestEnv(); });
after(async () => { await env?.stop(); });

async function wavFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name.endsWith('.wav') && !e.name.startsWith('.')).map((e) => e.name);
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('a worker killed mid-batch: after restart every file is exported exactly once and the watermark is exact', async () => {
  const campaign = await newCampaign(env.sql);
  const calls = await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2025-07-01T15:00:00Z'), Array.from({ length: 24 }, () => ({})));
  const root = path.join(env.dataDir, 'crash-dest');
  const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: root });
  const jobId = await createJob(env.sql, campaign.id, { destinationId });
  // ~6.4 KB per recording at 24 KB/s: a batch of 8 takes about two seconds.
  const workerEnv = { EXPORT_BANDWIDTH_KBPS: '24' };
  let child: ChildProcess = await env.spawnWorker(workerEnv);
  const handle = await startExport(env, { definitionId: jobId, batchSize: 8, parallelism: 2 });

  await until(async () => (await wavFilesUnder(root)).length >= 11, 60_000, 'the second batch to be under way');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const committed = await readWatermark(env.sql, jobId);
  assert.equal(committed!.afterContentId, calls[7].recording!.id, 'only the first batch was committed before the crash');

  child = await env.spawnWorker(workerEnv);
  const result = (await handle.result()) as { exported: number; failed: number };
  assert.equal(result.exported + result.failed, 24);
  assert.equal(result.failed, 0);

  const transfer = openTransfer({ protocol: 'file', path: root });
  const rows = await env.sql<{ path: string; content_id: string }[]>`select path, content_id from recording_exports where job_id = ${jobId}`;
  assert.equal(rows.length, 24);
  assert.deepEqual(new Set(rows.map((r) => String(r.content_id))), new Set(calls.map((c) => c.recording!.id)));
  const files = await filesIn(transfer, rows.map((r) => dirOf(r.path)));
  assert.deepEqual(files, rows.map((r) => r.path).sort(), 'exactly one file per recording, under its one name');
  assert.equal((await wavFilesUnder(root)).length, 24);
  assert.deepEqual((await filesUnder(root)).filter((f) => f.endsWith('.part')), [], 'the file being written when the worker died was overwritten by the retry, not left as .part');
  const runFiles = await env.sql<{ path: string }[]>`select path from recording_exports where job_id = ${jobId} and run_id = ${handle.workflowId}`;
  const manifest = await readManifest(transfer, (result as unknown as { manifest: string }).manifest);
  assert.equal(manifest.length, 24, 'each file listed once, though the retried batch re-sent some');
  assert.deepEqual(manifest.map((r) => r.file_path).sort(), runFiles.map((r) => r.path).sort());
  for (const call of calls) {
    const row = rows.find((r) => String(r.content_id) === call.recording!.id)!;
    assert.ok((await readAll(transfer, row.path)).equals(call.recording!.bytes()));
  }
  assert.equal((await readWatermark(env.sql, jobId))!.afterContentId, calls[23].recording!.id);
  await transfer.close();
});
