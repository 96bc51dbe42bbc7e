// A recording export never keeps a name built from the file-name template where no erasure reaches it (issue
// 21): a failed item is reported in the run's result by its content and interaction id, not its file name; a
// destination error of an item (kept in Temporal history) carries no name either; and a batch committing after an erasure of
// one of its recordings has finished (read-back included) stores that recording's row with the scrubbed name,
// the erasure's own form. The erasure runs to its end while the batch waits to read the next recording's
// content, after the first file is at the destination and before the batch's commit.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, it } from 'node:test';
import type { ContentStore } from '../lib/content-store/types.js';
import { scrubbedName } from '../lib/erasure/export-names.js';
import { ERASED_DURING_EXPORT } from '../lib/export/queries.js';
import { openTransfer } from '../lib/transfer/index.js';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { until } from './harness/wait.js';
import { createDestination, createJob, newCampaign, runExport, seedCalls, startExport } from './recording-export-helpers.js';

let env: TestEnv;
let api: Api;
let onContentRead: ((key: string) => Promise<void>) | undefined;
const TEMPLATE = 'calls/${customerPhone}_${recordingId}.wav';

before(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  const store: ContentStore = { ...env.deps.store, get: async (key) => { await onContentRead?.(key); return env.deps.store.get(key); } };
  await env.startWorker({ deps: { store } });
});

after(async () => {
  await api?.close();
  await env?.stop();
});

async function fileJob(calls: number, start: string, template = TEMPLATE) {
  const campaign = await newCampaign(env.sql);
  const seeded = await seedCalls(env.sql, env.deps.store, campaign.id, new Date(start), Array.from({ length: calls }, () => ({})));
  const dir = path.join(process.env.FILE_DESTINATION_ROOT!, `names-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const settings = { protocol: 'file' as const, path: dir };
  const jobId = await createJob(env.sql, campaign.id, { destinationId: await createDestination(env.sql, env.deps.keyring, settings), fileNameTemplate: template });
  const phones = await Promise.all(seeded.map(async (c) => (await env.sql<{ p: string }[]>`select customer_phone as p from interactions where id = ${c.id}`)[0].p));
  // The digits alone are searched for: they are in the name however the number is written.
  return { campaignId: campaign.id, calls: seeded, phones, digits: phones.map((p) => p.replace(/\D/g, '')), jobId, dir, transfer: openTransfer(settings, {}) };
}

it('a failed item is reported by its content and interaction id, never by its file name', async () => {
  const { calls, digits, jobId, transfer } = await fileJob(2, '2025-07-01T14:00:00Z');
  await env.deps.store.remove(calls[0].recording!.storeKey);
  const { result, runId } = await runExport(env, { definitionId: jobId });
  assert.deepEqual([result.exported, result.failed], [1, 1]);
  assert.deepEqual(result.errors, [`recording ${calls[0].recording!.id} (interaction ${calls[0].id}): the recording is missing from the content store (erased or lost); it cannot be exported`]);
  const [run] = await env.sql`select result::text as result, error from runs where run_id = ${runId}`;
  assert.ok(run.result.includes(`recording ${calls[0].recording!.id}`), run.result);
  assert.ok(!run.result.includes(digits[0]) && !run.result.includes(digits[1]), `no phone number in the run's result: ${run.result}`);
  await transfer.close();
});

it('a destination error of an item does not carry its file name into Temporal history', async () => {
  const { phones, digits, jobId, dir, transfer } = await fileJob(1, '2025-07-02T14:00:00Z', '${customerPhone}/r_${recordingId}.wav');
  // A file where the recording's folder (named with the customer's phone number) should be: every attempt of
  // the batch fails on it, with the folder's path in the file system's message.
  await writeFile(path.join(dir, phones[0]), 'in the way');
  const handle = await startExport(env, { definitionId: jobId });
  try {
    const failure = await until('a failed attempt of the batch', async () => {
      const described = await handle.describe();
      return described.raw.pendingActivities?.find((a) => a.lastFailure?.message)?.lastFailure;
    });
    const messages = [failure.message, failure.cause?.message].filter(Boolean).join(' | ');
    assert.match(messages, /<customerPhone>/, 'the folder is named by its placeholder');
    assert.ok(!messages.includes(digits[0]), messages);
  } finally {
    await handle.terminate('test done');
  }
  await transfer.close();
});

it('a batch committing after an erasure of one of its recordings finished stores that row with the scrubbed name', async () => {
  const { campaignId, calls: [erased, kept], phones, digits, jobId, transfer } = await fileJob(2, '2025-07-03T14:00:00Z');
  const erasedPath = `calls/${phones[0]}_${erased.recording!.id}.wav`;
  let verified: boolean | undefined;
  onContentRead = async (key) => {
    if (key !== kept.recording!.storeKey) return;
    onContentRead = undefined;
    // The first file is at the destination, its record not committed: the erasure runs to its end now.
    const preview = await api.call('POST', '/erasures/preview', {
      body: { campaignId, interactionIds: [erased.id], items: ['voice-recording'], reason: 'names race' },
    });
    assert.equal(preview.status, 200, JSON.stringify(preview.json));
    const started = await api.call('POST', '/erasures', { body: { previewId: preview.json.previewId, confirm: true } });
    assert.equal(started.status, 202, JSON.stringify(started.json));
    verified = ((await env.client.workflow.getHandle(started.json.runId).result()) as { verified: boolean }).verified;
    const [none] = await env.sql`select count(*)::int as n from recording_exports where job_id = ${jobId}`;
    assert.equal(none.n, 0, 'the erasure finished before the batch recorded anything');
  };
  const { result } = await runExport(env, { definitionId: jobId, batchSize: 10, parallelism: 1 });
  onContentRead = undefined;
  assert.equal(verified, true);
  assert.deepEqual([result.exported, result.failed], [1, 1]);
  assert.ok(result.errors.every((e) => !e.includes(digits[0])), result.errors.join());

  const [row] = await env.sql`select path, location, result, error from recording_exports where job_id = ${jobId} and content_id = ${erased.recording!.id}`;
  assert.deepEqual({ ...row }, { path: scrubbedName(env.deps.keyring, erasedPath), location: null, result: 'failed', error: ERASED_DURING_EXPORT });
  const holding = await env.sql`select content_id from recording_exports where path like ${`%${digits[0]}%`} or error like ${`%${digits[0]}%`}`;
  assert.equal(holding.length, 0, 'no export row holds the erased call\'s phone number');
  const [other] = await env.sql`select path, result from recording_exports where job_id = ${jobId} and content_id = ${kept.recording!.id}`;
  assert.deepEqual({ ...other }, { path: `calls/${phones[1]}_${kept.recording!.id}.wav`, result: 'exported' }, 'the other recording keeps its name');
  await transfer.close();
});
