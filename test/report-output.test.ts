// Reports end to end through the HTTP API, a real worker and real servers: the crontab schedule in
// Temporal, ZIP + PGP (decrypted here with the private key) delivered over SFTP, S3 and SMTP, the
// "do not generate if empty" option, saved reports downloaded and removed after 30 days, and refusals.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import * as openpgp from 'openpgp';
import { createApp } from '../api/app.js';
import { openDestination } from '../lib/destinations.js';
import { deleteJobSchedule } from '../lib/temporal/schedules.js';
import { REPORT_RETENTION_WORKFLOW, SCHEDULED_START_TIME, type ReportRunResult } from '../contracts/report.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startS3, startSmtp, startSshd, type S3Server, type SmtpSink, type SshdServer } from './harness/servers/index.js';
import { insertAttempts, newCampaign, readStream } from './report-helpers.js';

const ADMIN = 'report-admin-key-0123456789';
const BUCKET = 'reports';
let env: TestEnv;
let server: Server;
let base: string;
let sshd: SshdServer;
let s3: S3Server;
let smtp: SmtpSink;
const schedules: string[] = [];

before(async () => {
  [sshd, s3, smtp] = await Promise.all([startSshd(), startS3(), startSmtp()]);
  await s3.createBucket(BUCKET);
  env = await createTestEnv({ env: { ADMIN_API_KEY: ADMIN, SMTP_URL: `smtp://${smtp.host}:${smtp.port}`, ACCOUNT_NAME: 'Acme', REPORT_TIMEZONE: 'UTC' } });
  await env.startWorker();
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const id of schedules) await deleteJobSchedule(env.client, id).catch(() => {});
  server?.close();
  await env?.stop();
  await Promise.all([sshd?.stop(), s3?.stop(), smtp?.stop()]);
});

async function call(method: string, url: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const buffer = Buffer.from(await res.arrayBuffer());
  const json = /json/.test(res.headers.get('content-type') ?? '') && buffer.length ? JSON.parse(buffer.toString()) : undefined;
  return { status: res.status, json, buffer, headers: res.headers };
}

async function created(res: Awaited<ReturnType<typeof call>>) {
  assert.equal(res.status, 201, JSON.stringify(res.json));
  if (res.json.scheduleId) schedules.push(res.json.scheduleId);
  return res.json as { id: string; scheduleId?: string; runId?: string };
}

const result = (runId: string) => env.client.workflow.getHandle(runId).result() as Promise<ReportRunResult>;

async function campaignWithAttempts(n: number) {
  const campaign = await newCampaign(env.sql);
  const now = Date.now();
  await insertAttempts(env.sql, campaign.id, Array.from({ length: n }, (_, i) => ({
    clientId: `K${i % 4}`, status: i % 3 === 0 ? 'DELIVEREDPERSON' : 'NOANSWER', completedAt: new Date(now - (i + 1) * 60_000),
  })));
  return campaign;
}

/** The attachment of a MIME message, decoded (nodemailer sends attachments base64-encoded). */
function attachmentOf(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  const at = text.search(/Content-Disposition: attachment/i);
  assert.ok(at >= 0, 'the message has an attachment');
  const start = text.indexOf('\r\n\r\n', at) + 4;
  const end = text.indexOf('\r\n--', start);
  return Buffer.from(text.slice(start, end).replace(/\s+/g, ''), 'base64');
}

async function decrypt(bytes: Uint8Array, privateKeyArmored: string): Promise<Buffer> {
  const message = await openpgp.readMessage({ binaryMessage: bytes });
  const decryptionKeys = await openpgp.readPrivateKey({ armoredKey: privateKeyArmored });
  const { data } = await openpgp.decrypt({ message, decryptionKeys, format: 'binary' });
  return Buffer.from(data as Uint8Array);
}

async function unzipOne(zip: Buffer, entry: string): Promise<string> {
  const file = path.join(env.dataDir, `check-${Date.now()}.zip`);
  await writeFile(file, zip);
  const { stdout } = await promisify(execFile)('unzip', ['-p', file, entry], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

describe('report output and delivery', () => {
  test('a crontab report becomes a Temporal Schedule (Sunday = 7), and a triggered run covers up to its scheduled time', async () => {
    const campaign = await campaignWithAttempts(3);
    const report = await created(await call('POST', '/reports', {
      name: 'Sunday attempts', type: 'all-attempts', campaignId: campaign.id, timeframe: { kind: 'incremental' },
      schedule: { cron: '30 6 * * 6,7' },
    }));
    assert.equal(report.scheduleId, `report/${report.id}`);
    const handle = env.client.schedule.getHandle(report.scheduleId!);
    const described = await handle.describe();
    const calendar = JSON.stringify(described.spec);
    assert.match(calendar, /SATURDAY/);
    assert.match(calendar, /SUNDAY/);
    assert.doesNotMatch(calendar, /MONDAY/);
    const view = await call('GET', `/reports/${report.id}`);
    assert.equal(view.json.schedule.temporalCron, '30 6 * * 0,6');
    assert.equal(new Date(view.json.nextRunAt).getUTCHours(), 6);
    assert.ok([0, 6].includes(new Date(view.json.nextRunAt).getUTCDay()));

    // Temporal records a triggered action's scheduled time in whole seconds: let the clock pass the inserts.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await handle.trigger();
    let workflowId: string | undefined;
    for (let i = 0; i < 100 && !workflowId; i++) {
      workflowId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
      if (!workflowId) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(workflowId?.startsWith(`report/${report.id}/scheduled`), workflowId);
    const run = await result(workflowId!);
    const scheduledAt = (await env.client.workflow.getHandle(workflowId!).describe()).typedSearchAttributes.get(SCHEDULED_START_TIME);
    assert.equal(run.range.end, scheduledAt!.toISOString());
    assert.equal(run.rows, 3, JSON.stringify({ run, scheduledAt }));
  });

  test('ZIP and PGP: one run delivers the encrypted zip to SFTP, S3 and e-mail, and each decrypts to the CSV', async () => {
    const campaign = await campaignWithAttempts(6);
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'Reports', email: 'reports@example.com' }], format: 'armored' });
    const sftpDest = await created(await call('POST', '/destinations', { name: 'sftp-reports', protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, path: path.join(sshd.rootDir, 'reports') }));
    const s3Dest = await created(await call('POST', '/destinations', { name: 's3-reports', protocol: 's3', bucket: BUCKET, endpoint: s3.endpoint, region: s3.region, username: s3.accessKeyId, password: s3.secretAccessKey, path: 'daily' }));
    const report = await created(await call('POST', '/reports', {
      name: 'Encrypted daily', type: 'all-attempts', campaignId: campaign.id, timeframe: { kind: 'today' },
      output: { destinationIds: [sftpDest.id, s3Dest.id], emails: ['ops@example.com', 'qa@example.com'], zip: true, pgpPublicKey: publicKey,
        fileNameFormat: '<REPORT>_<ACCOUNT>_<END:yyyyMMdd>' },
    }));
    assert.ok(report.runId, 'a report without a schedule runs at once');
    const run = await result(report.runId!);
    const day = new Date(run.range.end).toISOString().slice(0, 10).replaceAll('-', '');
    const csvName = `All Attempts_Acme_${day}.csv`;
    const sent = `All Attempts_Acme_${day}.zip.pgp`;
    assert.deepEqual(run.delivered.map((d) => path.basename(d.fileName)).sort(), [sent, sent, sent]);

    const fromSftp = await readFile(path.join(sshd.rootDir, 'reports', sent));
    const s3Transfer = await openDestination(env.sql, env.deps.keyring, s3Dest.id);
    const fromS3 = await readStream(await s3Transfer.get(sent));
    await s3Transfer.close();
    const [mail] = await smtp.waitForMessages(1);
    assert.deepEqual(mail.to.sort(), ['ops@example.com', 'qa@example.com']);
    assert.ok(mail.raw.toString('latin1').includes('.zip.pgp'), 'the attachment keeps its file name');
    for (const [where, bytes] of [['sftp', fromSftp], ['s3', fromS3], ['email', attachmentOf(mail.raw)]] as const) {
      assert.notEqual(bytes.subarray(0, 2).toString(), 'PK', `${where}: encrypted, not a bare zip`);
      const csv = await unzipOne(await decrypt(bytes, privateKey), csvName);
      const rows = parse(csv, { columns: true }) as Record<string, string>[];
      assert.equal(rows.length, 6, where);
      assert.equal(rows.filter((r) => r.BestContact === '1').length, 4, `${where}: one best attempt per contact`);
    }
  });

  test('"do not generate if empty" skips an empty report; without it an empty report is still delivered', async () => {
    const campaign = await newCampaign(env.sql);
    const folder = path.join(env.dataDir, 'empty-out');
    const dest = await created(await call('POST', '/destinations', { name: 'local-empty', protocol: 'file', path: folder }));
    const make = async (name: string, skipIfEmpty: boolean) => created(await call('POST', '/reports', {
      name, type: 'summary', campaignId: campaign.id, timeframe: { kind: 'incremental' },
      output: { destinationIds: [dest.id], skipIfEmpty, fileNameFormat: `${name}` },
    }));
    const skipped = await result((await make('skipped', true)).runId!);
    const delivered = await result((await make('delivered', false)).runId!);
    assert.equal(skipped.skipped, true);
    assert.equal(skipped.delivered.length, 0);
    await assert.rejects(readFile(path.join(folder, 'skipped.csv')));
    assert.equal(delivered.skipped, false);
    const csv = await readFile(path.join(folder, 'delivered.csv'), 'utf8');
    assert.deepEqual(parse(csv, { columns: true }), [{ Status: 'TOTAL', StatusRank: '', Attempts: '0', Contacts: '0' }]);
  });

  test('saved reports are listed and downloadable, and the retention run removes them after 30 days', async () => {
    const campaign = await campaignWithAttempts(5);
    const report = await created(await call('POST', '/reports', { name: 'Best of today', type: 'best-contact', campaignId: campaign.id, timeframe: { kind: 'entire-campaign' } }));
    const run = await result(report.runId!);
    const again = await call('POST', `/reports/${report.id}/run`);
    assert.equal(again.status, 202);
    await result(again.json.runId);

    const saved = await call('GET', `/reports/${report.id}/saved`);
    assert.equal(saved.status, 200);
    assert.equal(saved.json.items.length, 2);
    const first = saved.json.items.find((f: { runId: string }) => f.runId === report.runId);
    assert.equal(first.rows, 4);
    assert.equal(first.fileName, run.fileName);
    const download = await call('GET', `/reports/${report.id}/saved/${first.id}`);
    assert.equal(download.status, 200);
    assert.match(download.headers.get('content-disposition') ?? '', /attachment/);
    assert.equal((parse(download.buffer, { columns: true }) as unknown[]).length, 4);

    await env.sql`update saved_reports set expires_at = now() - interval '1 second' where id = ${first.id}`;
    const [{ store_key }] = await env.sql<{ store_key: string }[]>`select store_key from saved_reports where id = ${first.id}`;
    const removed = await env.client.workflow.execute(REPORT_RETENTION_WORKFLOW, { taskQueue: env.taskQueue, workflowId: `report/retention/test-${Date.now()}`, args: [] });
    assert.deepEqual(removed, { removed: 1 });
    assert.equal(await env.deps.store.exists(store_key), false);
    assert.equal((await call('GET', `/reports/${report.id}/saved`)).json.items.length, 1);
    assert.equal((await call('GET', `/reports/${report.id}/saved/${first.id}`)).status, 404);
  });

  test('invalid report definitions are refused with the field named, and nothing is written', async () => {
    const campaign = await newCampaign(env.sql);
    const ok = { name: 'x', type: 'all-attempts', campaignId: campaign.id, timeframe: { kind: 'incremental' } };
    const [{ n: before }] = await env.sql<{ n: number }[]>`select count(*)::int as n from job_definitions`;
    const cases: [string, unknown, string][] = [
      ['a colon in the file name text', { ...ok, output: { fileNameFormat: 'Report for: <CAMPAIGN>' } }, 'output.fileNameFormat'],
      ['an unknown tag', { ...ok, output: { fileNameFormat: '<OWNER>' } }, 'output.fileNameFormat'],
      ['day-of-week 0 in the crontab', { ...ok, schedule: { cron: '0 6 * * 0' } }, 'schedule.cron'],
      ['an explicit timeframe without end', { ...ok, timeframe: { kind: 'explicit', start: '2025-01-01T00:00' } }, 'timeframe.end'],
      ['a PGP key that is not one', { ...ok, output: { pgpPublicKey: 'not a key' } }, 'output.pgpPublicKey'],
      ['an unknown destination', { ...ok, output: { destinationIds: ['999999'] } }, 'output.destinationIds.0'],
      ['too many e-mail characters', { ...ok, output: { emails: Array.from({ length: 20 }, (_, i) => `recipient${i}@example.com`) } }, 'output.emails'],
    ];
    for (const [name, body, field] of cases) {
      const res = await call('POST', '/reports', body);
      assert.equal(res.status, 400, name);
      assert.ok(res.json.errors.some((e: { path: string }) => e.path === field), `${name}: ${JSON.stringify(res.json.errors)}`);
    }
    const [{ n: afterCount }] = await env.sql<{ n: number }[]>`select count(*)::int as n from job_definitions`;
    assert.equal(afterCount, before);
  });
});
