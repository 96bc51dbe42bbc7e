// The run record (lib/runs/record.ts) tells what happened: runs that fail before recording their start,
// imports waiting for their time, runs reset in Temporal, retried activities, "run now" by a caller, and
// counters that balance (started = ended + open) over a mixed workload — against real Temporal and PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import proto from '@temporalio/proto';
import { createActivities } from '../activities/index.js';
import { createApp } from '../api/app.js';
import { metricsText } from '../lib/metrics.js';
import { reconcileOpenRuns } from '../lib/runs/reconcile.js';
import { upsertJobSchedule } from '../lib/temporal/schedules.js';
import { listImportWorkflowId, type ListImportInput } from '../contracts/list-import.js';
import { RECORDING_EXPORT_WORKFLOW } from '../contracts/recording-export.js';
import { REPORT_WORKFLOW } from '../contracts/report.js';
import { runSearchAttributes, TRIGGERED_BY } from '../contracts/search-attributes.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { until } from './harness/wait.js';
import { createDestination, createJob, newCampaign, seedCalls, startExport } from './recording-export-helpers.js';
import { createReportDefinition } from './report-helpers.js';

const { EventType } = proto.temporal.api.enums.v1;
const ADMIN = 'run-record-admin-key-0123456789';
let env: TestEnv;
let server: Server;
let base: string;
let campaign: { id: string; name: string };
let destinationId: string;
/** While set, the export's window check fails (a transient fault, retried by Temporal). */
let windowCheckFails = false;

async function call(method: string, url: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, text, json: /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined };
}

/** Sum of a counter's samples with these labels in this process's metrics (API and worker run here). */
async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of (await metricsText()).split('\n')) {
    if (line.startsWith(`${name}{`) && wanted.every((pair) => line.includes(pair))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const KINDS = ['recording-export', 'report', 'list-import', 'erasure'];
async function counts() {
  const out: Record<string, { started: number; ended: number }> = {};
  for (const type of KINDS) {
    out[type] = { started: await counter('ccjobs_runs_started_total', { type }), ended: await counter('ccjobs_runs_ended_total', { type }) };
  }
  return out;
}

async function logEntries(query: string) {
  const res = await call('GET', `/task-log?${query}`);
  assert.equal(res.status, 200, res.text);
  return res.json.items as { runId: string; startedAt: string; endedAt: string; attempts: number; error: string | null; status: string; actingUser: string | null; temporalUiUrl: string; duration: string }[];
}

async function importInput(rows: number, scheduledAt?: string): Promise<ListImportInput> {
  const csv = ['client_id,name', ...Array.from({ length: rows }, (_, i) => `R${i},Name ${i}`)].join('\n');
  const stored = await env.deps.store.put(Readable.from([csv]), { prefix: 'uploads' });
  const [upload] = await env.sql<{ id: string }[]>`
    insert into uploads (id, store_key, size_bytes, sha256) values (${`rr-${randomUUID()}`}, ${stored.key}, ${stored.sizeBytes}, ${stored.sha256}) returning id`;
  return {
    campaignId: campaign.id, source: { uploadId: upload.id }, separator: ',', hasHeader: true, keyField: 'clientId', wait: true,
    importRule: 'append', updateRule: 'nothing', mergeRule: 'append', deleteAllBeforeImport: false, ...(scheduledAt ? { scheduledAt } : {}),
  };
}

function startImport(input: ListImportInput) {
  return env.client.workflow.start('listImport', {
    workflowId: listImportWorkflowId(campaign.id, new Date()), taskQueue: env.taskQueue, args: [input],
    typedSearchAttributes: runSearchAttributes({ kind: 'list-import', campaignId: campaign.id, triggeredBy: 'key-test' }),
  });
}

function startMissingReport() {
  return env.client.workflow.start(REPORT_WORKFLOW, {
    taskQueue: env.taskQueue, workflowId: `report/999999/rr-${randomUUID()}`, args: [{ definitionId: '999999', triggeredBy: 'key-test' }],
    typedSearchAttributes: runSearchAttributes({ kind: 'report', definitionId: '999999', triggeredBy: 'key-test' }),
  });
}

before(async () => {
  env = await createTestEnv({ env: { ADMIN_API_KEY: ADMIN } });
  const real = createActivities(env.deps);
  await env.startWorker({
    activityOverrides: {
      checkExportWindow: async () => {
        if (windowCheckFails) throw new Error('window service unreachable (test)');
        return real.checkExportWindow();
      },
    },
  });
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  campaign = await newCampaign(env.sql);
  await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2024-05-01T10:00:00Z'), [{}, {}]);
  destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: path.join(env.dataDir, 'exports') });
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await env.stop();
});

describe('runs that fail before recording their start', () => {
  test('an export of a deleted job is in GET /runs, the task log and the counters with its real error', async () => {
    const before = await counts();
    const handle = await startExport(env, { definitionId: '999998' });
    await assert.rejects(handle.result());
    const run = await call('GET', `/runs/${encodeURIComponent(handle.workflowId)}`);
    assert.equal(run.status, 200, run.text);
    assert.equal(run.json.status, 'failed');
    assert.match(run.json.error, /recording export job 999998 does not exist/);
    const [entry] = (await logEntries('type=recording-export&result=failed')).filter((e) => e.runId === handle.workflowId);
    assert.ok(entry, 'the run is in the task log');
    assert.match(entry.error ?? '', /does not exist/);
    const after = await counts();
    assert.equal(after['recording-export'].started - before['recording-export'].started, 1);
    assert.equal(after['recording-export'].ended - before['recording-export'].ended, 1);
  });

  test('a report whose definition is gone, which records nothing itself, is recorded on read and by the reconciler', async () => {
    const before = await counts();
    const read = await startMissingReport();
    await assert.rejects(read.result());
    const run = await call('GET', `/runs/${encodeURIComponent(read.workflowId)}`);
    assert.equal(run.json.status, 'failed');
    assert.match(run.json.error, /Report definition 999999 does not exist/);
    assert.ok((await logEntries('type=report')).some((e) => e.runId === read.workflowId));

    const swept = await startMissingReport();
    await assert.rejects(swept.result());
    // Another installation sharing the namespace (its own task queue) never records our runs as its own.
    await until('visibility lists the closed run', async () => {
      for await (const e of env.client.workflow.list({ query: `WorkflowId = '${swept.workflowId}' AND ExecutionStatus != 'Running'` })) if (e) return true;
      return false;
    });
    const elsewhere = await reconcileOpenRuns({ sql: env.sql, client: env.client }, { minAgeMs: 0, taskQueue: `${env.taskQueue}-elsewhere` });
    assert.ok(!elsewhere.unrecorded.includes(swept.workflowId), 'a run of another task queue is not recorded');
    assert.equal((await env.sql`select 1 from runs where run_id = ${swept.workflowId}`).length, 0);
    await until('the reconciler records the run from Temporal', async () =>
      (await reconcileOpenRuns({ sql: env.sql, client: env.client }, { minAgeMs: 0, taskQueue: env.taskQueue })).unrecorded.includes(swept.workflowId)
      || (await env.sql`select 1 from runs where run_id = ${swept.workflowId}`).length > 0);
    const [row] = await env.sql<{ status: string; error: string }[]>`select status, error from runs where run_id = ${swept.workflowId}`;
    assert.equal(row.status, 'failed');
    assert.match(row.error, /Report definition 999999 does not exist/);
    const after = await counts();
    assert.equal(after.report.started - before.report.started, 2);
    assert.equal(after.report.ended - before.report.ended, 2);
  });
});

describe('times and attempts', () => {
  test('an import scheduled ahead starts its duration when it runs, not when it was requested', async () => {
    const scheduledAt = new Date(Date.now() + 3_000).toISOString();
    const handle = await startImport(await importInput(3, scheduledAt));
    await handle.result();
    const [entry] = (await logEntries(`type=list-import`)).filter((e) => e.runId === handle.workflowId);
    assert.ok(Date.parse(entry.startedAt) >= Date.parse(scheduledAt), `started ${entry.startedAt}, scheduled for ${scheduledAt}`);
  });

  test('a run reset in Temporal keeps the entry of its first execution and gets one of its own', async () => {
    const definitionId = await createJob(env.sql, campaign.id, { destinationId });
    const handle = await startExport(env, { definitionId });
    await handle.result();
    const first = await env.client.workflow.getHandle(handle.workflowId).describe();
    const [original] = await logEntries(`definitionId=${definitionId}`);
    const history = await env.client.workflowService.getWorkflowExecutionHistory({
      namespace: env.client.options.namespace, execution: { workflowId: handle.workflowId, runId: first.runId },
    });
    const resetPoint = history.history!.events!.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)!;
    const { runId: resetRunId } = await env.client.workflowService.resetWorkflowExecution({
      namespace: env.client.options.namespace, workflowExecution: { workflowId: handle.workflowId, runId: first.runId },
      reason: 'test reset', workflowTaskFinishEventId: resetPoint.eventId, requestId: randomUUID(),
    });
    await env.client.workflow.getHandle(handle.workflowId, resetRunId!).result();

    const entries = await logEntries(`definitionId=${definitionId}&sort=startedAt`);
    assert.equal(entries.length, 2, JSON.stringify(entries));
    assert.ok(entries.every((e) => e.runId === handle.workflowId && e.attempts === 1 && e.status === 'completed'));
    assert.equal(entries[0].startedAt, original.startedAt, 'the first execution keeps its entry as it ended');
    assert.equal(entries[0].endedAt, original.endedAt);
    assert.ok(Date.parse(entries[1].startedAt) > Date.parse(original.endedAt), 'the reset execution starts after the first ended');
    assert.ok(entries[0].temporalUiUrl.endsWith(encodeURIComponent(first.runId)), 'the earlier entry links to its own execution');
  });

  test('a run reset while in progress: the execution cut short is logged terminated, the reset one as it ends', async (t) => {
    windowCheckFails = true;
    t.after(() => { windowCheckFails = false; });
    const definitionId = await createJob(env.sql, campaign.id, { destinationId });
    const before = await counts();
    const handle = await startExport(env, { definitionId });
    await until('the run recorded its start', async () => (await env.sql`select 1 from runs where run_id = ${handle.workflowId}`).length > 0);
    const first = await handle.describe();
    const history = await env.client.workflowService.getWorkflowExecutionHistory({
      namespace: env.client.options.namespace, execution: { workflowId: handle.workflowId, runId: first.runId },
    });
    const resetPoint = history.history!.events!.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)!;
    const { runId: resetRunId } = await env.client.workflowService.resetWorkflowExecution({
      namespace: env.client.options.namespace, workflowExecution: { workflowId: handle.workflowId, runId: first.runId },
      reason: 'test reset while running', workflowTaskFinishEventId: resetPoint.eventId, requestId: randomUUID(),
    });
    await until('the reset execution recorded its start', async () =>
      (await env.sql`select 1 from runs where run_id = ${handle.workflowId} and execution_id = ${resetRunId!}`).length > 0);
    windowCheckFails = false;
    await env.client.workflow.getHandle(handle.workflowId, resetRunId!).result();
    const entries = await logEntries(`definitionId=${definitionId}&sort=startedAt`);
    assert.deepEqual(entries.map((e) => [e.runId, e.status]), [[handle.workflowId, 'terminated'], [handle.workflowId, 'completed']]);
    assert.match(entries[0].error ?? '', /new execution/);
    const after = await counts();
    assert.equal(after['recording-export'].started - before['recording-export'].started, 2);
    assert.equal(after['recording-export'].ended - before['recording-export'].ended, 2);
  });

  test('a task in progress shows the attempt of the activity it is retrying', async (t) => {
    windowCheckFails = true;
    t.after(() => { windowCheckFails = false; });
    const definitionId = await createJob(env.sql, campaign.id, { destinationId });
    const handle = await startExport(env, { definitionId });
    await until('the window check is on its third attempt', async () =>
      ((await handle.describe()).raw.pendingActivities ?? []).some((a) => (a.attempt ?? 0) >= 3), 30_000);
    const tasks = await call('GET', '/tasks?state=in%20progress&type=recording-export');
    const item = tasks.json.items.find((i: { runId?: string }) => i.runId === handle.workflowId);
    assert.ok(item, tasks.text);
    assert.ok(item.attempts >= 3, `attempts ${item.attempts}`);
    windowCheckFails = false;
    await handle.result();
  });
});

describe('task views', () => {
  test('task log pages by keyset: a run finishing between two page reads is neither repeated nor pushes a row off', async () => {
    const insert = (runId: string, startedAt: string) => env.sql`
      insert into runs (run_id, type, name, status, started_at, ended_at)
      values (${runId}, 'keyset-test', 'Keyset', 'completed', ${startedAt}::timestamptz, ${startedAt}::timestamptz + interval '1 second')`;
    for (let i = 1; i <= 4; i++) await insert(`ks-${i}`, `2024-02-0${i}T00:00:00.123456Z`);
    const first = await call('GET', '/task-log?type=keyset-test&limit=2');
    assert.deepEqual(first.json.items.map((e: { runId: string }) => e.runId), ['ks-4', 'ks-3']);
    await insert('ks-new', '2024-02-09T00:00:00Z'); // a newer run finished meanwhile
    await insert('ks-long', '2024-01-15T00:00:00Z'); // a long run that started first finished late
    const second = await call('GET', `/task-log?type=keyset-test&limit=2&cursor=${first.json.nextCursor}`);
    const third = await call('GET', `/task-log?type=keyset-test&limit=2&cursor=${second.json.nextCursor}`);
    assert.deepEqual([...second.json.items, ...third.json.items].map((e: { runId: string }) => e.runId), ['ks-2', 'ks-1', 'ks-long']);
    assert.equal(third.json.nextCursor, null);
    assert.equal((await call('GET', `/task-log?type=keyset-test&sort=duration&cursor=${first.json.nextCursor}`)).status, 400, 'a cursor of another sort');
  });

  test('the campaign lock workflow is never a task', async () => {
    const handle = await startImport(await importInput(2));
    await handle.result();
    // The lock workflow stays open for a while after the import; the view is read while visibility lists it open.
    const lock = await until('visibility lists the campaign\'s lock workflow open', async () => {
      const query = `TaskQueue = '${env.taskQueue}' AND WorkflowType = 'campaignLock' AND ExecutionStatus = 'Running'`;
      for await (const execution of env.client.workflow.list({ query })) return execution;
      return undefined;
    });
    const tasks = await call('GET', '/tasks');
    assert.ok(!tasks.json.items.some((i: { runId?: string; taskName: string }) => i.runId === lock.workflowId || i.taskName === 'campaignLock'), tasks.text);
  });

  test('"run now" of a scheduled task records the caller, and its start is counted once', async () => {
    const before = await counts();
    for (const route of [(id: string) => `/tasks/${id}/run`, (id: string) => `/recording-export-jobs/${id}/run`]) {
      const definitionId = await createJob(env.sql, campaign.id, { destinationId, schedule: { every: '1h' } });
      const scheduleId = `recording-export/${definitionId}`;
      await env.sql`update job_definitions set schedule_id = ${scheduleId} where id = ${definitionId}`;
      await upsertJobSchedule(env.client, {
        scheduleId, workflowType: RECORDING_EXPORT_WORKFLOW, workflowIdPrefix: scheduleId, taskQueue: env.taskQueue,
        args: [{ definitionId, triggeredBy: 'schedule' }], spec: { every: '1h' }, paused: false, overlap: 'skip',
        searchAttributes: runSearchAttributes({ kind: 'recording-export', campaignId: campaign.id, definitionId, triggeredBy: 'schedule' }),
      });
      try {
        const started = await call('POST', route(definitionId));
        assert.equal(started.status, 202, started.text);
        await env.client.workflow.getHandle(started.json.runId).result();
        const entries = await logEntries(`definitionId=${definitionId}`);
        assert.deepEqual(entries.map((e) => e.actingUser), ['key:ADMIN_API_KEY'], route(definitionId));
      } finally {
        await env.client.schedule.getHandle(scheduleId).delete();
      }
    }
    const after = await counts();
    assert.equal(after['recording-export'].started - before['recording-export'].started, 2);
    assert.equal(after['recording-export'].ended - before['recording-export'].ended, 2);
  });
});

describe('search attributes', () => {
  test('CcTriggeredBy of a run an API key starts is key-<id> for every job, never the key\'s name', async () => {
    const reportId = await createReportDefinition(env.sql, { campaignId: campaign.id });
    const report = await call('POST', `/reports/${reportId}/run`);
    assert.equal(report.status, 202, report.text);
    const handle = env.client.workflow.getHandle(report.json.runId);
    await handle.result();
    assert.equal((await handle.describe()).typedSearchAttributes.get(TRIGGERED_BY), 'key-env:ADMIN_API_KEY');
  });
});

/** An erasure of the campaign's seeded recordings, previewed and confirmed through the API. */
async function startErasure() {
  const preview = await call('POST', '/erasures/preview', { campaignId: campaign.id, items: ['voice-recording'], date: '2024-05-01', reason: 'run record test' });
  assert.equal(preview.status, 200, preview.text);
  const started = await call('POST', '/erasures', { previewId: preview.json.previewId, confirm: true });
  assert.equal(started.status, 202, started.text);
  return env.client.workflow.getHandle(started.json.runId);
}

describe('metrics', () => {
  test('started = ended + open for every kind over a mixed workload', async () => {
    const before = await counts();
    const definitionId = await createJob(env.sql, campaign.id, { destinationId });
    const handles = [
      await startExport(env, { definitionId }),
      await startExport(env, { definitionId: '999997' }),
      await startMissingReport(),
      await startImport(await importInput(4)),
      await startErasure(),
    ];
    await Promise.allSettled(handles.map((h) => h.result()));
    for (const h of handles) await call('GET', `/runs/${encodeURIComponent(h.workflowId)}`); // records the one that wrote nothing
    const after = await counts();
    const [open] = await env.sql<{ n: number }[]>`select count(*)::int as n from runs where status in ('scheduled', 'running')`;
    assert.equal(open.n, 0);
    for (const type of KINDS) {
      const started = after[type].started - before[type].started;
      const ended = after[type].ended - before[type].ended;
      assert.equal(started, ended, `${type}: started ${started}, ended ${ended}`);
      assert.ok(started >= 1, `${type}: runs counted`);
    }
  });
});
