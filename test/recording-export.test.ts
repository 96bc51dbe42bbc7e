// Job 1 end to end against real servers: every protocol, watermarks across runs, filters, the provider
// window (waiting, closing mid-run), continue-as-new, a missing recording (and its re-export), a parallel batch
// retried, a cancelled run's manifest, a 12 MB multipart S3 upload and a destination that refuses us.
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { DateTime } from 'luxon';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { initialWatermark } from '../lib/export/jobs.js';
import { makeWav } from '../lib/generator/index.js';
import { readWatermark } from '../lib/export/jobs.js';
import type { ContentStore } from '../lib/content-store/types.js';
import { openTransfer, type DestinationSecrets, type DestinationSettings } from '../lib/transfer/index.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startFtp, startS3, startSshd, type FtpServer, type S3Server, type SshdServer } from './harness/servers/index.js';
import {
  createDestination, createJob, defaultName, dirOf, filesIn, filesUnder, insertRecordings, newCampaign, readAll, readManifest, runExport,
  seedCalls, startExport,
} from './recording-export-helpers.js';

let env: TestEnv;
let sshd: SshdServer;
let ftp: FtpServer;
let s3: S3Server;
let fileRoot: string;
// The worker's view of the world, changed by tests: the provider window, the clock, a hook on content reads.
const config = { EXPORT_WINDOW: undefined as string | undefined };
let clockOffsetMs = 0;
let onContentRead: ((key: string) => void | Promise<void>) | undefined;
const BUCKET = `export-${process.pid}`;

before(async () => {
  [env, sshd, ftp, s3] = await Promise.all([createTestEnv(), startSshd(), startFtp(), startS3()]);
  await s3.createBucket(BUCKET);
  fileRoot = await mkdtemp(path.join(env.dataDir, 'dest-'));
  const store: ContentStore = {
    ...env.deps.store,
    get: async (key) => { await onContentRead?.(key); return env.deps.store.get(key); },
  };
  const deps = { store, config: new Proxy(env.config, { get: (t, k) => (k === 'EXPORT_WINDOW' ? config.EXPORT_WINDOW : t[k as keyof typeof t]) }), clock: () => new Date(Date.now() + clockOffsetMs) };
  await env.startWorker({ deps });
});

after(async () => {
  await env?.stop();
  await Promise.all([sshd?.stop(), ftp?.stop(), s3?.stop()]);
});

type Protocol = DestinationSettings['protocol'];
const protocols: Record<Protocol, () => { settings: DestinationSettings; secrets: DestinationSecrets }> = {
  file: () => ({ settings: { protocol: 'file', path: path.join(fileRoot, 'plain') }, secrets: {} }),
  sftp: () => ({ settings: { protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, path: path.join(sshd.rootDir, 'out') }, secrets: { privateKey: sshd.privateKey } }),
  ftp: () => ({ settings: { protocol: 'ftp', host: ftp.host, port: ftp.port, username: ftp.username, path: 'out' }, secrets: { password: ftp.password } }),
  s3: () => ({ settings: { protocol: 's3', bucket: BUCKET, endpoint: s3.endpoint, region: s3.region, username: s3.accessKeyId, path: 'calls' }, secrets: { password: s3.secretAccessKey } }),
};

const day = (n: number) => new Date(Date.UTC(2025, 4, n, 14, 0, 0));

describe('recording export to each protocol', () => {
  for (const protocol of ['file', 'sftp', 'ftp', 's3'] as const) {
    it(`${protocol}: N recordings give exactly N files with the original bytes, then a second run sends only the M new ones`, async () => {
      const campaign = await newCampaign(env.sql);
      const first = await seedCalls(env.sql, env.deps.store, campaign.id, day(1), [{}, {}, { agents: ['carol'] }, {}]);
      const { settings, secrets } = protocols[protocol]();
      const destinationId = await createDestination(env.sql, env.deps.keyring, settings, secrets);
      const jobId = await createJob(env.sql, campaign.id, { destinationId, useForPlayback: protocol === 's3' });
      const transfer = openTransfer(settings, secrets);
      try {
        const run1 = await runExport(env, { definitionId: jobId, batchSize: 3 });
        assert.equal(run1.result.exported, 4);
        assert.equal(run1.result.failed, 0);
        await checkLanded(transfer, campaign.id, first);

        const manifest = await readManifest(transfer, run1.result.manifest!);
        assert.equal(manifest.length, 4);
        for (const call of first) {
          const row = manifest.find((r) => r.recording_id === call.recording!.id)!;
          assert.equal(row.size_bytes, String(call.recording!.sizeBytes));
          assert.equal(row.sha256, call.recording!.sha256);
          assert.equal(row.result, 'exported');
        }

        const more = await seedCalls(env.sql, env.deps.store, campaign.id, day(2), [{}, {}]);
        const run2 = await runExport(env, { definitionId: jobId });
        assert.equal(run2.result.exported, 2);
        await checkLanded(transfer, campaign.id, [...first, ...more]);
        const watermark = await readWatermark(env.sql, jobId);
        assert.equal(watermark!.afterContentId, more[1].recording!.id);
        assert.equal(watermark!.completedAfter, '2020-01-01T00:00:00Z', 'the floor stays where it was set');

        const [run] = await env.sql`select status, size_bytes, result from runs where run_id = ${run2.runId}`;
        assert.equal(run.status, 'completed');
        assert.ok(Number(run.size_bytes) > more[0].recording!.sizeBytes);
        if (protocol === 's3') {
          const rows = await env.sql`select exported_to from interaction_content where id = ${first[0].recording!.id}`;
          assert.match(rows[0].exported_to, new RegExp(`^s3://${BUCKET}/calls/recordings/`));
        }
      } finally {
        await transfer.close();
      }
    });
  }
});

describe('large recordings', () => {
  it('a 12 MB recording goes to S3 in parts (multipart upload) and arrives byte-identical', async () => {
    const campaign = await newCampaign(env.sql);
    const wav = makeWav({ seed: 42, durationMs: 790_000 });
    assert.ok(wav.length > 12_000_000);
    const object = await env.deps.store.put(Readable.from([wav]));
    const [recording] = await insertRecordings(env.sql, campaign.id, [object], 1, day(7));
    const { settings, secrets } = protocols.s3();
    const destinationId = await createDestination(env.sql, env.deps.keyring, { ...settings, path: 'large' }, secrets);
    const jobId = await createJob(env.sql, campaign.id, { destinationId, fileNameTemplate: 'big/${recordingId}.wav' });
    const { result } = await runExport(env, { definitionId: jobId });
    assert.equal(result.exported, 1);
    const key = `large/big/${recording.id}.wav`;
    const s3client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    try {
      const head = await s3client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.match(head.ETag ?? '', /-3"?$/, 'a multipart ETag: three 5 MB parts');
      assert.equal(head.ContentLength, wav.length);
    } finally {
      s3client.destroy();
    }
    const transfer = openTransfer({ ...settings, path: 'large' }, secrets);
    assert.ok((await readAll(transfer, `big/${recording.id}.wav`)).equals(wav));
    const [row] = await readManifest(transfer, result.manifest!);
    assert.equal(row.sha256, createHash('sha256').update(wav).digest('hex'));
    await transfer.close();
  });
});

/** Exactly the expected files (names and bytes) are at the destination, nothing else in their folders. */
async function checkLanded(transfer: ReturnType<typeof openTransfer>, _campaignId: string, calls: Awaited<ReturnType<typeof seedCalls>>) {
  const [rows] = [await env.sql<{ id: string; customer_phone: string; agents: string[]; started_at: Date }[]>`
    select id, customer_phone, agents, started_at from interactions where id = any(${calls.map((c) => c.id)}::bigint[])`];
  const byId = new Map(rows.map((r) => [String(r.id), r]));
  const expected = calls.map((c) => {
    const row = byId.get(c.id)!;
    return { name: defaultName(c, c.recording!.id, row.agents[0], row.started_at), bytes: c.recording!.bytes() };
  });
  const found = await filesIn(transfer, expected.map((e) => dirOf(e.name)));
  assert.deepEqual(found, expected.map((e) => e.name).sort());
  for (const e of expected) assert.ok((await readAll(transfer, e.name)).equals(e.bytes), `${e.name} has the original bytes`);
}

describe('filters', () => {
  it('exports only the chosen dispositions, only voice-signature calls, and agent segments named by the last agent', async () => {
    const campaign = await newCampaign(env.sql);
    const calls = await seedCalls(env.sql, env.deps.store, campaign.id, day(3), [
      { disposition: 'Sale', voiceSignature: true, agents: ['ann', 'ben'] },
      { disposition: 'NoSale', voiceSignature: true },
      { disposition: 'Sale', voiceSignature: false },
      { disposition: 'Callback', voiceSignature: true, agents: ['cid', 'dee', 'eve'] },
    ]);
    const settings: DestinationSettings = { protocol: 'file', path: path.join(fileRoot, 'filters') };
    const destinationId = await createDestination(env.sql, env.deps.keyring, settings);
    const transfer = openTransfer(settings);
    const template = '${contentType}/${interactionId}_${agent}_${segmentAgent}_${recordingId}.wav';
    const complete = await createJob(env.sql, campaign.id, {
      destinationId, dispositions: ['Sale', 'Callback'], voiceSignatureOnly: true, fileNameTemplate: template.replace('${contentType}', 'complete'),
    });
    const segments = await createJob(env.sql, campaign.id, {
      destinationId, contentType: 'agentSegments', dispositions: ['Callback'], fileNameTemplate: template.replace('${contentType}', 'segments'),
    });
    const a = await runExport(env, { definitionId: complete });
    const b = await runExport(env, { definitionId: segments });
    assert.equal(a.result.exported, 2);
    assert.deepEqual(await filesIn(transfer, ['complete']), [
      `complete/${calls[0].id}_ann_ann_${calls[0].recording!.id}.wav`,
      `complete/${calls[3].id}_cid_cid_${calls[3].recording!.id}.wav`,
    ].sort());
    assert.equal(b.result.exported, 3);
    const segs = calls[3].segmentRecordings;
    assert.deepEqual(await filesIn(transfer, ['segments']), ['cid', 'dee', 'eve'].map((agent, i) => `segments/${calls[3].id}_eve_${agent}_${segs[i].id}.wav`).sort());
    assert.ok((await readAll(transfer, `segments/${calls[3].id}_eve_dee_${segs[1].id}.wav`)).equals(segs[1].bytes()));
    await transfer.close();
  });
});

describe('the provider window', () => {
  const LA = 'America/Los_Angeles';
  /** Sets the worker clock so that it reads `local` (in LA) right now. */
  const setClock = (local: DateTime) => { clockOffsetMs = local.toMillis() - Date.now(); };

  it('a run started outside the window waits durably until it opens, then exports', async () => {
    config.EXPORT_WINDOW = `23:00-06:00 ${LA}`;
    setClock(DateTime.fromISO('2025-06-10T22:59:57', { zone: LA }));
    const { jobId, transfer } = await exportSetup('wait', 2);
    const started = Date.now();
    const handle = await startExport(env, { definitionId: jobId });
    await waitFor(async () => /waiting for the export window \(23:00-06:00 America\/Los_Angeles\)/.test((await handle.query<{ step: string }>('runStatus')).step));
    const result = (await handle.result()) as { exported: number };
    assert.equal(result.exported, 2);
    assert.ok(Date.now() - started >= 2000, 'the run waited for 23:00');
    await transfer.close();
  });

  it('inside a window crossing midnight a run exports at once; when the window closes mid-run the remainder goes in the next window', async () => {
    config.EXPORT_WINDOW = `23:00-06:00 ${LA}`;
    setClock(DateTime.fromISO('2025-06-11T01:30:00', { zone: LA })); // after midnight, inside
    const { jobId, transfer, calls } = await exportSetup('closing', 6);
    let reads = 0;
    onContentRead = () => { if (++reads === 3) setClock(DateTime.fromISO('2025-06-11T06:00:01', { zone: LA })); };
    const first = await runExport(env, { definitionId: jobId, batchSize: 2, parallelism: 1 });
    onContentRead = undefined;
    assert.equal(first.result.stoppedBy, 'window-closed');
    assert.equal(first.result.exported, 3, 'the file in flight when the window closed is finished');
    assert.equal((await readWatermark(env.sql, jobId))!.afterContentId, calls[2].recording!.id);

    setClock(DateTime.fromISO('2025-06-11T23:00:00', { zone: LA })); // the next window
    const second = await runExport(env, { definitionId: jobId, batchSize: 2 });
    assert.equal(second.result.exported, 3);
    assert.equal(second.result.stoppedBy, 'drained');
    assert.equal((await readManifest(transfer, second.result.manifest!)).length, 3);
    await transfer.close();
    config.EXPORT_WINDOW = undefined;
    clockOffsetMs = 0;
  });
});

describe('long runs and failures', () => {
  it('continues as new every few batches and still exports each recording once', async () => {
    const { jobId, transfer } = await exportSetup('can', 7);
    const handle = await startExport(env, { definitionId: jobId, batchSize: 2, batchesPerExecution: 2 });
    const result = (await handle.result()) as { exported: number; manifest: string };
    assert.equal(result.exported, 7);
    assert.equal((await readManifest(transfer, result.manifest)).length, 7);
    const latest = await env.client.workflow.getHandle(handle.workflowId).describe();
    assert.notEqual(latest.runId, handle.firstExecutionRunId, 'the run continued as new');
    await transfer.close();
  });

  it('a recording whose content is missing is reported in the manifest and the result, and the rest are exported', async () => {
    const { jobId, transfer, calls } = await exportSetup('missing', 3);
    await env.deps.store.remove(calls[1].recording!.storeKey);
    const { result, runId } = await runExport(env, { definitionId: jobId });
    assert.equal(result.exported, 2);
    assert.equal(result.failed, 1);
    assert.match(result.errors.join(), /missing from the content store/);
    const manifest = await readManifest(transfer, result.manifest!);
    assert.deepEqual(manifest.map((r) => r.result).sort(), ['exported', 'exported', 'failed']);
    assert.equal((await readWatermark(env.sql, jobId))!.afterContentId, calls[2].recording!.id);
    const [run] = await env.sql`select status, error from runs where run_id = ${runId}`;
    assert.equal(run.status, 'completed');
    assert.match(run.error, /1 recording\(s\) could not be exported/);

    // Not retried by itself: the next run (nothing new) exports nothing.
    const idle = await runExport(env, { definitionId: jobId });
    assert.deepEqual([idle.result.exported, idle.result.failed], [0, 0]);
    // The administrator restores the content (PUT /interactions/{id}/recording keeps the row and its completion
    // time) and moves completedAfter back before it: only that recording goes again, not the exported ones.
    const restored = await env.deps.store.put(Readable.from([calls[1].recording!.bytes()]));
    await env.sql`update interaction_content set store_key = ${restored.key} where id = ${calls[1].recording!.id}`;
    await env.sql`update job_definitions set state = jsonb_set(state, '{watermark}', ${env.sql.json(initialWatermark('2025-01-01T00:00:00Z') as never)}) where id = ${jobId}`;
    const again = await runExport(env, { definitionId: jobId });
    assert.equal(again.result.exported, 1);
    assert.equal(again.result.failed, 0);
    const relisted = await readManifest(transfer, again.result.manifest!);
    assert.deepEqual(relisted.map((r) => [r.recording_id, r.result]), [[calls[1].recording!.id, 'exported']]);
    assert.ok((await readAll(transfer, relisted[0].file_path)).equals(calls[1].recording!.bytes()));
    assert.deepEqual((await env.sql`select result, run_id from recording_exports where job_id = ${jobId} order by content_id`).map((r) => r.result), ['exported', 'exported', 'exported']);
    await transfer.close();
  });

  it('in a parallel batch, files finished after an earlier one failed are sent again by the retry and recorded and listed once', async () => {
    const { jobId, transfer, calls, root } = await exportSetup('parallel-retry', 6);
    const reads = new Map<string, number>();
    const flaky = calls[1].recording!.storeKey;
    onContentRead = async (key) => {
      reads.set(key, (reads.get(key) ?? 0) + 1);
      if (key === flaky && reads.get(key) === 1) {
        await new Promise((r) => setTimeout(r, 400)); // the others finish first
        throw new Error('connection to the content store reset');
      }
    };
    const { result } = await runExport(env, { definitionId: jobId, batchSize: 6, parallelism: 3 });
    onContentRead = undefined;
    assert.equal(result.exported, 6);
    assert.equal(reads.get(calls[4].recording!.storeKey), 2, 'a file after the failed one was sent by both attempts');
    const manifest = await readManifest(transfer, result.manifest!);
    assert.equal(manifest.length, 6);
    assert.equal(new Set(manifest.map((r) => r.file_path)).size, 6, 'no file is listed twice');
    const records = await env.sql`select content_id from recording_exports where job_id = ${jobId}`;
    assert.deepEqual(records.map((r) => String(r.content_id)).sort(), calls.map((c) => c.recording!.id).sort());
    assert.deepEqual((await filesUnder(root)).filter((f) => f.endsWith('.wav')).sort(), manifest.map((r) => r.file_path).sort());
    assert.deepEqual((await filesUnder(root)).filter((f) => f.endsWith('.part')), []);
    await transfer.close();
  });

  it('a run cancelled mid-batch still uploads a manifest listing exactly the files it exported', async () => {
    const { jobId, transfer, root } = await exportSetup('cancelled', 12);
    let reads = 0;
    onContentRead = async () => { reads++; await new Promise((r) => setTimeout(r, 150)); };
    const handle = await startExport(env, { definitionId: jobId, batchSize: 4, parallelism: 2 });
    await waitFor(async () => reads >= 5);
    await handle.cancel();
    await assert.rejects(handle.result(), (err: Error) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
    onContentRead = undefined;
    const [run] = await env.sql`select status, result from runs where run_id = ${handle.workflowId}`;
    assert.equal(run.status, 'cancelled');
    assert.ok(run.result.manifest, 'the cancelled run names its manifest');
    const manifest = await readManifest(transfer, run.result.manifest);
    const records = await env.sql<{ path: string }[]>`select path from recording_exports where job_id = ${jobId} and run_id = ${handle.workflowId}`;
    const exported = (await filesUnder(root)).filter((f) => f.endsWith('.wav')).sort();
    assert.ok(exported.length >= 4 && exported.length < 12, `some but not all files went (${exported.length})`);
    assert.deepEqual(manifest.map((r) => r.file_path).sort(), exported);
    assert.deepEqual(records.map((r) => r.path).sort(), exported);
    assert.ok(manifest.every((r) => r.result === 'exported'));
    assert.deepEqual((await filesUnder(root)).filter((f) => f.endsWith('.part')), []);
    await transfer.close();
  });

  it('a destination with wrong credentials fails the run with a clear error and leaves the watermark alone', async () => {
    const campaign = await newCampaign(env.sql);
    await seedCalls(env.sql, env.deps.store, campaign.id, day(5), [{}]);
    const destinationId = await createDestination(env.sql, env.deps.keyring,
      { protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, path: sshd.rootDir }, { privateKey: sshd.unauthorizedPrivateKey });
    const jobId = await createJob(env.sql, campaign.id, { destinationId });
    const before = await readWatermark(env.sql, jobId);
    const handle = await startExport(env, { definitionId: jobId });
    await assert.rejects(handle.result(), (err: Error & { cause?: Error & { cause?: Error } }) => {
      assert.match(err.cause?.cause?.message ?? err.message, /destination (auth|connect) failed: /);
      return true;
    });
    assert.deepEqual(await readWatermark(env.sql, jobId), before);
    const [run] = await env.sql`select status, error from runs where run_id = ${handle.workflowId}`;
    assert.equal(run.status, 'failed');
    assert.match(run.error, /auth/);
  });
});

async function exportSetup(name: string, count: number) {
  const campaign = await newCampaign(env.sql);
  const calls = await seedCalls(env.sql, env.deps.store, campaign.id, day(6), Array.from({ length: count }, () => ({})));
  const root = path.join(fileRoot, name);
  const settings: DestinationSettings = { protocol: 'file', path: root };
  const destinationId = await createDestination(env.sql, env.deps.keyring, settings);
  const jobId = await createJob(env.sql, campaign.id, { destinationId });
  return { jobId, calls, root, transfer: openTransfer(settings) };
}


async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

