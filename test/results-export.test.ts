// Periodic results export jobs (API.md "Campaign results", seed 000 "Periodic Export Jobs"): consecutive runs
// partition the results exactly (a record closed long ago but collected late included), two runs started
// together still do, an unreachable destination is retried until it is back, the file name carries the run's
// date and time, the interval minimum and bad input are 400, test connection, the schedule's next run shown.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { startApi, type Api } from './erasure-fixtures.js';
import { until } from './faults/crash-helpers.js';
import { startTcpProxy, type TcpProxy } from './faults/tcp-proxy.js';
import { createTestEnv, type RunningWorker, type TestEnv } from './harness/env.js';
import { startSshd, type SshdServer } from './harness/servers/index.js';
import { createDestination, filesUnder } from './recording-export-helpers.js';

let env: TestEnv;
let api: Api;
let worker: RunningWorker;
let sshd: SshdServer;
let campaignId: string;
let root: string;
let fileDestination: string;

before(async () => {
  [env, sshd] = await Promise.all([createTestEnv(), startSshd()]);
  api = await startApi(env);
  worker = await env.startWorker();
  const res = await api.call('POST', '/campaigns', { body: { name: `results-export-${Date.now()}`, timezone: 'UTC' } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  campaignId = res.json.id;
  for (const c of ['E1', 'E2', 'E3', 'E4', 'E5', 'E6']) await env.sql`insert into contacts (campaign_id, client_id, name) values (${campaignId}, ${c}, ${'Name ' + c})`;
  root = path.join(env.config.fileDestinationRoot, `results-${randomBytes(3).toString('hex')}`);
  await mkdir(root, { recursive: true });
  fileDestination = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: root });
});
after(async () => { await worker?.stop(); await api?.close(); await env?.stop(); await sshd?.stop(); });

const attempt = (clientId: string, completedAt: string, extra: Record<string, unknown> = {}) => ({
  campaignId, clientId, phone: '+15550001111', startedAt: new Date(Date.parse(completedAt) - 60_000).toISOString(), completedAt,
  status: 'DELIVEREDPERSON', agent: 'bob', ...extra,
});
async function post(attempts: unknown[]) {
  const res = await api.call('POST', '/attempts', { body: attempts });
  assert.equal(res.status, 201, JSON.stringify(res.json));
}

async function createJob(body: Record<string, unknown>): Promise<string> {
  const res = await api.call('POST', '/results-export-jobs', { body: {
    name: `job-${randomBytes(3).toString('hex')}`, enabled: false, campaignId, format: 'detailed',
    schedule: { startAt: '2025-01-01T00:00:00Z', every: '1h' }, destinationId: fileDestination, path: 'out/results.csv', ...body,
  } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return res.json.id;
}

async function runNow(jobId: string): Promise<string> {
  const res = await api.call('POST', `/results-export-jobs/${jobId}/run`);
  assert.equal(res.status, 202, JSON.stringify(res.json));
  return res.json.runId;
}

async function finished(runId: string): Promise<any> {
  await until(`run ${runId}`, async () => {
    const res = await api.call('GET', `/runs/${encodeURIComponent(runId)}`);
    return res.status === 200 && !['running', 'scheduled'].includes(res.json.status);
  }, 120_000);
  return (await api.call('GET', `/runs/${encodeURIComponent(runId)}`)).json;
}

const csvRows = async (dir: string, rel: string) => parse(await readFile(path.join(dir, rel)), { columns: true }) as Record<string, string>[];

describe('consecutive runs', () => {
  test('partition the results exactly, a record collected late included; each file named with the run time', async () => {
    const jobId = await createJob({ path: 'out/partition.csv' });
    await post([attempt('E1', '2025-03-01T10:00:00Z'), attempt('E1', '2025-03-01T10:05:00Z', { recordStatus: 'Closed', disposition: 'Sale' }),
      attempt('E2', '2025-03-01T10:10:00Z', { recordStatus: 'Callback' })]);
    const first = await finished(await runNow(jobId));
    assert.equal(first.status, 'completed', JSON.stringify(first));
    await post([attempt('E2', '2025-03-01T11:00:00Z', { recordStatus: 'Closed', disposition: 'NoSale' }),
      // Completed (and closed) long before the first run, collected only now: in the second file.
      attempt('E3', '2024-12-01T09:00:00Z', { recordStatus: 'Closed', disposition: 'Sale' })]);
    const second = await finished(await runNow(jobId));
    const third = await finished(await runNow(jobId));
    assert.deepEqual([second.status, third.status], ['completed', 'completed']);

    const files = (await filesUnder(root)).filter((f) => f.startsWith('out/partition_'));
    assert.equal(files.length, 3, files.join(', '));
    for (const f of files) assert.match(f, /^out\/partition_\d{8}_\d{6}\.csv$/);
    assert.deepEqual([first, second, third].map((r) => `out/${r.result.fileName}`), files, 'file names in run order');
    const contents = await Promise.all(files.map((f) => csvRows(root, f)));
    const ids = (rows: Record<string, string>[]) => rows.map((r) => `${r.client_id}#${r.attempt_number}`);
    assert.deepEqual(ids(contents[0]), ['E1#1', 'E1#2']);
    assert.deepEqual(ids(contents[2]), [], 'nothing new: the header only');
    assert.deepEqual(ids(contents[1]).sort(), ['E2#1', 'E2#2', 'E3#1']);
    const view = await api.call('GET', `/results-export-jobs/${jobId}`);
    assert.equal(view.json.collectedThrough, third.result.range.end);
    assert.equal(first.result.range.end, second.result.range.start, 'no gap, no overlap');
    assert.equal(second.result.range.end, third.result.range.start);
  });
});

test('two runs started together: every attempt exported once, the later run takes what the first left', async () => {
  // Starting now: only what is collected from here on.
  const jobId = await createJob({ format: 'detailed-in-timeframe', schedule: { startAt: new Date().toISOString(), every: '15m' }, path: 'out/together.csv' });
  await post(Array.from({ length: 30 }, (_, i) => attempt(`E${4 + (i % 3)}`, `2025-03-02T10:${String(i).padStart(2, '0')}:00Z`)));
  const runs = await Promise.all([runNow(jobId), runNow(jobId)]);
  const ended = await Promise.all(runs.map(finished));
  assert.deepEqual(ended.map((r) => r.status), ['completed', 'completed'], JSON.stringify(ended));
  const files = (await filesUnder(root)).filter((f) => f.startsWith('out/together_'));
  const rows = (await Promise.all(files.map((f) => csvRows(root, f)))).flat();
  assert.equal(rows.length, 30, 'each attempt in exactly one file');
  assert.equal(new Set(rows.map((r) => `${r.client_id}#${r.attempt_number}`)).size, 30);
  assert.equal(files.length, ended.filter((r) => r.result.exported).length, 'a run that found its time covered sends no file');
});

test('the destination unreachable: the sending is retried and the run completes once it is back', async () => {
  const proxy: TcpProxy = await startTcpProxy(sshd.host, sshd.port);
  try {
    const dir = path.join(sshd.rootDir, `outage-${randomBytes(3).toString('hex')}`);
    await mkdir(dir);
    const destinationId = await createDestination(env.sql, env.deps.keyring,
      { protocol: 'sftp', host: '127.0.0.1', port: proxy.port, username: sshd.username, path: dir }, { privateKey: sshd.privateKey });
    const jobId = await createJob({ destinationId, path: 'res.csv', format: 'simple', schedule: { startAt: new Date().toISOString(), every: '1h' } });
    await post([attempt('E1', '2025-03-03T10:00:00Z', { recordStatus: 'Closed', disposition: 'Again' })]);
    const tested = await api.call('POST', `/results-export-jobs/${jobId}/test`);
    assert.equal(tested.status, 200, JSON.stringify(tested.json));
    await proxy.down();
    const down = await api.call('POST', `/results-export-jobs/${jobId}/test`);
    assert.equal(down.status, 422);
    const runId = await runNow(jobId);
    // The file is saved and waits for the destination; the send has failed at least once.
    await until('a failed send attempt', async () => {
      const desc = await env.client.workflow.getHandle(runId).describe();
      return (desc.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'sendResultsExportFiles' && (a.attempt ?? 0) > 1);
    }, 60_000);
    await proxy.up();
    const run = await finished(runId);
    assert.equal(run.status, 'completed', JSON.stringify(run));
    const files = await filesUnder(dir);
    assert.deepEqual(files, [run.result.fileName]);
    assert.deepEqual((await csvRows(dir, files[0])).map((r) => r.client_id), ['E1']);
  } finally {
    await proxy.close();
  }
});

test('bad input is 400 naming the field; the interval minimum depends on the format', async () => {
  const bad = async (body: Record<string, unknown>, field: string) => {
    const res = await api.call('POST', '/results-export-jobs', { body: {
      name: `bad-${randomBytes(3).toString('hex')}`, enabled: false, campaignId, format: 'simple',
      schedule: { startAt: '2025-01-01T00:00:00Z', every: '1h' }, destinationId: fileDestination, path: 'x.csv', ...body,
    } });
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.ok(res.json.errors.some((e: { path: string }) => e.path === field), JSON.stringify(res.json));
  };
  await bad({ schedule: { startAt: '2025-01-01T00:00:00Z', every: '30m' } }, 'schedule.every');
  await bad({ format: 'detailed-in-timeframe', schedule: { startAt: '2025-01-01T00:00:00Z', every: '10m' } }, 'schedule.every');
  await bad({ destinationId: '999999' }, 'destinationId');
  await bad({ path: '../escape.csv' }, 'path');
  await bad({ listIds: ['999999'] }, 'listIds.0');
  await bad({ schedule: { every: '1h' } }, 'schedule.startAt');
  const ok = await api.call('POST', '/results-export-jobs', { body: {
    name: `ok-${randomBytes(3).toString('hex')}`, enabled: true, campaignId, format: 'detailed-in-timeframe',
    schedule: { startAt: '2030-01-01T00:07:00Z', every: '15m' }, destinationId: fileDestination, path: 'x.csv',
  } });
  assert.equal(ok.status, 201, JSON.stringify(ok.json));
  const view = await api.call('GET', `/results-export-jobs/${ok.json.id}`);
  assert.equal(view.json.nextRunAt, '2030-01-01T00:07:00.000Z', 'the first run at startAt');
  assert.equal(view.json.type, 'Campaign results export');
  const tasks = await api.call('GET', '/tasks?type=results-export');
  const task = tasks.json.items.find((t: { definitionId?: string }) => t.definitionId === ok.json.id);
  assert.deepEqual([task?.type, task?.typeName], ['results-export', 'Campaign results export'], 'the task view: the kind (API.md) and the seed\'s name');
  const paused = await api.call('PATCH', `/results-export-jobs/${ok.json.id}`, { body: { enabled: false } });
  assert.equal(paused.status, 200);
  assert.equal(paused.json.nextRunAt, null);
  assert.equal((await api.call('DELETE', `/results-export-jobs/${ok.json.id}`)).status, 204);
  assert.equal((await api.call('GET', `/results-export-jobs/${ok.json.id}`)).status, 404);
});
