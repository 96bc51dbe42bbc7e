// Job 1 through the HTTP API: templates validated on save (nothing written when invalid), the job's Temporal
// Schedule follows enabled/disabled, "run now" answers with the run, GET /runs/{runId} shows it, the watermark
// moves, test connection names a credential failure.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { createApp } from '../api/app.js';
import { readWatermark } from '../lib/export/jobs.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startSshd, type SshdServer } from './harness/servers/index.js';
import { createDestination, newCampaign, seedCalls } from './recording-export-helpers.js';

const ADMIN = 'recording-export-admin-key-0123456789';
let env: TestEnv;
let server: Server;
let base: string;
let sshd: SshdServer;

before(async () => {
  [env, sshd] = await Promise.all([createTestEnv({ env: { ADMIN_API_KEY: ADMIN, EXPORT_WINDOW: '00:00-23:59 UTC' } }), startSshd()]);
  await env.startWorker({ deps: { config: { ...env.config, EXPORT_WINDOW: undefined } } });
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.close();
  await env?.stop();
  await sshd?.stop();
});

async function call(method: string, url: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

it('recording export jobs: validated on save, scheduled, run now, progress and watermark over the API', async () => {
  const campaign = await newCampaign(env.sql);
  const calls = await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2025-08-01T12:00:00Z'), [{}, {}, {}]);
  const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: path.join(env.dataDir, 'api-dest') });
  const job = {
    name: 'Nightly export', enabled: false, campaignId: campaign.id, contentType: 'complete', voiceSignatureOnly: false,
    dispositions: 'all', completedAfter: '2025-01-01T00:00:00Z', destinationId, schedule: { every: '1d' },
  };

  for (const [fileNameTemplate, message] of [['../${recordingId}.wav', /\.\./], ['/srv/${recordingId}.wav', /absolute/], ['${callDate}/${who}.wav', /unknown placeholder "who"/]] as const) {
    const res = await call('POST', '/recording-export-jobs', { ...job, fileNameTemplate });
    assert.equal(res.status, 400);
    assert.equal(res.json.errors[0].path, 'fileNameTemplate');
    assert.match(res.json.errors[0].message, message);
  }
  const bad = await call('POST', '/recording-export-jobs', { ...job, manifestTemplate: 'list_$(agent).csv', useForPlayback: true });
  assert.equal(bad.status, 400);
  assert.equal((await env.sql`select count(*)::int as n from job_definitions`)[0].n, 0, 'invalid input writes nothing');

  const created = await call('POST', '/recording-export-jobs', job);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const { id, scheduleId } = created.json;
  assert.equal((await env.client.schedule.getHandle(scheduleId).describe()).state.paused, true, 'disabled = paused schedule');
  const enabled = await call('PATCH', `/recording-export-jobs/${id}`, { enabled: true });
  assert.equal(enabled.status, 200);
  assert.equal((await env.client.schedule.getHandle(scheduleId).describe()).state.paused, false);
  assert.equal(enabled.json.exportWindow, '00:00-23:59 UTC');
  assert.ok(enabled.json.nextRunAt);

  const started = await call('POST', `/recording-export-jobs/${id}/run`);
  assert.equal(started.status, 202, JSON.stringify(started.json));
  const { runId } = started.json;
  assert.match(runId, new RegExp(`^recording-export/${id}-`));
  await env.client.workflow.getHandle(runId).result();
  const run = await call('GET', `/runs/${encodeURIComponent(runId)}`);
  assert.equal(run.status, 200);
  assert.equal(run.json.status, 'completed');
  assert.equal(run.json.type, 'recording-export');
  assert.equal(run.json.name, 'Nightly export');
  assert.equal(run.json.result.exported, 3);
  assert.equal(run.json.actingUser !== null, true);
  assert.ok(run.json.sizeKb > 0);

  const after = await call('GET', `/recording-export-jobs/${id}`);
  assert.equal(new Date(after.json.completedAfter).getTime(), calls[2].recording!.completedAt.getTime(), 'GET shows the watermark: the last exported recording');
  assert.equal((await readWatermark(env.sql, id))!.afterContentId, calls[2].recording!.id, 'the cursor is at the last exported recording');

  const reset = await call('PATCH', `/recording-export-jobs/${id}`, { completedAfter: '2025-02-01T00:00:00Z' });
  assert.equal(reset.json.completedAfter, '2025-02-01T00:00:00.000Z', 'setting completedAfter resets the watermark to it');

  assert.equal((await call('DELETE', `/recording-export-jobs/${id}`)).status, 204);
  await assert.rejects(env.client.schedule.getHandle(scheduleId).describe());
});

it('a job on a cron schedule: the schedule follows the cron, PATCH changes it, disable pauses it, DELETE removes it', async () => {
  const campaign = await newCampaign(env.sql);
  const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: path.join(env.dataDir, 'cron-dest') });
  const job = { name: 'Cron export', campaignId: campaign.id, completedAfter: '2025-01-01T00:00:00Z', destinationId };

  const invalid = await call('POST', '/recording-export-jobs', { ...job, schedule: { cron: '75 2 * * *' } });
  assert.equal(invalid.status, 400);
  assert.match(JSON.stringify(invalid.json.errors), /minute field \\"75\\"/);
  assert.equal((await env.sql`select count(*)::int as n from job_definitions where name = 'Cron export'`)[0].n, 0);

  const created = await call('POST', '/recording-export-jobs', { ...job, schedule: { cron: '17 3 * * *' } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const { id, scheduleId } = created.json;
  const schedule = env.client.schedule.getHandle(scheduleId);
  const described = await schedule.describe();
  assert.equal(described.state.paused, false);
  assert.ok(described.info.nextActionTimes.length > 0);
  for (const at of described.info.nextActionTimes) assert.deepEqual([at.getUTCHours(), at.getUTCMinutes()], [3, 17], `${at.toISOString()} is 03:17 UTC`);
  assert.deepEqual((await call('GET', `/recording-export-jobs/${id}`)).json.schedule, { cron: '17 3 * * *' });

  const changed = await call('PATCH', `/recording-export-jobs/${id}`, { schedule: { cron: '45 22 * * 1' } });
  assert.equal(changed.status, 200, JSON.stringify(changed.json));
  assert.deepEqual(changed.json.schedule, { cron: '45 22 * * 1' });
  for (const at of (await schedule.describe()).info.nextActionTimes) {
    assert.deepEqual([at.getUTCDay(), at.getUTCHours(), at.getUTCMinutes()], [1, 22, 45], `${at.toISOString()} is a Monday 22:45 UTC`);
  }
  assert.equal(new Date(changed.json.nextRunAt).getUTCDay(), 1);

  const disabled = await call('PATCH', `/recording-export-jobs/${id}`, { enabled: false });
  assert.equal(disabled.status, 200);
  const paused = await schedule.describe();
  assert.equal(paused.state.paused, true);
  assert.equal(disabled.json.nextRunAt, null);
  assert.equal(paused.info.nextActionTimes[0]?.getUTCHours() ?? 22, 22, 'pausing keeps the cron spec');

  assert.equal((await call('DELETE', `/recording-export-jobs/${id}`)).status, 204);
  await assert.rejects(schedule.describe(), /not found/i);
  assert.equal((await call('GET', `/recording-export-jobs/${id}`)).status, 404);
});

it('test connection names the failing step for a destination with wrong credentials', async () => {
  const destinationId = await createDestination(env.sql, env.deps.keyring,
    { protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, path: sshd.rootDir }, { privateKey: sshd.unauthorizedPrivateKey });
  const res = await call('POST', `/destinations/${destinationId}/test`);
  assert.equal(res.status, 422);
  assert.match(res.json.detail, /auth/);
});

it('file-name templates under which two recordings would write the same file are refused with 400, at create and on PATCH', async () => {
  const campaign = await newCampaign(env.sql);
  const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: path.join(env.dataDir, 'collide-dest') });
  const job = { name: 'Collisions', enabled: false, campaignId: campaign.id, completedAfter: '2025-01-01T00:00:00Z', destinationId, schedule: { every: '1d' } };
  const refused = [
    [{ fileNameTemplate: 'calls/${callDate}_${agent}.wav' }, 'fileNameTemplate', /add \$\{recordingId\}/],
    [{ contentType: 'agentSegments', fileNameTemplate: 'calls/${interactionId}_${segmentAgent}.wav' }, 'fileNameTemplate', /segments of one call share/],
  ] as const;
  for (const [fields, field, message] of refused) {
    const res = await call('POST', '/recording-export-jobs', { ...job, ...fields });
    assert.equal(res.status, 400, JSON.stringify(fields));
    assert.equal(res.json.errors[0].path, field);
    assert.match(res.json.errors[0].message, message);
  }
  assert.equal((await env.sql`select count(*)::int as n from job_definitions where campaign_id = ${campaign.id}`)[0].n, 0);

  const created = await call('POST', '/recording-export-jobs', { ...job, fileNameTemplate: 'calls/${interactionId}.wav' });
  assert.equal(created.status, 201, 'a complete call is named uniquely by its interaction');
  const id = created.json.id;
  const switched = await call('PATCH', `/recording-export-jobs/${id}`, { contentType: 'agentSegments' });
  assert.equal(switched.status, 400, 'agent segments of one call would share the interaction id');
  assert.equal(switched.json.errors[0].path, 'fileNameTemplate');
  for (const [fields, field] of refused) {
    const res = await call('PATCH', `/recording-export-jobs/${id}`, fields);
    assert.equal(res.status, 400);
    assert.equal(res.json.errors[0].path, field);
  }
  const kept = await call('GET', `/recording-export-jobs/${id}`);
  assert.equal(kept.json.fileNameTemplate, 'calls/${interactionId}.wav');
  assert.equal(kept.json.contentType, 'complete');
  assert.equal(kept.json.manifestTemplate, 'recordings_details_$(currentDate)_$(currentTime)_job$(jobId)_$(runId).csv', 'the default manifest name is the run\'s own');
  assert.doesNotMatch(kept.json.fileNameTemplate, /customerPhone/);
  const defaults = await call('POST', '/recording-export-jobs', { ...job, name: 'Defaults' });
  assert.equal(defaults.status, 201);
  assert.doesNotMatch((await call('GET', `/recording-export-jobs/${defaults.json.id}`)).json.fileNameTemplate, /customerPhone/, 'no phone number in the default file name');
  const vendor = await call('PATCH', `/recording-export-jobs/${id}`, { manifestTemplate: 'recordings_details_$(currentDate)_$(currentTime).csv' });
  assert.equal(vendor.status, 200, 'the vendor\'s documented manifest name is accepted (an empty run then uploads none)');
  await call('DELETE', `/recording-export-jobs/${id}`);
  await call('DELETE', `/recording-export-jobs/${defaults.json.id}`);
});
