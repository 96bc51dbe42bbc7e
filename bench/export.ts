// Recording export: 2,000 recordings of ~200 KB and 200 of ~5 MB (8 distinct encrypted objects shared by all
// rows, as in the scale test) exported by the recordingExport workflow to SFTP and to S3, against OpenSSH
// `sftp -b` putting the same decrypted files and a plain parallel PutObject loop with the same concurrency.
// Peak worker RSS per size. The worker exports a few recordings elsewhere first (untimed), as a long-running
// worker has: its workflow isolate and the destination's client library loaded.
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { makeWav } from '../lib/generator/index.js';
import { createTestEnv, type TestEnv } from '../test/harness/env.js';
import type { S3Server, SshdServer } from '../test/harness/servers/index.js';
import { createDestination, createJob, insertRecordings, newCampaign, startExport } from '../test/recording-export-helpers.js';
import type { RecordingExportResult } from '../contracts/recording-export.js';
import { count, fmt, MB, peakRss, plainFigure, scaled, throughputFigure, timed, workerReady, type BenchContext, type Figure, distinctCampaignIds } from './lib.js';
import { runProfile } from './profile.js';
import { sftpBatch } from './sftp.js';

const PARALLELISM = 8;
const WARM_UP_RECORDINGS = 16;

/** The two shapes: many small recordings (per-file costs) and fewer large ones (bytes). 8 kHz 16-bit mono. */
const SHAPES = [
  { recordings: 2000, min: 20, wavMs: 12_800 },    // ~200 KB
  { recordings: 200, min: 20, wavMs: 327_680 },    // ~5 MB
] as const;

interface Run { seconds: number; rss: number; idleRss: number; bytes: number; profile: string }

type StoredObjects = Awaited<ReturnType<TestEnv['deps']['store']['put']>>[];

async function exportJob(env: TestEnv, destinationId: string, recordings: number, objects: StoredObjects): Promise<string> {
  const campaign = await newCampaign(env.sql);
  await insertRecordings(env.sql, campaign.id, objects, recordings, new Date('2025-09-01T10:00:00Z'));
  return createJob(env.sql, campaign.id, { destinationId, fileNameTemplate: 'ours/${recordingId}.wav' });
}

async function ours(env: TestEnv, destinations: { timed: string; warmUp: string }, recordings: number, objects: StoredObjects): Promise<Run> {
  const jobId = await exportJob(env, destinations.timed, recordings, objects);
  const warmUpJobId = await exportJob(env, destinations.warmUp, WARM_UP_RECORDINGS, objects);
  const worker = await env.spawnWorker();
  const idleRss = await workerReady(worker);
  const warmUp = (await (await startExport(env, { definitionId: warmUpJobId, batchSize: 200, parallelism: PARALLELISM })).result()) as RecordingExportResult;
  if (warmUp.exported !== WARM_UP_RECORDINGS) throw new Error(`warm-up export: ${warmUp.exported} of ${WARM_UP_RECORDINGS} exported`);
  let workflowId = '';
  const { seconds, value } = await timed(async () => {
    const handle = await startExport(env, { definitionId: jobId, batchSize: 200, parallelism: PARALLELISM, batchesPerExecution: 20 });
    workflowId = handle.workflowId;
    return (await handle.result()) as RecordingExportResult;
  });
  const rss = await peakRss(worker.pid!);
  worker.kill('SIGTERM');
  await new Promise((resolve) => worker.once('exit', resolve));
  if (value.exported !== recordings || value.failed !== 0) throw new Error(`export: ${value.exported} exported, ${value.failed} failed of ${recordings}`);
  return { seconds, rss, idleRss, bytes: value.sizeBytes, profile: await runProfile(env.client, workflowId) };
}

/** The decrypted files the baselines upload: hard links to the 8 distinct WAVs, one name per recording. */
async function plainFiles(dir: string, wavs: Buffer[], recordings: number): Promise<string[]> {
  const originals = await Promise.all(wavs.map(async (wav, i) => {
    const file = path.join(dir, `original-${i}.wav`);
    await writeFile(file, wav);
    return file;
  }));
  await mkdir(path.join(dir, 'files'));
  const files: string[] = [];
  for (let i = 0; i < recordings; i++) {
    const file = path.join(dir, 'files', `${i}.wav`);
    await link(originals[i % originals.length], file);
    files.push(file);
  }
  return files;
}

async function sftpBaseline(sshd: SshdServer, dir: string, files: string[]): Promise<number> {
  const remote = path.posix.join(sshd.rootDir, `baseline-${randomBytes(3).toString('hex')}`);
  const commands = [`mkdir ${remote}`, ...files.map((f) => `put ${f} ${remote}/${path.basename(f)}`)];
  return (await timed(() => sftpBatch(sshd, dir, commands))).seconds;
}

async function s3Baseline(s3: S3Server, bucket: string, files: string[]): Promise<number> {
  const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  try {
    return (await timed(async () => {
      let next = 0;
      await Promise.all(Array.from({ length: PARALLELISM }, async () => {
        while (next < files.length) {
          const file = files[next++];
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: `baseline/${path.basename(file)}`, Body: await readFile(file) }));
        }
      }));
    })).seconds;
  } finally {
    client.destroy();
  }
}

export async function exportBenchmark(ctx: BenchContext, sshd: SshdServer, s3: S3Server): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const shape of SHAPES) figures.push(...await exportShape(ctx, sshd, s3, scaled(ctx, shape.recordings, shape.min), shape.wavMs));
  return figures;
}

async function exportShape(ctx: BenchContext, sshd: SshdServer, s3: S3Server, recordings: number, wavMs: number): Promise<Figure[]> {
  const env = await createTestEnv();
  await distinctCampaignIds(env.sql);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-export-'));
  const sftpRoot = path.join(sshd.rootDir, `export-${randomBytes(3).toString('hex')}`);
  try {
    const wavs = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => makeWav({ seed, durationMs: wavMs }));
    const objects = await Promise.all(wavs.map((wav) => env.deps.store.put(Readable.from([wav]))));
    const files = await plainFiles(dir, wavs, recordings);
    const size = `${count(recordings)} × ${wavs[0].length >= MB ? `${fmt(wavs[0].length / MB, 0)} MB` : `${fmt(wavs[0].length / 1024, 0)} KB`}`;
    const mbOf = (bytes: number) => bytes / MB;
    const totalBytes = wavs.reduce((n, w, i) => n + w.length * Math.ceil((recordings - i) / wavs.length), 0);

    await mkdir(sftpRoot);
    const sftpDestination = (folder: string) => createDestination(env.sql, env.deps.keyring,
      { protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, path: path.join(sftpRoot, folder) }, { privateKey: sshd.privateKey });
    const sftpDest = { timed: await sftpDestination('timed'), warmUp: await sftpDestination('warm-up') };
    ctx.log(`export: ${size} to SFTP`);
    const oSftp = await ours(env, sftpDest, recordings, objects);
    const bSftp = await sftpBaseline(sshd, dir, files);

    const bucket = `bench-${randomBytes(4).toString('hex')}`;
    await s3.createBucket(bucket);
    const s3Destination = (prefix: string) => createDestination(env.sql, env.deps.keyring,
      { protocol: 's3', bucket, region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, path: prefix }, { accessKeyId: s3.accessKeyId, password: s3.secretAccessKey });
    const s3Dest = { timed: await s3Destination('timed'), warmUp: await s3Destination('warm-up') };
    ctx.log(`export: ${size} to S3`);
    const oS3 = await ours(env, s3Dest, recordings, objects);
    const bS3 = await s3Baseline(s3, bucket, files);

    const mbps = (seconds: number) => mbOf(totalBytes) / seconds;
    return [
      throughputFigure({
        benchmark: 'Recording export → SFTP (throughput)', size, ours: mbps(oSftp.seconds), baseline: mbps(bSftp), unit: 'MB/s', atLeast: 1, goal: '≥ 1.0×',
        notes: `ours ${fmt(oSftp.seconds)} s (parallelism ${PARALLELISM}, decrypting, manifest, watermark); baseline OpenSSH sftp -b ${fmt(bSftp)} s, one session. Where ours went: ${oSftp.profile}`,
      }),
      throughputFigure({
        benchmark: 'Recording export → S3 (throughput)', size, ours: mbps(oS3.seconds), baseline: mbps(bS3), unit: 'MB/s', atLeast: 1, goal: '≥ 1.0×',
        notes: `ours ${fmt(oS3.seconds)} s; baseline parallel PutObject loop (concurrency ${PARALLELISM}) ${fmt(bS3)} s. Where ours went: ${oS3.profile}`,
      }),
      plainFigure({
        benchmark: 'Recording export: peak worker RSS', size, ours: Math.max(oSftp.rss, oS3.rss) / MB, unit: 'MB', goal: 'flat as the count grows', met: null,
        notes: `SFTP run ${fmt(oSftp.rss / MB, 0)} MB, S3 run ${fmt(oS3.rss / MB, 0)} MB (idle ${fmt(oSftp.idleRss / MB, 0)} MB); compare the two sizes`,
      }),
    ];
  } finally {
    await rm(sftpRoot, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
    await env.stop();
  }
}
