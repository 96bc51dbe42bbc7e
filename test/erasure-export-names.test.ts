// Erasure covers the names the platform wrote (issue 21): a recording export whose file-name template holds
// `${customerPhone}` stores names with the phone number in recording_exports (path, location: the rows a
// run's manifest is made from), in interaction_content (the playback copy) and in the erasure journal. After
// an erasure of the interaction's recordings no row of the database holds the phone number in any column but
// the interaction's own metadata (customer_phone, kept by design); the export rows keep their run id and a
// keyed hash instead; the playback copy named with the phone is removed; another interaction's names and a
// non-playback export's delivered file are left as they are; the audit end entry says how many were scrubbed.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { openTransfer, type DestinationSecrets, type DestinationSettings, type Transfer } from '../lib/transfer/index.js';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startS3, type S3Server } from './harness/servers/index.js';
import { createDestination, createJob, newCampaign, readAll, runExport, seedCalls } from './recording-export-helpers.js';

let env: TestEnv;
let api: Api;
let s3: S3Server;
let playback: Transfer;
const BUCKET = `names-${randomBytes(3).toString('hex')}`;

before(async () => {
  [env, s3] = await Promise.all([createTestEnv(), startS3()]);
  await s3.createBucket(BUCKET);
  api = await startApi(env);
  await env.startWorker();
});

after(async () => {
  await playback?.close();
  await api?.close();
  await env?.stop();
  await s3?.stop();
});

async function exists(file: string): Promise<boolean> {
  return readAll(playback, file).then(() => true, () => false);
}

/** Every text or JSON column of every table holding `needle`, except the columns that are a phone number by
 *  design (the interaction's metadata, kept by an erasure). */
async function rowsHolding(needle: string): Promise<string[]> {
  const columns = await env.sql<{ table_name: string; column_name: string }[]>`
    select c.table_name, c.column_name from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
    where c.table_schema = current_schema() and c.data_type in ('text', 'jsonb', 'json', 'character varying', 'ARRAY')
      and c.column_name not like '%phone%'
    order by 1, 2`;
  const found: string[] = [];
  for (const { table_name, column_name } of columns) {
    const [row] = await env.sql<{ n: number }[]>`
      select count(*)::int as n from ${env.sql(table_name)} where ${env.sql(column_name)}::text like ${`%${needle}%`}`;
    if (row.n) found.push(`${table_name}.${column_name} (${row.n})`);
  }
  return found;
}

test('after an erasure no row holds the phone number in an exported name; the playback copy named with it is gone', async () => {
  const campaign = await newCampaign(env.sql);
  const [erased, kept] = await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2025-05-01T14:00:00Z'), [{}, {}]);
  const phoneOf = async (id: string) => (await env.sql<{ customer_phone: string }[]>`select customer_phone from interactions where id = ${id}`)[0].customer_phone;
  // The digits only: a template may render the number without its "+".
  const [erasedPhone, keptPhone] = [(await phoneOf(erased.id)).replace(/\D/g, ''), (await phoneOf(kept.id)).replace(/\D/g, '')];
  assert.notEqual(erasedPhone, keptPhone);

  const root = path.join(process.env.FILE_DESTINATION_ROOT!, `names-${randomBytes(3).toString('hex')}`);
  const deliveryDir = path.join(root, 'delivery');
  await mkdir(deliveryDir, { recursive: true });
  const template = 'calls/${customerPhone}_${recordingId}.wav';
  // Playback copies are registered from s3 destinations (a delivery to a file destination is not registered).
  const settings: DestinationSettings = { protocol: 's3', bucket: BUCKET, endpoint: s3.endpoint, region: s3.region, username: s3.accessKeyId, path: 'playback' };
  const secrets: DestinationSecrets = { password: s3.secretAccessKey };
  playback = openTransfer(settings, secrets);
  const playbackJob = await createJob(env.sql, campaign.id, {
    destinationId: await createDestination(env.sql, env.deps.keyring, settings, secrets), useForPlayback: true, fileNameTemplate: template,
  });
  const deliveryJob = await createJob(env.sql, campaign.id, {
    destinationId: await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: deliveryDir }), fileNameTemplate: template,
  });
  await runExport(env, { definitionId: playbackJob });
  await runExport(env, { definitionId: deliveryJob });

  const exportedNames = await env.sql<{ job_id: string; content_id: string; run_id: string; path: string; location: string }[]>`
    select re.job_id, re.content_id, re.run_id, re.path, re.location from recording_exports re
    join interaction_content ic on ic.id = re.content_id where ic.interaction_id = ${erased.id} and re.result = 'exported'`;
  assert.ok(exportedNames.length >= 2 && exportedNames.every((r) => r.path.includes(erasedPhone)), 'the names carry the phone number');
  const playbackFiles = exportedNames.filter((r) => String(r.job_id) === String(playbackJob)).map((r) => r.path);
  const deliveredFiles = exportedNames.filter((r) => String(r.job_id) === String(deliveryJob)).map((r) => path.join(deliveryDir, r.path));
  assert.ok(playbackFiles.length > 0);
  for (const file of playbackFiles) assert.equal(await exists(file), true, file);
  const [registered] = await env.sql<{ n: number }[]>`select count(*)::int as n from interaction_content where interaction_id = ${erased.id} and exported_path like ${`%${erasedPhone}%`}`;
  assert.ok(registered.n > 0, 'the playback copies are registered under their names');
  assert.ok((await rowsHolding(erasedPhone)).length > 0, 'before the erasure the names are found');

  const preview = await api.call('POST', '/erasures/preview', {
    body: { campaignId: campaign.id, interactionIds: [erased.id], items: ['voice-recording'], reason: 'names test' },
  });
  assert.equal(preview.status, 200, JSON.stringify(preview.json));
  const started = await api.call('POST', '/erasures', { body: { previewId: preview.json.previewId, confirm: true } });
  assert.equal(started.status, 202, JSON.stringify(started.json));
  const result = await env.client.workflow.getHandle(started.json.runId).result() as { verified: boolean };
  assert.equal(result.verified, true);

  assert.deepEqual(await rowsHolding(erasedPhone), [], 'no row holds the erased phone number outside the interaction\'s metadata');
  for (const file of playbackFiles) assert.equal(await exists(file), false, 'the playback copy named with the phone number is removed');
  assert.ok(deliveredFiles.every((f) => existsSync(f)), 'a delivered (non-playback) file is not the erasure\'s to remove or rename');
  const after = await env.sql<{ job_id: string; content_id: string; run_id: string; path: string; location: string | null }[]>`
    select job_id, content_id, run_id, path, location from recording_exports
    where (job_id, content_id) in (select job_id, content_id from recording_exports re join interaction_content ic on ic.id = re.content_id where ic.interaction_id = ${erased.id})`;
  assert.equal(after.length, exportedNames.length);
  for (const row of after) {
    const before = exportedNames.find((r) => r.job_id === row.job_id && r.content_id === row.content_id)!;
    assert.equal(row.run_id, before.run_id, 'the export run id is kept as the reference');
    assert.match(row.path, /^erased:[A-Za-z0-9_-]+:[0-9a-f]{32}$/);
    assert.match(row.location ?? '', /^erased:[A-Za-z0-9_-]+:[0-9a-f]{32}$/);
  }
  assert.ok((await rowsHolding(keptPhone)).some((c) => c.startsWith('recording_exports.path')), 'the other interaction\'s names are left as they were');

  const audit = await api.call('GET', `/audit-log?action=erasure.completed`);
  const entry = audit.json.items.find((e: { runId: string }) => e.runId === started.json.runId);
  assert.deepEqual(entry.scope.exportedFileNames, { scrubbed: exportedNames.length, filesRenamedOrRemoved: 'registered playback copies only' });
});
