// The task views, the task log and the metrics against real Temporal and PostgreSQL, with the recording
// export as the job under observation: a scheduled task and "run now", runs in progress with live step and
// progress, and runs that end completed, failed, cancelled (API) and terminated (Temporal client, as an
// engineer in Temporal UI would) — the last reconciled from Temporal into the task log.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createActivities } from '../activities/index.js';
import { createApp } from '../api/app.js';
import { ensureReportRetentionSchedule } from '../lib/reports/schedules.js';
import { reconcileOpenRuns } from '../lib/runs/reconcile.js';
import { formatDuration } from '../lib/runs/task-log.js';
import { upsertJobSchedule } from '../lib/temporal/schedules.js';
import { RECORDING_EXPORT_WORKFLOW } from '../contracts/recording-export.js';
import { runSearchAttributes } from '../contracts/search-attributes.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { until } from './harness/wait.js';
import { createDestination, createJob, newCampaign, seedCalls, startExport } from './recording-export-helpers.js';

const ADMIN = 'ops-test-admin-key-0123456789';
let env: TestEnv;
let server: Server;
let base: string;
let windowOpen = true;
let campaign: { id: string; name: string };
let destinationId: string;

async function call(method: string, url: string, key: string | null = ADMIN) {
  const res = await fetch(`${base}${url}`, { method, headers: key ? { authorization: `Bearer ${key}` } : {} });
  const text = await res.text();
  return { status: res.status, text, json: /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined };
}

/** The value of one sample in a Prometheus exposition, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((pair) => line.includes(pair))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

async function metrics() {
  const res = await call('GET', '/metrics', null);
  assert.equal(res.status, 200, res.text);
  return res.text;
}

async function runRow(runId: string) {
  const [row] = await env.sql<{ status: string; step: string | null; error: string | null }[]>`select status, step, error from runs where run_id = ${runId}`;
  return row;
}

before(async () => {
  env = await createTestEnv({ env: { ADMIN_API_KEY: ADMIN } });
  const real = createActivities(env.deps);
  // The provider window is the one switch tests need: closed, a run stays in progress (durably waiting).
  await env.startWorker({
    activityOverrides: {
      checkExportWindow: async () => (windowOpen ? real.checkExportWindow() : { open: false, opensInMs: 500, window: 'test window' }),
    },
  });
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  campaign = await newCampaign(env.sql);
  await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2024-05-01T10:00:00Z'), [{}, {}, {}]);
  destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: path.join(env.dataDir, 'exports') });
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await env.stop();
});

describe('scheduled tasks', () => {
  test('an enabled job shows its next run time, and "run now" starts a run that lands in the task log with its metrics', async () => {
    const definitionId = await createJob(env.sql, campaign.id, { destinationId, schedule: { every: '1h' } });
    const scheduleId = `recording-export/${definitionId}`;
    await upsertJobSchedule(env.client, {
      scheduleId, workflowType: RECORDING_EXPORT_WORKFLOW, workflowIdPrefix: scheduleId, taskQueue: env.taskQueue,
      args: [{ definitionId, triggeredBy: 'schedule' }], spec: { every: '1h' }, paused: false, overlap: 'skip',
      searchAttributes: runSearchAttributes({ kind: 'recording-export', campaignId: campaign.id, definitionId, triggeredBy: 'schedule' }),
    });
    const before = await metrics();

    const tasks = await call('GET', '/tasks?state=scheduled');
    assert.equal(tasks.status, 200, tasks.text);
    const item = tasks.json.items.find((t: { definitionId?: string }) => t.definitionId === definitionId);
    assert.ok(item, 'the scheduled task is listed');
    assert.equal(item.state, 'scheduled');
    assert.equal(item.type, 'recording-export');
    assert.equal(item.objectName, campaign.name);
    assert.equal(item.scheduleId, scheduleId);
    assert.equal(item.attempts, 0);
    const next = Date.parse(item.nextRunAt);
    assert.ok(next > Date.now() && next <= Date.now() + 3_600_000, `next run within the hour: ${item.nextRunAt}`);
    assert.equal(item.runNow, `/tasks/${definitionId}/run`);

    const started = await call('POST', item.runNow);
    assert.equal(started.status, 202, started.text);
    const runId: string = started.json.runId;
    assert.ok(runId.startsWith(scheduleId), runId);
    await env.client.workflow.getHandle(runId).result();

    const log = await call('GET', `/task-log?definitionId=${definitionId}`);
    assert.equal(log.status, 200, log.text);
    assert.equal(log.json.items.length, 1);
    const entry = log.json.items[0];
    assert.equal(entry.runId, runId);
    assert.equal(entry.result, 'completed');
    assert.equal(entry.type, 'recording-export');
    assert.equal(entry.objectName, campaign.name);
    assert.match(entry.duration, /^\d{2,}:\d{2}$/);
    assert.ok(entry.sizeKb >= 1, 'the exported bytes are counted');
    assert.equal(entry.error, null);
    assert.ok(Date.parse(entry.endedAt) >= Date.parse(entry.startedAt));

    const after = await metrics();
    const kind = { type: 'recording-export' };
    assert.equal(sample(after, 'ccjobs_runs_started_total', kind) - sample(before, 'ccjobs_runs_started_total', kind), 1);
    assert.equal(sample(after, 'ccjobs_runs_ended_total', { ...kind, result: 'completed' }) - sample(before, 'ccjobs_runs_ended_total', { ...kind, result: 'completed' }), 1);
    assert.equal(sample(after, 'ccjobs_items_transferred_total', kind) - sample(before, 'ccjobs_items_transferred_total', kind), 3);
    assert.ok(sample(after, 'ccjobs_bytes_transferred_total', kind) > sample(before, 'ccjobs_bytes_transferred_total', kind));
    assert.ok(sample(after, 'ccjobs_run_duration_seconds_count', { ...kind, result: 'completed' }) >= 1);
    assert.ok(sample(after, 'ccjobs_runs', { ...kind, status: 'completed' }) >= 1, 'database gauge');

    await env.sql`update job_definitions set enabled = false where id = ${definitionId}`;
    const hidden = await call('GET', '/tasks');
    assert.ok(!hidden.json.items.some((t: { definitionId?: string; state: string }) => t.definitionId === definitionId && t.state === 'scheduled'),
      'a disabled job is not a scheduled task');
    await env.client.schedule.getHandle(scheduleId).delete();
  });

  test('"run now" of a definition without a schedule, or an unknown one, is refused', async () => {
    const [row] = await env.sql<{ id: string }[]>`
      insert into job_definitions (kind, name, config) values ('report', 'once only', '{}') returning id`;
    assert.equal((await call('POST', `/tasks/${row.id}/run`)).status, 422);
    assert.equal((await call('POST', '/tasks/999999/run')).status, 404);
  });
});

describe('runs in progress and how they end', () => {
  test('a running run shows live step, progress and attempts; cancelled and terminated runs leave the view for the task log', async (t) => {
    windowOpen = false;
    t.after(() => { windowOpen = true; });
    const definitionId = await createJob(env.sql, campaign.id, { destinationId });
    const toCancel = await startExport(env, { definitionId });
    const toTerminate = await startExport(env, { definitionId });
    for (const handle of [toCancel, toTerminate]) {
      await until('the run records its step', async () => (await runRow(handle.workflowId))?.status === 'running');
    }

    const tasks = await call('GET', '/tasks?state=in%20progress', await viewerKey());
    assert.equal(tasks.status, 200, tasks.text);
    const mine = tasks.json.items.filter((t: { definitionId?: string }) => t.definitionId === definitionId);
    assert.deepEqual(mine.map((t: { runId: string }) => t.runId).sort(), [toCancel.workflowId, toTerminate.workflowId].sort());
    for (const item of mine) {
      assert.equal(item.state, 'in progress');
      assert.equal(item.step, 'waiting for the export window (test window)', 'the live step from the runStatus query');
      assert.deepEqual(item.progress, { done: 0, total: 3, percent: 0 });
      assert.equal(item.attempts, 1);
      assert.equal(item.objectName, campaign.name);
      assert.ok(item.startedAt && item.temporalUiUrl);
    }

    const before = await metrics();
    assert.equal((await call('POST', `/runs/${encodeURIComponent(toCancel.workflowId)}/cancel`)).status, 202);
    await assert.rejects(toCancel.result());
    await until('the cancelled run is recorded', async () => (await runRow(toCancel.workflowId))?.status === 'cancelled');

    // An engineer terminates the other in Temporal UI: the workflow cannot record that itself.
    await env.client.workflow.getHandle(toTerminate.workflowId).terminate('stuck on a slow destination');
    assert.equal((await runRow(toTerminate.workflowId)).status, 'running');
    const report = await reconcileOpenRuns({ sql: env.sql, client: env.client }, { minAgeMs: 0, taskQueue: env.taskQueue });
    assert.ok(report.reconciled.some((r) => r.runId === toTerminate.workflowId && r.status === 'terminated'));
    const terminated = await runRow(toTerminate.workflowId);
    assert.equal(terminated.status, 'terminated');
    assert.match(terminated.error ?? '', /terminated in Temporal.*stuck on a slow destination/);
    assert.equal((await reconcileOpenRuns({ sql: env.sql, client: env.client }, { minAgeMs: 0, taskQueue: env.taskQueue })).reconciled.length, 0, 'once is enough');

    const gone = await call('GET', '/tasks');
    assert.ok(!gone.json.items.some((t: { definitionId?: string; state: string }) => t.definitionId === definitionId && t.state === 'in progress'));
    const log = await call('GET', `/task-log?definitionId=${definitionId}&sort=result`);
    assert.deepEqual(log.json.items.map((e: { result: string; status: string }) => [e.result, e.status]), [['cancelled', 'cancelled'], ['failed', 'terminated']]);
    assert.match(log.json.items[1].error, /stuck on a slow destination/);

    const after = await metrics();
    const ended = (m: string, result: string) => sample(m, 'ccjobs_runs_ended_total', { type: 'recording-export', result });
    assert.equal(ended(after, 'cancelled') - ended(before, 'cancelled'), 1);
    assert.equal(ended(after, 'terminated') - ended(before, 'terminated'), 1);
  });

  test('a run that fails records its error and result failed', async () => {
    const gone = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: path.join(env.dataDir, 'nowhere') });
    const definitionId = await createJob(env.sql, campaign.id, { destinationId: gone });
    await env.sql`delete from destinations where id = ${gone}`;
    const handle = await startExport(env, { definitionId });
    await assert.rejects(handle.result());
    const log = await call('GET', `/task-log?definitionId=${definitionId}`);
    assert.equal(log.json.items[0].result, 'failed');
    assert.equal(log.json.items[0].status, 'failed');
    assert.match(log.json.items[0].error, /destination/i);
  });

  test('a started workflow no worker has picked up yet is in progress as "waiting for a worker"', async () => {
    const runId = `orphan-${Date.now()}`;
    const handle = await env.client.workflow.start('notHostedHere', {
      taskQueue: env.taskQueue, workflowId: runId, args: [],
      typedSearchAttributes: runSearchAttributes({ kind: 'report', triggeredBy: 'test' }),
    });
    try {
      const item = await until('visibility lists the execution', async () =>
        (await call('GET', '/tasks?type=report')).json.items.find((t: { runId?: string }) => t.runId === runId));
      assert.equal(item.step, 'waiting for a worker');
      assert.equal(item.taskName, 'notHostedHere');
    } finally {
      await handle.terminate('test over');
    }
  });
});

describe('task log', () => {
  test('filters by type and result, sorts by any column and pages without overlap', async () => {
    const rows: [string, string, number, number][] = [['log-a', 'completed', 65, 2048], ['log-b', 'failed', 5, 100], ['log-c', 'completed', 3725, 0]];
    for (const [runId, status, seconds, size] of rows) {
      await env.sql`insert into runs (run_id, type, name, object_name, status, step, size_bytes, started_at, ended_at)
        values (${runId}, 'log-test', ${`Task ${runId}`}, 'List A', ${status}, 'done', ${size},
                '2024-01-01T00:00:00Z'::timestamptz, '2024-01-01T00:00:00Z'::timestamptz + ${seconds} * interval '1 second')`;
    }
    const byDuration = await call('GET', '/task-log?type=log-test&sort=-duration');
    assert.deepEqual(byDuration.json.items.map((e: { runId: string }) => e.runId), ['log-c', 'log-a', 'log-b']);
    assert.deepEqual(byDuration.json.items.map((e: { duration: string }) => e.duration), ['62:05', '01:05', '00:05']);
    assert.deepEqual(byDuration.json.items.map((e: { sizeKb: number }) => e.sizeKb), [0, 2, 1]);
    const failed = await call('GET', '/task-log?type=log-test&result=failed');
    assert.deepEqual(failed.json.items.map((e: { runId: string }) => e.runId), ['log-b']);
    const named = await call('GET', '/task-log?type=log-test&taskName=LOG-A');
    assert.deepEqual(named.json.items.map((e: { runId: string }) => e.runId), ['log-a']);

    const first = await call('GET', '/task-log?type=log-test&sort=sizeKb&limit=2');
    assert.equal(first.json.items.length, 2);
    assert.ok(first.json.nextCursor);
    const second = await call('GET', `/task-log?type=log-test&sort=sizeKb&limit=2&cursor=${first.json.nextCursor}`);
    assert.deepEqual([...first.json.items, ...second.json.items].map((e: { runId: string }) => e.runId), ['log-c', 'log-b', 'log-a']);
    assert.equal(second.json.nextCursor, null);

    assert.equal((await call('GET', '/task-log?sort=password')).status, 400);
    assert.equal((await call('GET', '/task-log?result=terminated')).status, 400);
    assert.equal(formatDuration(59.6), '01:00');
  });

  test('the views need a key; /metrics is open to this machine only', async () => {
    assert.equal((await call('GET', '/tasks', null)).status, 401);
    assert.equal((await call('GET', '/task-log', null)).status, 401);
    assert.equal((await call('GET', '/metrics', null)).status, 200);
    const doc = await call('GET', '/openapi.json', null);
    for (const p of ['/tasks', '/tasks/{definitionId}/run', '/task-log', '/metrics']) assert.ok(doc.json.paths[p], p);
    assert.ok(doc.json.paths['/tasks'].get.responses['200'].content['application/json'].example);
  });
});

describe('maintenance schedules and API request metrics', () => {
  test('the saved-report retention schedule, tied to no job definition, is a scheduled task of type maintenance', async () => {
    await ensureReportRetentionSchedule(env.client, env.taskQueue);
    const tasks = await call('GET', '/tasks?state=scheduled');
    assert.equal(tasks.status, 200, tasks.text);
    const item = tasks.json.items.find((t: { scheduleId?: string }) => t.scheduleId === 'report/retention');
    assert.ok(item, 'the retention schedule is listed');
    assert.equal(item.type, 'maintenance');
    assert.equal(item.definitionId, null);
    assert.equal(item.runNow, undefined, 'no definition, so no run-now path');
    assert.equal(item.taskName, 'Remove saved reports older than 30 days');
    // The schedule is shared by every test database on this Temporal server: paused or not, its time is sane.
    assert.ok(item.nextRunAt === null || Date.parse(item.nextRunAt) <= Date.now() + 25 * 3_600_000, item.nextRunAt);
    const onlyMaintenance = await call('GET', '/tasks?type=maintenance');
    assert.ok(onlyMaintenance.json.items.length >= 1 && onlyMaintenance.json.items.every((t: { type: string }) => t.type === 'maintenance'));
    const reports = await call('GET', '/tasks?type=report');
    assert.ok(!reports.json.items.some((t: { scheduleId?: string }) => t.scheduleId === 'report/retention'));
    const running = await call('GET', '/tasks?state=in%20progress');
    assert.ok(!running.json.items.some((t: { type: string }) => t.type === 'maintenance'));
  });

  test('GET /metrics has a request-duration histogram by method, route template and status, never the raw path', async () => {
    const before = await metrics();
    const labels = { method: 'GET', route: '/campaigns/{id}', status: '200' };
    assert.equal((await call('GET', `/campaigns/${campaign.id}`)).status, 200);
    assert.equal((await call('GET', `/campaigns/${campaign.id}`)).status, 200);
    assert.equal((await call('GET', '/campaigns/999999999')).status, 404);
    assert.equal((await call('GET', '/campaigns/abc')).status, 400);
    assert.equal((await call('GET', '/tasks', null)).status, 401);
    assert.equal((await call('GET', '/no/such/path/4711')).status, 404);
    const after = await metrics();
    const delta = (l: Record<string, string>) =>
      sample(after, 'ccjobs_http_request_duration_seconds_count', l) - sample(before, 'ccjobs_http_request_duration_seconds_count', l);
    assert.equal(delta(labels), 2);
    assert.equal(delta({ ...labels, status: '404' }), 1);
    assert.equal(delta({ ...labels, status: '400' }), 1);
    assert.equal(delta({ method: 'GET', route: '/tasks', status: '401' }), 1);
    assert.equal(delta({ method: 'GET', route: 'unmatched', status: '404' }), 1);
    assert.ok(sample(after, 'ccjobs_http_request_duration_seconds_sum', labels) > 0);
    assert.match(after, /^ccjobs_http_request_duration_seconds_bucket\{le="0\.1",method="GET",route="\/campaigns\/\{id\}",status="200"\} \d+$/m);
    const routes = [...after.matchAll(/^ccjobs_http_request_duration_seconds_count\{[^}]*route="([^"]*)"/gm)].map((m) => m[1]);
    assert.ok(routes.every((route) => !/\d{3,}|abc|4711/.test(route)), `route labels are templates: ${[...new Set(routes)].join(', ')}`);
  });
});

let viewer: string | undefined;
async function viewerKey(): Promise<string> {
  if (viewer) return viewer;
  const res = await fetch(`${base}/api-keys`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'ops-viewer', role: 'viewer' }),
  });
  viewer = ((await res.json()) as { key: string }).key;
  return viewer;
}
