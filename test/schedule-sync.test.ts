// The schedule rule (issue 22; docs/architecture.md, "Schedules"): the definition is the truth for a schedule's spec
// and existence, an engineer's pause in Temporal is kept and shown, another installation's schedule is never
// overwritten, and a definition being deleted never gets its schedule back. Each test drives the sync by hand
// (syncJobSchedules, settle time 0) against the real Temporal and PostgreSQL, with row locks where timing matters.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { createApp } from '../api/app.js';
import { upsertExportSchedule } from '../lib/export/schedules.js';
import { syncJobSchedules } from '../lib/runs/schedule-sync.js';
import { upsertJobSchedule } from '../lib/temporal/schedules.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { until } from './harness/wait.js';
import { createDestination, newCampaign } from './recording-export-helpers.js';

const ADMIN = 'schedule-sync-admin-key-0123456789';
let env: TestEnv;
let server: Server;
let base: string;
let campaign: { id: string; name: string };
let destinationId: string;
const created = new Set<string>();

async function call(method: string, url: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, text, json: text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined };
}

const sync = () => syncJobSchedules({ sql: env.sql, client: env.client }, { taskQueue: env.taskQueue, settleMs: 0 });
const describeSchedule = (id: string) => env.client.schedule.getHandle(id).describe();
const exists = (id: string) => describeSchedule(id).then(() => true, (err) => { if (err instanceof ScheduleNotFoundError) return false; throw err; });
let n = 0;

async function listed(scheduleId: string): Promise<boolean> {
  for await (const s of env.client.schedule.list({ pageSize: 500 })) if (s.scheduleId === scheduleId) return true;
  return false;
}

async function newExportJob(schedule: unknown = { every: '1h' }) {
  const res = await call('POST', '/recording-export-jobs', {
    name: `job ${++n} ${Date.now()}`, campaignId: campaign.id, completedAfter: '2025-01-01T00:00:00Z', destinationId, schedule,
  });
  assert.equal(res.status, 201, res.text);
  created.add(res.json.scheduleId);
  return res.json as { id: string; scheduleId: string };
}

async function newReport(cron = '0 6 * * 1') {
  const res = await call('POST', '/reports', { name: `report ${++n} ${Date.now()}`, type: 'all-attempts', campaignId: campaign.id, timeframe: { kind: 'incremental' }, schedule: { cron } });
  assert.equal(res.status, 201, res.text);
  created.add(res.json.scheduleId);
  return res.json as { id: string; scheduleId: string };
}

async function taskOf(scheduleId: string) {
  const res = await call('GET', '/tasks?state=scheduled');
  assert.equal(res.status, 200, res.text);
  return res.json.items.find((t: { scheduleId?: string }) => t.scheduleId === scheduleId);
}

before(async () => {
  env = await createTestEnv({ env: { ADMIN_API_KEY: ADMIN } });
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  campaign = await newCampaign(env.sql);
  destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: path.join(env.dataDir, 'exports') });
});

after(async () => {
  for (const id of created) await env.client.schedule.getHandle(id).delete().catch(() => {});
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await env.stop();
});

describe('a definition being deleted never gets its schedule back', () => {
  // The API's change waits on a row lock held here; the sync runs meanwhile, then the lock is released.
  const cases: [string, () => Promise<{ id: string; scheduleId: string }>, (d: { id: string }) => Promise<{ status: number; text: string }>][] = [
    ['DELETE /reports/{id}', () => newReport(), (d) => call('DELETE', `/reports/${d.id}`)],
    ['PATCH /reports/{id} with schedule: null', () => newReport(), (d) => call('PATCH', `/reports/${d.id}`, { schedule: null })],
    ['DELETE /recording-export-jobs/{id}', () => newExportJob(), (d) => call('DELETE', `/recording-export-jobs/${d.id}`)],
  ];
  for (const [name, make, change] of cases) {
    test(`${name} while the sync runs: the schedule stays deleted`, async () => {
      const definition = await make();
      let release!: () => void;
      const released = new Promise<void>((resolve) => { release = resolve; });
      let locked!: () => void;
      const lockHeld = new Promise<void>((resolve) => { locked = resolve; });
      const holder = env.sql.begin(async (tx) => {
        await tx`select 1 from job_definitions where id = ${definition.id} for update`;
        locked();
        await released;
      });
      await lockHeld;
      const waiting = async () => (await env.sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)[0].n;
      const apiChange = change(definition);
      await until('the API waits on the definition\'s row lock', async () => (await waiting()) >= 1);
      // Temporal's schedule list (which the sync reads) is eventually consistent: let it agree with describe first.
      await until('Temporal\'s list agrees with describe', async () => (await exists(definition.scheduleId)) === (await listed(definition.scheduleId)));
      let syncDone = false;
      const syncPass = sync().finally(() => { syncDone = true; });
      // The sync either finishes without the lock (old code) or queues behind the API's change for it.
      await until('the sync ran or waits on the row lock', async () => syncDone || (await waiting()) >= 2);
      release();
      await holder;
      const res = await apiChange;
      assert.ok(res.status === 204 || res.status === 200, res.text);
      await syncPass;
      assert.equal(await exists(definition.scheduleId), false, `${definition.scheduleId} was recreated (it would fire for a deleted definition)`);
      await sync();
      assert.equal(await exists(definition.scheduleId), false, 'a later pass does not bring it back either');
    });
  }
});

describe('the definition is the truth for the spec; an engineer\'s pause is kept', () => {
  test('a spec edited in Temporal shows as drift in GET /tasks until the sync restores the definition\'s', async () => {
    const job = await newExportJob({ every: '1h' });
    await env.client.schedule.getHandle(job.scheduleId).update((previous) => ({ ...previous, spec: { intervals: [{ every: '7 minutes' }] } }));
    const drifted = await taskOf(job.scheduleId);
    assert.match(drifted.schedule.drift, /every 420s.*every 3600s/);

    const report = await sync();
    assert.ok(report.restored.includes(job.scheduleId), JSON.stringify(report));
    assert.deepEqual((await describeSchedule(job.scheduleId)).spec.intervals?.map((i) => i.every), [3_600_000]);
    const restored = await taskOf(job.scheduleId);
    assert.equal(restored.schedule.drift, null);
    assert.match(restored.schedule.lastDriftRepaired.drift, /every 420s/);
  });

  test('a report\'s crontab edited in Temporal is restored too', async () => {
    const def = await newReport('30 6 * * 1-5');
    await env.client.schedule.getHandle(def.scheduleId).update((previous) => ({ ...previous, spec: { cronExpressions: ['0 9 * * *'] } }));
    assert.ok((await sync()).restored.includes(def.scheduleId));
    assert.equal((await taskOf(def.scheduleId)).schedule.drift, null);
    const calendar = (await describeSchedule(def.scheduleId)).spec.calendars![0];
    assert.deepEqual([calendar.hour[0].start, calendar.minute[0].start], [6, 30]);
  });

  test('a pause made in Temporal stays, shown with its note; saving the definition keeps it, enabling lifts it', async () => {
    const job = await newExportJob();
    await env.client.schedule.getHandle(job.scheduleId).pause('vendor SFTP down until Monday (ops)');
    const report = await sync();
    assert.ok(report.operatorPaused.includes(job.scheduleId));
    assert.equal((await describeSchedule(job.scheduleId)).state.paused, true, 'the sync keeps an engineer\'s pause');
    const task = await taskOf(job.scheduleId);
    assert.equal(task.schedule.paused, true);
    assert.equal(task.schedule.pausedNote, 'vendor SFTP down until Monday (ops)');
    assert.equal(task.nextRunAt, null);

    assert.equal((await call('PATCH', `/recording-export-jobs/${job.id}`, { name: `renamed ${job.id}` })).status, 200);
    assert.equal((await describeSchedule(job.scheduleId)).state.paused, true, 'an unrelated edit keeps the pause');
    assert.equal((await call('PATCH', `/recording-export-jobs/${job.id}`, { enabled: true })).status, 200);
    assert.equal((await describeSchedule(job.scheduleId)).state.paused, false, 'enabling the job again lifts it');
  });

  test('the platform\'s own pauses are still corrected: a disabled job\'s running schedule is paused', async () => {
    const job = await newExportJob();
    assert.equal((await call('PATCH', `/recording-export-jobs/${job.id}`, { enabled: false })).status, 200);
    await env.client.schedule.getHandle(job.scheduleId).unpause('unpaused in Temporal UI');
    assert.ok((await sync()).paused.includes(job.scheduleId));
    assert.equal((await describeSchedule(job.scheduleId)).state.paused, true);
  });
});

describe('schedule ids and another installation in the same namespace', () => {
  const otherQueue = () => `${env.taskQueue}-other-installation`;
  const foreignSchedule = (scheduleId: string) => upsertJobSchedule(env.client, {
    scheduleId, workflowType: 'recordingExport', workflowIdPrefix: scheduleId, args: [], taskQueue: otherQueue(), spec: { every: '1h' }, paused: false,
  });

  test('a new job whose id another installation\'s schedule holds gets its own schedule; the other one is untouched', async () => {
    const [{ next }] = await env.sql<{ next: string }[]>`select (coalesce(max(id), 0) + 1)::text as next from job_definitions`;
    const theirs = `recording-export/${next}`;
    await foreignSchedule(theirs);
    created.add(theirs);
    const job = await newExportJob();
    assert.equal(job.id, next);
    assert.equal(job.scheduleId, `${theirs}@${env.taskQueue}`);
    const other = await describeSchedule(theirs);
    assert.equal(other.action.type === 'startWorkflow' && other.action.taskQueue, otherQueue(), 'never overwritten');
    const ours = await describeSchedule(job.scheduleId);
    assert.equal(ours.action.type === 'startWorkflow' && ours.action.taskQueue, env.taskQueue);
    assert.equal((await call('GET', `/recording-export-jobs/${job.id}`)).json.scheduleId, job.scheduleId);
  });

  test('our schedule taken over by another installation is an error in /healthz and GET /tasks, and is left alone', async () => {
    const job = await newExportJob();
    await env.client.schedule.getHandle(job.scheduleId).delete();
    await foreignSchedule(job.scheduleId);
    const report = await sync();
    assert.ok(report.foreign.includes(job.scheduleId), JSON.stringify(report));
    const other = await describeSchedule(job.scheduleId);
    assert.equal(other.action.type === 'startWorkflow' && other.action.taskQueue, otherQueue());
    const health = await call('GET', '/healthz');
    assert.match(health.json.schedules, new RegExp(job.scheduleId.replace(/[/@]/g, '.')));
    assert.equal((await taskOf(job.scheduleId)).schedule.heldByAnotherInstallation, true);
    assert.equal((await call('PATCH', `/recording-export-jobs/${job.id}`, { schedule: { every: '2h' } })).status, 409, 'a save refuses to overwrite it');
    await env.client.schedule.getHandle(job.scheduleId).delete();
    await call('DELETE', `/recording-export-jobs/${job.id}`);
  });
});

describe('missing schedules and catch-up', () => {
  test('several workers making one missing schedule at once all succeed (ScheduleAlreadyRunning is handled)', async () => {
    const job = await newExportJob();
    await env.client.schedule.getHandle(job.scheduleId).delete();
    const input = { definitionId: job.id, scheduleId: job.scheduleId, campaignId: campaign.id, schedule: { every: '1h' }, enabled: true, taskQueue: env.taskQueue };
    await Promise.all(Array.from({ length: 6 }, () => upsertExportSchedule(env.client, input)));
    assert.equal(await exists(job.scheduleId), true);
  });

  test('catch-up per kind: a report makes up a day of missed runs (one buffered), an export skips all but one over 30 days', async () => {
    const job = await newExportJob();
    const def = await newReport();
    const exportPolicies = (await describeSchedule(job.scheduleId)).policies;
    const reportPolicies = (await describeSchedule(def.scheduleId)).policies;
    assert.deepEqual([exportPolicies.overlap, exportPolicies.catchupWindow], [ScheduleOverlapPolicy.SKIP, 30 * 86_400_000]);
    assert.deepEqual([reportPolicies.overlap, reportPolicies.catchupWindow], [ScheduleOverlapPolicy.BUFFER_ONE, 86_400_000]);
    const task = await until('the task view lists the job', () => taskOf(job.scheduleId));
    assert.deepEqual([task.schedule.skippedRuns, task.schedule.missedRuns], [0, 0]);
  });
});
