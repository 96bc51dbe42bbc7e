// Temporal's port is not a way in: a workflow started there in plaintext (the Temporal CLI or UI, or any gRPC
// client without our codec) never runs on the worker, whatever its input claims, while runs started with the
// codec keep working on the same worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { createPayloadCodec, ENCRYPTED_ENCODING } from '../lib/crypto/payload-codec.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { until } from './harness/wait.js';
import { createDestination, createJob, newCampaign, runExport, seedCalls } from './recording-export-helpers.js';

const { EventType } = proto.temporal.api.enums.v1;
let env: TestEnv;

before(async () => { env = await createTestEnv(); await env.startWorker(); });
after(async () => { await env?.stop(); });

/** A client straight onto Temporal's port, without the payload codec: what an intruder there has. */
function rawClient(): Client {
  return new Client({ connection: env.client.connection, namespace: env.config.TEMPORAL_NAMESPACE });
}

async function exportFixture() {
  const campaign = await newCampaign(env.sql);
  await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2026-03-02T15:00:00Z'), [{ disposition: 'Sale' }, { disposition: 'Sale' }]);
  const dir = path.join(env.dataDir, `exports-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: dir });
  const definitionId = await createJob(env.sql, campaign.id, { contentType: 'complete', dispositions: 'all', voiceSignatureOnly: false, destinationId });
  return { campaign, dir, definitionId };
}

/** Waits until the worker has failed the run's workflow task, and returns the history's event types. */
async function refusedHistory(workflowId: string) {
  const handle = env.client.workflow.getHandle(workflowId);
  const failure = await until(`a failed workflow task of ${workflowId}`, async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    return events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
  });
  const events = (await handle.fetchHistory()).events ?? [];
  return { message: failure.workflowTaskFailedEventAttributes?.failure?.message ?? '', types: events.map((e) => e.eventType) };
}

test('a recording export started in plaintext on Temporal\'s port runs no activity and exports nothing; an encrypted one still runs', async () => {
  const { dir, definitionId } = await exportFixture();
  const forged = await rawClient().workflow.start('recordingExport', {
    taskQueue: env.taskQueue, workflowId: `recording-export/${definitionId}/forged-${randomBytes(3).toString('hex')}`, args: [{ definitionId }],
  });
  const { message, types } = await refusedHistory(forged.workflowId);
  assert.match(message, /Refused an unencrypted payload/);
  assert.ok(!types.includes(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 'the forged run scheduled an activity');
  assert.ok(!types.includes(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED), 'the forged run completed');
  await forged.terminate('test: forged plaintext start');
  const [{ count }] = await env.sql<{ count: number }[]>`select count(*)::int as count from recording_exports where job_id = ${definitionId}`;
  assert.equal(count, 0);
  assert.deepEqual(await readdir(dir), []);
  assert.equal((await env.sql`select status from runs where run_id = ${forged.workflowId}`).length, 0, 'the forged run was recorded');

  const { result } = await runExport(env, { definitionId });
  assert.equal(result.exported, 2, 'a run started with the codec is still served by the same worker');
});

test('a list import started in plaintext claiming "actingUser":"key:ceo" never takes the campaign lock or runs', async () => {
  const campaign = await newCampaign(env.sql);
  const forged = await rawClient().workflow.start('listImport', {
    taskQueue: env.taskQueue, workflowId: `list-import/${campaign.id}/forged-${randomBytes(3).toString('hex')}`,
    args: [{
      campaignId: campaign.id, source: { uploadId: 'upl_forged' }, separator: ',', hasHeader: true, keyField: 'clientId',
      importRule: 'append', updateRule: 'nothing', mergeRule: 'nothing', wait: true, actingUser: 'key:ceo',
    }],
  });
  const { message, types } = await refusedHistory(forged.workflowId);
  assert.match(message, /Refused an unencrypted payload/);
  assert.ok(!types.includes(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 'the forged import scheduled an activity');
  assert.ok(!types.includes(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED), 'the forged import started a child workflow');
  assert.ok(!types.includes(EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED), 'the forged import asked for the campaign lock');
  await forged.terminate('test: forged plaintext start');
  assert.equal((await env.sql`select acting_user from runs where run_id = ${forged.workflowId}`).length, 0, 'the forged import was recorded');
  assert.equal((await env.sql`select run_id from list_imports where run_id = ${forged.workflowId}`).length, 0);
});

test('the codec endpoint\'s codec still passes plaintext through for display, and the worker\'s refuses it', async () => {
  const plain = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"actingUser":"key:ceo"}') };
  assert.deepEqual(await createPayloadCodec(env.deps.keyring).decode([plain]), [plain]);
  await assert.rejects(createPayloadCodec(env.deps.keyring, { plaintext: 'refuse' }).decode([plain]), /Refused an unencrypted payload \(encoding "json\/plain"\)/);
  const codec = createPayloadCodec(env.deps.keyring, { plaintext: 'refuse' });
  const [encrypted] = await codec.encode([plain]);
  assert.equal(Buffer.from(encrypted.metadata!.encoding!).toString(), ENCRYPTED_ENCODING);
  const [decrypted] = await codec.decode([encrypted]);
  assert.equal(Buffer.from(decrypted.data!).toString(), '{"actingUser":"key:ceo"}');
});
