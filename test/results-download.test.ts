// One-time campaign results download (API.md "Campaign results"): a run writes the file into the content
// store, GET …/results/downloads/{fileId} returns it; `between` selects records closed in a range; without it,
// everything since the last download without `between` (two downloads: the second gets only the new, and a
// record closed long ago but collected late is not lost); ZIP; bad input is 400 naming the field.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type RunningWorker, type TestEnv } from './harness/env.js';

let env: TestEnv;
let api: Api;
let worker: RunningWorker;
let campaignId: string;
let listId: string;

before(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  worker = await env.startWorker();
  const res = await api.call('POST', '/campaigns', { body: { name: `results-${Date.now()}`, timezone: 'America/Los_Angeles' } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  campaignId = res.json.id;
  [{ id: listId }] = await env.sql<{ id: string }[]>`insert into calling_lists (campaign_id, name) values (${campaignId}, 'Test List') returning id::text`;
  for (const c of ['D1', 'D2', 'D3', 'D4']) {
    await env.sql`insert into contacts (campaign_id, list_id, client_id, name) values (${campaignId}, ${listId}, ${c}, ${'Name ' + c})`;
  }
});
after(async () => { await worker?.stop(); await api?.close(); await env?.stop(); });

const attempt = (clientId: string, completedAt: string, extra: Record<string, unknown> = {}) => ({
  campaignId, clientId, phone: '+15550001111', startedAt: new Date(Date.parse(completedAt) - 60_000).toISOString(), completedAt,
  status: 'DELIVEREDPERSON', agent: 'alice', ...extra,
});

async function waitRun(runId: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const res = await api.call('GET', `/runs/${encodeURIComponent(runId)}`);
    if (res.status === 200 && ['completed', 'failed', 'cancelled', 'terminated'].includes(res.json.status)) return res.json;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${runId} did not finish`);
}

async function download(body: Record<string, unknown>): Promise<{ run: any; file: Buffer; contentType: string }> {
  const started = await api.call('POST', `/campaigns/${campaignId}/results/downloads`, { body });
  assert.equal(started.status, 202, JSON.stringify(started.json));
  const run = await waitRun(started.json.runId);
  assert.equal(run.status, 'completed', JSON.stringify(run));
  const res = await fetch(`${api.base}/campaigns/${campaignId}/results/downloads/${run.result.fileId}`, { headers: { authorization: `Bearer ${api.adminKey}` } });
  assert.equal(res.status, 200);
  return { run, file: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? '' };
}

const rowsOf = (csv: Buffer | string) => parse(csv, { columns: true }) as Record<string, string>[];

test('with between: the records closed in the range, in the chosen time zone', async () => {
  const res = await api.call('POST', '/attempts', { body: [
    attempt('D1', '2025-03-01T10:00:00Z', { disposition: 'Busy' }),
    attempt('D1', '2025-03-01T11:00:00Z', { disposition: 'Sale', recordStatus: 'Closed' }),
    attempt('D2', '2025-03-02T11:00:00Z', { disposition: 'Sale', recordStatus: 'Closed' }),
  ] });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  // 2025-03-01 00:00 to 2025-03-02 00:00 in Los Angeles = 08:00Z to 08:00Z next day.
  const { file, contentType, run } = await download({ format: 'simple', between: { from: '2025-03-01T00:00', to: '2025-03-02T00:00' } });
  assert.match(contentType, /text\/csv/);
  const rows = rowsOf(file);
  assert.deepEqual(rows.map((r) => [r.client_id, r.attempt_number, r.disposition, r.closed_at, r.list]),
    [['D1', '2', 'Sale', '2025-03-01T03:00:00-08:00', 'Test List']]);
  assert.equal(run.result.rows, 1);
});

test('without between: everything since the last download, the second download gets only the new', async () => {
  const first = rowsOf((await download({ format: 'detailed' })).file);
  assert.deepEqual(first.map((r) => `${r.client_id}#${r.attempt_number}`), ['D1#1', 'D1#2', 'D2#1'], 'the first download covers everything');
  const res = await api.call('POST', '/attempts', { body: [
    attempt('D3', '2025-03-03T09:00:00Z', { disposition: 'NoSale', recordStatus: 'Closed' }),
    // Closed long ago, collected only now: still in the next download.
    attempt('D4', '2024-12-01T09:00:00Z', { disposition: 'Sale', recordStatus: 'Closed' }),
  ] });
  assert.equal(res.status, 201);
  const second = rowsOf((await download({ format: 'simple' })).file);
  assert.deepEqual(second.map((r) => r.client_id).sort(), ['D3', 'D4']);
  const third = (await download({ format: 'simple' })).file.toString();
  assert.equal(rowsOf(third).length, 0, 'nothing new: only the header');
  assert.match(third, /^client_id,name,phone,phone2,phone3,email,list,record_status,closed_at,attempt_number,/);
});

test('a download with between does not move the marker', async () => {
  await api.call('POST', '/attempts', { body: [attempt('D1', '2025-03-05T09:00:00Z', { recordStatus: 'Closed', disposition: 'Again' })] });
  await download({ format: 'simple', between: { from: '2025-03-05T00:00:00Z', to: '2025-03-06T00:00:00Z' } });
  const next = rowsOf((await download({ format: 'simple' })).file);
  assert.deepEqual(next.map((r) => r.client_id), ['D1'], 'the record re-closed is in the next download without between');
});

test('a download cancelled while it waits for the marker saves nothing and moves nothing', async () => {
  await api.call('POST', '/attempts', { body: [attempt('D2', '2025-03-06T09:00:00Z', { recordStatus: 'Closed', disposition: 'Late' })] });
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  let locked!: () => void;
  const lockTaken = new Promise<void>((resolve) => { locked = resolve; });
  // Another download's transaction holding the campaign's marker: this one waits for it.
  const holder = env.sql.begin(async (tx) => {
    await tx`select 1 from results_download_markers where campaign_id = ${campaignId} for update`;
    locked();
    await held;
  });
  await lockTaken;
  const started = await api.call('POST', `/campaigns/${campaignId}/results/downloads`, { body: { format: 'simple' } });
  assert.equal(started.status, 202);
  const runId = started.json.runId;
  // Deterministic: cancel only once the run is blocked on the marker's row lock.
  for (let i = 0; ; i++) {
    const [w] = await env.sql<{ n: number }[]>`select count(*)::int as n from pg_locks where not granted and locktype = 'transactionid'`;
    if (w.n > 0) break;
    assert.ok(i < 600, 'the download never waited for the marker');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await api.call('POST', `/runs/${encodeURIComponent(runId)}/cancel`)).status, 202);
  const run = await waitRun(runId);
  release();
  await holder;
  assert.equal(run.status, 'cancelled', JSON.stringify(run));
  const [files] = await env.sql<{ n: number }[]>`select count(*)::int as n from results_files where run_id = ${runId}`;
  assert.equal(files.n, 0, 'nothing saved');
  const next = rowsOf((await download({ format: 'simple' })).file);
  assert.deepEqual(next.map((r) => r.client_id), ['D2'], 'the next download still has what the cancelled one would have had');
});

test('zip: a ZIP holding the CSV', async () => {
  const { file, contentType } = await download({ format: 'detailed', zip: true, between: { from: '2025-03-01T00:00:00Z', to: '2025-04-01T00:00:00Z' } });
  assert.equal(contentType, 'application/zip');
  const entries = await unzip(file);
  assert.equal(entries.length, 1);
  assert.match(entries[0].name, /\.csv$/);
  assert.equal(rowsOf(entries[0].data).length, 6, 'D1: 3 attempts, D2: 2, D3: 1');
});

test('after 30 days a file is gone: 404, and the next run removes its row and object', async () => {
  const { run } = await download({ format: 'simple', between: { from: '2025-03-01T00:00:00Z', to: '2025-03-02T00:00:00Z' } });
  const fileId = run.result.fileId;
  const [{ store_key: key }] = await env.sql<{ store_key: string }[]>`
    update results_files set expires_at = now() - interval '1 second' where id = ${fileId} returning store_key`;
  assert.equal((await api.call('GET', `/campaigns/${campaignId}/results/downloads/${fileId}`)).status, 404);
  assert.equal(await env.deps.store.exists(key), true);
  await download({ format: 'simple', between: { from: '2025-03-01T00:00:00Z', to: '2025-03-02T00:00:00Z' } });
  assert.equal((await env.sql`select 1 from results_files where id = ${fileId}`).length, 0);
  assert.equal(await env.deps.store.exists(key), false);
});

test('bad input is 400 naming the field; an unknown campaign 404; an unknown file 404', async () => {
  const bad = async (body: unknown, path: string) => {
    const res = await api.call('POST', `/campaigns/${campaignId}/results/downloads`, { body });
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.ok(res.json.errors.some((e: { path: string }) => e.path === path), JSON.stringify(res.json));
  };
  await bad({ format: 'everything' }, 'format');
  await bad({ format: 'simple', timezone: 'Mars/Olympus' }, 'timezone');
  await bad({ format: 'simple', listIds: ['999999'] }, 'listIds.0');
  await bad({ format: 'simple', between: { from: '2025-03-02T00:00:00Z', to: '2025-03-01T00:00:00Z' } }, 'between.to');
  await bad({ format: 'simple', dispositions: [] }, 'dispositions');
  assert.equal((await api.call('POST', '/campaigns/999999999/results/downloads', { body: { format: 'simple' } })).status, 404);
  assert.equal((await api.call('GET', `/campaigns/${campaignId}/results/downloads/999999`)).status, 404);
});

async function unzip(buf: Buffer): Promise<{ name: string; data: Buffer }[]> {
  const file = path.join(env.dataDir, `results-${Date.now()}.zip`);
  await writeFile(file, buf);
  const run = promisify(execFile);
  const { stdout: listing } = await run('unzip', ['-Z1', file]);
  const names = listing.split('\n').filter(Boolean);
  return Promise.all(names.map(async (name) => ({ name, data: Buffer.from((await run('unzip', ['-p', file, name], { maxBuffer: 64 * 1024 * 1024 })).stdout) })));
}
