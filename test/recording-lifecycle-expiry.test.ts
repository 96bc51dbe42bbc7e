// Storage time (API.md "Recording lifecycle"): with RECORDING_STORAGE_DAYS set, the content-expiry run removes
// content completed before the storage time from the content store and clears its pointer, keeps everything
// newer, keeps the metadata (sizes, checksums, interactions), records expiredAt per content kind, writes no audit
// entry, and counts exactly; its schedule has one fixed id and shows in the task views; an export run that meets
// an expired recording reports it as expired, not failed; an expired recording without an S3 copy is 410.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '@temporalio/client';
import { createContentExpiryActivities } from '../activities/content-expiry.js';
import { createDataConverterOptions } from '../lib/crypto/payload-codec.js';
import { keyringOf } from '../lib/crypto/keys.js';
import { ensureContentExpirySchedule } from '../lib/lifecycle/schedule.js';
import { CONTENT_EXPIRY_SCHEDULE_ID, CONTENT_EXPIRY_WORKFLOW, type ContentExpiryInput, type ContentExpiryResult } from '../contracts/content-expiry.js';
import { runSearchAttributes } from '../contracts/search-attributes.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { testScratchDir } from './harness/scratch.js';
import { addInteraction, newCampaign, startApi, type Api } from './erasure-fixtures.js';
import { createDestination, createJob, readManifest, runExport } from './recording-export-helpers.js';
import { openDestination } from '../lib/destinations.js';
import type { InsertedInteraction } from '../lib/generator/index.js';

const DAYS = 30;
let env: TestEnv;
let api: Api;

before(async () => {
  env = await createTestEnv({ env: { RECORDING_STORAGE_DAYS: String(DAYS) } });
  api = await startApi(env);
  await env.startWorker();
});

after(async () => {
  await env?.client.schedule.getHandle(CONTENT_EXPIRY_SCHEDULE_ID).delete().catch(() => undefined);
  await api?.close();
  await env?.stop();
});

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

interface Row { id: string; interaction_id: string; kind: string; segment: number | null; store_key: string | null; size_bytes: string | null; sha256: string | null; expired_at: Date | null; expired_run: string | null }

async function contentOf(campaignId: string): Promise<Row[]> {
  return env.sql<Row[]>`
    select c.id, c.interaction_id, c.kind, c.segment, c.store_key, c.size_bytes, c.sha256, c.expired_at, c.expired_run
    from interaction_content c join interactions i on i.id = c.interaction_id where i.campaign_id = ${campaignId} order by c.id`;
}

async function expire(input: ContentExpiryInput = {}): Promise<{ runId: string; result: ContentExpiryResult }> {
  const handle = await env.client.workflow.start(CONTENT_EXPIRY_WORKFLOW, {
    taskQueue: env.taskQueue, workflowId: `content-expiry-test-${randomBytes(3).toString('hex')}`, args: [input],
    typedSearchAttributes: runSearchAttributes({ kind: 'content-expiry', triggeredBy: 'test' }),
  });
  return { runId: handle.workflowId, result: await handle.result() as ContentExpiryResult };
}

test('content past the storage time is removed, newer content kept, metadata kept, counted exactly, no audit entry', async () => {
  const campaignId = await newCampaign(env);
  const oldCalls: InsertedInteraction[] = [];
  for (let i = 0; i < 4; i++) oldCalls.push(await addInteraction(env, campaignId, 'voice', daysAgo(DAYS + 5 + i)));
  const oldChat = await addInteraction(env, campaignId, 'chat', daysAgo(DAYS + 1));
  const newCall = await addInteraction(env, campaignId, 'voice', daysAgo(DAYS - 2));
  const newChat = await addInteraction(env, campaignId, 'chat', daysAgo(1));
  const before = await contentOf(campaignId);
  const oldIds = new Set([...oldCalls, oldChat].map((c) => c.id));
  const old = before.filter((r) => oldIds.has(r.interaction_id));
  const kept = before.filter((r) => !oldIds.has(r.interaction_id));
  assert.ok(old.length >= 4 * 3 + 1 && kept.length >= 4, `seeded ${old.length} old and ${kept.length} new items`);
  assert.ok(old.some((r) => r.kind === 'chat-transcript') && old.some((r) => r.segment !== null), 'every kind is seeded');
  const audit = await env.sql<{ n: string }[]>`select count(*) as n from audit_log`;
  const interactions = await env.sql<{ n: string }[]>`select count(*) as n from interactions where campaign_id = ${campaignId}`;

  const { runId, result } = await expire({ batchSize: 4 });

  assert.equal(result.storageDays, DAYS);
  assert.equal(result.expired, old.length, 'every old item, counted once');
  const after = await contentOf(campaignId);
  for (const row of after) {
    const was = before.find((b) => b.id === row.id)!;
    assert.equal(row.size_bytes, was.size_bytes, 'size kept');
    assert.equal(row.sha256, was.sha256, 'checksum kept');
    if (oldIds.has(row.interaction_id)) {
      assert.equal(row.store_key, null, `content ${row.id} (${row.kind}) expired`);
      assert.ok(row.expired_at);
      assert.equal(row.expired_run, runId);
      assert.equal(await env.deps.store.exists(was.store_key!), false, `object of content ${row.id} is gone`);
    } else {
      assert.equal(row.store_key, was.store_key, `content ${row.id} is kept`);
      assert.equal(row.expired_at, null);
      assert.equal(await env.deps.store.exists(was.store_key!), true);
    }
  }
  const byKind: Record<string, number> = {};
  for (const r of old) byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
  assert.deepEqual(result.byKind, byKind);
  assert.deepEqual(await env.sql`select count(*) as n from audit_log`, audit, 'expiry is not erasure: no audit entry');
  assert.deepEqual(await env.sql`select count(*) as n from interactions where campaign_id = ${campaignId}`, interactions, 'interactions kept');
  const [run] = await env.sql<{ status: string; type: string }[]>`select status, type from runs where run_id = ${runId}`;
  assert.deepEqual({ ...run }, { status: 'completed', type: 'content-expiry' });

  // The interaction shows when each kind expired.
  const shown = await api.call('GET', `/interactions/${oldCalls[0].id}`);
  assert.equal(shown.status, 200);
  assert.equal(shown.json.content['voice-recording'].present, false);
  assert.ok(shown.json.content['voice-recording'].expiredAt);
  assert.ok(shown.json.content['voice-transcript'].expiredAt);
  assert.ok(shown.json.segments[0].recording.expiredAt);
  assert.equal(shown.json.content['voice-recording'].sizeBytes, Number(old.find((r) => r.interaction_id === oldCalls[0].id && r.kind === 'voice-recording' && r.segment === null)!.size_bytes));
  const fresh = await api.call('GET', `/interactions/${newCall.id}`);
  assert.equal(fresh.json.content['voice-recording'].present, true);
  assert.equal(fresh.json.content['voice-recording'].expiredAt, undefined);
  assert.equal((await api.call('GET', `/interactions/${newChat.id}`)).json.content['chat-transcript'].present, true);

  // Expired without a playback copy: 410 saying why; the new one still plays.
  const gone = await fetch(`${api.base}/interactions/${oldCalls[0].id}/recording`, { headers: { authorization: `Bearer ${api.adminKey}` } });
  assert.equal(gone.status, 410);
  const problem = await gone.json() as { type: string; detail: string };
  assert.equal(problem.type, 'urn:cc-jobs:problem:recording-expired');
  assert.match(problem.detail, /storage time/);
  assert.equal((await fetch(`${api.base}/interactions/${newCall.id}/recording`, { headers: { authorization: `Bearer ${api.adminKey}` } })).status, 200);

  // A second run finds nothing left.
  const again = await expire({ batchSize: 4 });
  assert.equal(again.result.expired, 0);
});

test('an export run meeting an expired recording reports it as expired, not failed', async () => {
  const campaignId = await newCampaign(env);
  const oldCall = await addInteraction(env, campaignId, 'voice', daysAgo(DAYS + 3));
  const newCall = await addInteraction(env, campaignId, 'voice', daysAgo(2));
  const dir = path.join(testScratchDir(), `expiry-export-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: dir });
  const job = await createJob(env.sql, campaignId, { destinationId }, daysAgo(DAYS + 10));
  await expire();

  const { result } = await runExport(env, { definitionId: job });
  assert.equal(result.exported, 1);
  assert.equal(result.failed, 0, 'an expired recording is no failure');
  assert.equal(result.expired, 1);
  assert.deepEqual(result.errors, []);
  const transfer = await openDestination(env.sql, env.deps.keyring, destinationId);
  try {
    const rows = await readManifest(transfer, result.manifest!);
    const byInteraction = Object.fromEntries(rows.map((r) => [r.interaction_id, r]));
    assert.equal(byInteraction[oldCall.id].result, 'expired');
    assert.match(byInteraction[oldCall.id].error, /expired/);
    assert.equal(byInteraction[newCall.id].result, 'exported');
  } finally {
    await transfer.close();
  }
  const [record] = await env.sql<{ result: string }[]>`select result from recording_exports where job_id = ${job} and content_id = ${oldCall.recording!.id}`;
  assert.equal(record.result, 'expired');
  const [run] = await env.sql<{ error: string | null }[]>`select error from runs where type = 'recording-export' and definition_id = ${job}`;
  assert.equal(run.error, null);
});

test('an export meeting a recording whose object the expiry run has just removed reports it expired; lost content that is not past its storage time still fails', async () => {
  const campaignId = await newCampaign(env);
  const expiring = await addInteraction(env, campaignId, 'voice', daysAgo(DAYS + 4));
  const lost = await addInteraction(env, campaignId, 'voice', daysAgo(3));
  // The state an expiry batch leaves between removing the objects and clearing the rows (the export is not
  // spared): the object is gone, the row still points at it.
  await env.deps.store.remove(expiring.recording!.storeKey);
  await env.deps.store.remove(lost.recording!.storeKey);
  const dir = path.join(testScratchDir(), `expiry-race-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: dir });
  const job = await createJob(env.sql, campaignId, { destinationId }, daysAgo(DAYS + 10));
  const { result } = await runExport(env, { definitionId: job });
  assert.equal(result.exported, 0);
  assert.equal(result.expired, 1, 'past its storage time: expired');
  assert.equal(result.failed, 1, 'missing content within its storage time is a failure');
  const records = await env.sql<{ content_id: string; result: string }[]>`select content_id, result from recording_exports where job_id = ${job}`;
  assert.deepEqual(Object.fromEntries(records.map((r) => [String(r.content_id), r.result])),
    { [expiring.recording!.id]: 'expired', [lost.recording!.id]: 'failed' });
});

test('storage time unset: nothing expires', async () => {
  const activities = createContentExpiryActivities({ ...env.deps, config: { ...env.config, RECORDING_STORAGE_DAYS: undefined } });
  assert.deepEqual(await activities.planContentExpiry(), { cutoff: null, storageDays: null, pending: 0 });
});

test('the expiry schedule has one fixed id, is ensured idempotently and shows in the task view', async () => {
  await Promise.all([ensureContentExpirySchedule(env.client, env.taskQueue), ensureContentExpirySchedule(env.client, env.taskQueue)]);
  await ensureContentExpirySchedule(env.client, env.taskQueue);
  const described = await env.client.schedule.getHandle(CONTENT_EXPIRY_SCHEDULE_ID).describe();
  assert.equal(described.action.type, 'startWorkflow');
  assert.equal(described.action.type === 'startWorkflow' && described.action.workflowType, CONTENT_EXPIRY_WORKFLOW);
  assert.equal(described.action.type === 'startWorkflow' && described.action.taskQueue, env.taskQueue);
  const tasks = await api.call('GET', '/tasks?type=maintenance');
  assert.equal(tasks.status, 200, JSON.stringify(tasks.json));
  const item = tasks.json.items.find((t: { scheduleId?: string }) => t.scheduleId === CONTENT_EXPIRY_SCHEDULE_ID);
  assert.ok(item, JSON.stringify(tasks.json.items));
  assert.equal(item.type, 'maintenance');
  assert.ok(item.nextRunAt);
});

test('a content-expiry schedule another installation wrote under its own master key is replaced, not fatal to the worker start', async () => {
  // Earlier versions put an encrypted argument in the action: a worker with another key could not read it and
  // its start failed on describe. A schedule in that shape is replaced; the platform's own carries no argument.
  const foreign = new Client({
    connection: env.client.connection, namespace: env.client.options.namespace,
    dataConverter: createDataConverterOptions(keyringOf({ id: 'foreign', key: randomBytes(32) })),
  });
  await env.client.schedule.getHandle(CONTENT_EXPIRY_SCHEDULE_ID).delete().catch(() => undefined);
  await foreign.schedule.create({
    scheduleId: CONTENT_EXPIRY_SCHEDULE_ID, spec: { cronExpressions: ['41 * * * *'] },
    action: { type: 'startWorkflow', workflowType: CONTENT_EXPIRY_WORKFLOW, workflowId: CONTENT_EXPIRY_SCHEDULE_ID, args: [{}], taskQueue: 'another-installation' },
  });
  await assert.rejects(env.client.schedule.getHandle(CONTENT_EXPIRY_SCHEDULE_ID).describe(), /master key id "foreign"/);
  await ensureContentExpirySchedule(env.client, env.taskQueue);
  const described = await env.client.schedule.getHandle(CONTENT_EXPIRY_SCHEDULE_ID).describe();
  assert.equal(described.action.type === 'startWorkflow' && described.action.taskQueue, env.taskQueue);
  assert.deepEqual(described.action.type === 'startWorkflow' && described.action.args, []);
  // Readable by any key now: the foreign client describes it too.
  await foreign.schedule.getHandle(CONTENT_EXPIRY_SCHEDULE_ID).describe();
});
