// List export through the API on a real worker, PostgreSQL, Temporal, sshd (SFTP) and ftp-srv (issue 14; seed 001
// "Export Contact Records", "Scheduled Contact List Export"): the chosen fields in the chosen order with the
// separator and header asked for, the filter's contacts only, formulas neutralized; the bytes decoded in each
// encoding; the remote name `<folder>/<campaign id>.export.<yyyyMMddHHmmss>` and its .log on SFTP and FTP; the
// file downloadable from the processes view in every case; one consistent snapshot (a writer committing while
// the COPY runs — held still by a table lock the test takes — is not in the file); bad input → 400 naming the
// field, nothing started.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { startApi, type Api } from './erasure-fixtures.js';
import { distinctCampaignIds } from './faults/crash-helpers.js';
import { createTestEnv, type TestEnv, type RunningWorker } from './harness/env.js';
import { startFtp, startSshd, type FtpServer, type SshdServer } from './harness/servers/index.js';
import { createDestination } from './recording-export-helpers.js';
import { blockedInStep, lockOf, processFile, seedProcessCampaign } from './contact-process-helpers.js';
import { closedRun, stepsOf } from './jobs-helpers.js';

let env: TestEnv;
let api: Api;
let worker: RunningWorker;
let sshd: SshdServer;
let ftp: FtpServer;

before(async () => {
  [env, sshd, ftp] = await Promise.all([createTestEnv({ env: { CAMPAIGN_LOCK_CHECK_SECONDS: '1' } }), startSshd(), startFtp()]);
  await distinctCampaignIds(env.sql);   // lock workflows are named by campaign id in the shared namespace
  worker = await env.startWorker();
  api = await startApi(env);
});
after(async () => { await api?.close(); await worker?.stop(); await env?.stop(); await sshd?.stop(); await ftp?.stop(); });

const finished = (runId: string) => env.client.workflow.getHandle(runId).result() as Promise<any>;

async function exported(campaignId: string, body: Record<string, unknown>): Promise<{ runId: string; result: any; bytes: Buffer }> {
  const res = await api.call('POST', `/campaigns/${campaignId}/exports`, { body });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const result = await finished(res.json.runId);
  const file = await processFile(api.base, api.adminKey, res.json.runId);
  assert.equal(file.status, 200);
  return { runId: res.json.runId, result, bytes: file.bytes };
}

test('the chosen fields in the chosen order, separator, header, filter; formulas neutralized; downloadable', async () => {
  const { campaignId, listA } = await seedProcessCampaign(env.sql, 'exp');
  const { runId, result, bytes } = await exported(campaignId, {
    fields: ['region', 'client_id', 'phone2', 'name', 'status'], separator: ';', filter: { listIds: [listA] },
  });
  assert.match(runId, /^list-export\//);
  assert.equal(result.exported, 3);
  assert.equal(result.matched, 3);
  const text = bytes.toString('utf8');
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'region;client_id;phone2;name;status');
  assert.deepEqual(parse(text, { delimiter: ';', columns: true }), [
    { region: 'north', client_id: 'P1', phone2: '', name: 'Ana Ruiz', status: 'Closed' },
    { region: 'south', client_id: 'P2', phone2: '+15550100012', name: '\'=HYPERLINK("x")', status: 'Inactive' },
    { region: 'east', client_id: 'P5', phone2: '', name: 'Di Zhōu', status: 'Closed' },
  ]);
  const noHeader = await exported(campaignId, { fields: ['client_id', 'name'], hasHeader: false, separator: 'tab', filter: { statuses: ['Remaining'] } });
  assert.equal(noHeader.bytes.toString('utf8'), 'P4\t"Cy, ""Q"""\n');

  const processes = await api.call('GET', `/processes?campaignId=${campaignId}&type=export`);
  const row = processes.json.items.find((p: any) => p.runId === runId);
  assert.equal(row.status, 'finished');
  assert.deepEqual({ matched: row.details.matched, exported: row.details.exported }, { matched: 3, exported: 3 });
  assert.equal(row.fileUrl, `/processes/${encodeURIComponent(runId)}/file`);
  assert.match(row.file, new RegExp(`^${campaignId}\\.export\\.\\d{14}$`));
  assert.equal(await lockOf(env.sql, campaignId), null, 'the lock is released');
});

test('each encoding: UTF-8, UTF-16 LE (with a BOM), Windows-1252', async () => {
  const { campaignId } = await seedProcessCampaign(env.sql, 'enc');
  const body = { fields: ['client_id', 'name', 'note'], filter: { fields: { region: 'north' }, statuses: ['Closed'] } };
  const utf8 = await exported(campaignId, { ...body, encoding: 'utf8' });
  assert.equal(utf8.bytes.toString('utf8'), 'client_id,name,note\nP1,Ana Ruiz,café\n');
  const utf16 = await exported(campaignId, { ...body, encoding: 'utf16le' });
  assert.deepEqual([...utf16.bytes.subarray(0, 2)], [0xff, 0xfe], 'a UTF-16 LE BOM');
  assert.equal(utf16.bytes.subarray(2).toString('utf16le'), 'client_id,name,note\nP1,Ana Ruiz,café\n');
  const ansi = await exported(campaignId, { ...body, encoding: 'windows-1252' });
  assert.ok(ansi.bytes.includes(0xe9), 'é is one byte 0xE9 in Windows-1252');
  assert.equal(iconv.decode(ansi.bytes, 'win1252'), 'client_id,name,note\nP1,Ana Ruiz,café\n');
  const zhou = await exported(campaignId, { fields: ['name'], hasHeader: false, encoding: 'windows-1252', filter: { name: 'Zh' } });
  assert.equal(iconv.decode(zhou.bytes, 'win1252'), 'Di Zh?u\n', 'a character Windows-1252 lacks becomes ?');
});

for (const protocol of ['sftp', 'ftp'] as const) {
  test(`${protocol}: sent as <folder>/<campaign id>.export.<yyyyMMddHHmmss> with a .log beside it, and downloadable`, async () => {
    const { campaignId } = await seedProcessCampaign(env.sql, `exp-${protocol}`);
    const base = protocol === 'sftp' ? path.join(sshd.rootDir, 'lists') : 'lists';
    const destinationId = protocol === 'sftp'
      ? await createDestination(env.sql, env.deps.keyring, { protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, path: base }, { privateKey: sshd.privateKey })
      : await createDestination(env.sql, env.deps.keyring, { protocol: 'ftp', host: ftp.host, port: ftp.port, username: ftp.username, path: base }, { password: ftp.password });
    const { runId, result, bytes } = await exported(campaignId, { destinationId, folder: 'out/daily', filter: { majorReasons: ['SALE'] } });
    assert.equal(result.exported, 3);
    const dir = protocol === 'sftp' ? path.join(base, 'out', 'daily') : path.join(ftp.rootDir, base, 'out', 'daily');
    const names = (await readdir(dir)).sort();
    assert.equal(names.length, 2, names.join());
    assert.match(names[0], new RegExp(`^${campaignId}\\.export\\.\\d{14}$`));
    assert.equal(names[1], `${names[0]}.log`);
    assert.deepEqual(await readFile(path.join(dir, names[0])), bytes, 'the remote file is the downloadable one');
    assert.deepEqual(parse(bytes, { columns: true }).map((r: any) => r.client_id), ['P1', 'P3', 'P6']);
    assert.equal(result.fileName, names[0]);
    const log = await readFile(path.join(dir, names[1]), 'utf8');
    assert.match(log, /Started: \d{4}-\d\d-\d\dT/);
    assert.match(log, /Finished: \d{4}-\d\d-\d\dT/);
    assert.match(log, /Contacts exported: 3\n/);
    assert.match(log, /Contacts matched: 3\n/);
    assert.ok(log.includes(runId));
    const stamp = names[0].slice(-14);
    assert.equal(stamp, new Date(Date.parse(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(8, 10)}:${stamp.slice(10, 12)}:${stamp.slice(12)}Z`)).toISOString().replace(/[-:T]/g, '').slice(0, 14));
    const processes = await api.call('GET', `/processes?campaignId=${campaignId}&type=export`);
    assert.ok(processes.json.items[0].file.includes(`out/daily/${names[0]}`), processes.json.items[0].file);
  });
}

test('one consistent snapshot: a writer that commits while the COPY runs is not in the file', async () => {
  const { campaignId } = await seedProcessCampaign(env.sql, 'snap');
  // The COPY reads contact_phones (the phone columns); the test holds that table so the COPY waits with its
  // snapshot already taken, and commits a writer in the meantime.
  const holder = await env.sql.reserve();
  let released = false;
  try {
    await holder`begin`;
    await holder`lock table contact_phones in access exclusive mode`;
    const res = await api.call('POST', `/campaigns/${campaignId}/exports`, { body: { fields: ['client_id', 'name', 'phone'] } });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const { runId } = res.json;
    await blockedInStep(env.sql, runId, 'exporting');
    await env.sql.begin(async (tx) => {
      await tx`update contacts set name = 'Renamed ' || client_id where campaign_id = ${campaignId} and client_id in ('P1', 'P6')`;
      await tx`insert into contacts (campaign_id, client_id, name) values (${campaignId}, 'P7', 'Late')`;
    });
    await holder`rollback`;
    released = true;
    holder.release();
    await finished(runId);
    const rows = parse((await processFile(api.base, api.adminKey, runId)).bytes, { columns: true }) as Record<string, string>[];
    assert.deepEqual(rows.map((r) => r.client_id), ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'], 'the contact added meanwhile is not in it');
    assert.equal(rows[0].name, 'Ana Ruiz');
    assert.equal(rows[5].name, 'Ed Wu', 'both renamed contacts are as they were before');
    const [{ n }] = await env.sql`select count(*)::int as n from contacts where campaign_id = ${campaignId} and name like 'Renamed %'`;
    assert.equal(n, 2, 'the writer did commit');
  } finally {
    if (!released) {
      await holder`rollback`.catch(() => undefined);
      holder.release();
    }
  }
});

test('bad input is 400 naming the field, and nothing is started', async () => {
  const { campaignId } = await seedProcessCampaign(env.sql, 'bad');
  const cases: [Record<string, unknown>, string][] = [
    [{ fields: ['client_id', 'shoe_size'] }, 'fields.1'],
    [{ encoding: 'latin9' }, 'encoding'],
    [{ separator: '|' }, 'separator'],
    [{ filter: { statuses: ['Gone'] } }, 'filter.statuses'],
    [{ filter: { colour: 'red' } }, 'filter'],
    [{ fields: ['name', 'name'] }, 'fields'],
    [{ folder: 'x' }, 'folder'],
    [{ destinationId: '999999', folder: 'x' }, 'destinationId'],
    [{ folder: '../up', destinationId: '1' }, 'folder'],
  ];
  for (const [body, field] of cases) {
    const res = await api.call('POST', `/campaigns/${campaignId}/exports`, { body });
    assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.json)}`);
    assert.ok(JSON.stringify(res.json).includes(field), `${JSON.stringify(body)} names ${field}: ${JSON.stringify(res.json)}`);
  }
  const res = await api.call('POST', `/campaigns/${campaignId}/exports`, { body: { fields: ['shoe_size'] } });
  assert.match(res.json.detail, /shoe_size/);
  const [{ n }] = await env.sql`select count(*)::int as n from list_imports where campaign_id = ${campaignId}`;
  assert.equal(n, 0, 'nothing was started');
});

test('a scheduled contact list export (seed 001): a job with a schedule trigger and one list-export step; without a folder the file and its .log land in the destination\'s own folder', async () => {
  const { campaignId } = await seedProcessCampaign(env.sql, 'sched');
  const root = path.join(sshd.rootDir, `scheduled-${campaignId}`);
  await mkdir(root, { recursive: true });
  const destinationId = await createDestination(env.sql, env.deps.keyring,
    { protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, path: root }, { privateKey: sshd.privateKey });
  const job = await api.call('POST', '/jobs', { body: {
    name: `Scheduled Contact List Export ${campaignId}`, trigger: { kind: 'schedule', cron: '0 2 * * *' },
    steps: [{ name: 'export', kind: 'list-export', campaignId, destinationId }],
  } });
  assert.equal(job.status, 201, JSON.stringify(job.json));
  try {
    assert.ok((await api.call('GET', `/jobs/${job.json.id}`)).json.nextRunAt, 'the job is scheduled');
    const now = await api.call('POST', `/tasks/${job.json.id}/run`, {});   // what the schedule starts, started now
    assert.equal(now.status, 202, JSON.stringify(now.json));
    const run = await closedRun(env, now.json.runId);
    assert.equal(run.status, 'completed', run.error ?? '');
    const [step] = await stepsOf(env, now.json.runId);
    assert.equal(step.output.exported, 6, 'every contact of the campaign');
    const files = (await readdir(root)).sort();
    assert.equal(files.length, 2, files.join(', '));
    assert.match(files[0], new RegExp(`^${campaignId}\\.export\\.\\d{14}$`));
    assert.equal(files[1], `${files[0]}.log`);
    const csv = await readFile(path.join(root, files[0]), 'utf8');
    assert.equal(csv.split('\n')[0], 'client_id,name,phone,phone2,phone3,email,status', 'the default fields, UTF-8, ","');
    assert.match(await readFile(path.join(root, files[1]), 'utf8'), new RegExp(`File: ${files[0]} \\(.*\\n(.*\\n)*Contacts exported: 6\\n`));
  } finally {
    await api.call('DELETE', `/jobs/${job.json.id}`);
  }
});
