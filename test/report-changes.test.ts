// Changing and deleting reports through the HTTP API, with their Temporal Schedules checked in Temporal
// itself, and a report delivered over FTP to a real FTP server.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { parse } from 'csv-parse/sync';
import * as openpgp from 'openpgp';
import { createApp } from '../api/app.js';
import { deleteJobSchedule } from '../lib/temporal/schedules.js';
import type { ReportRunResult } from '../contracts/report.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startFtp, type FtpServer } from './harness/servers/index.js';
import { insertAttempts, newCampaign } from './report-helpers.js';

const ADMIN = 'report-changes-admin-key-0123';
let env: TestEnv;
let server: Server;
let base: string;
let ftp: FtpServer;
const schedules: string[] = [];

before(async () => {
  [ftp, env] = await Promise.all([startFtp(), createTestEnv({ env: { ADMIN_API_KEY: ADMIN, ACCOUNT_NAME: 'Acme', REPORT_TIMEZONE: 'UTC' } })]);
  await env.startWorker();
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const id of schedules) await deleteJobSchedule(env.client, id).catch(() => {});
  server?.close();
  await env?.stop();
  await ftp?.stop();
});

async function call(method: string, url: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function createScheduled(campaignId: string, name: string, cron = '0 6 * * 1-5') {
  const res = await call('POST', '/reports', { name, type: 'all-attempts', campaignId, timeframe: { kind: 'incremental' }, schedule: { cron } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  schedules.push(res.json.scheduleId);
  return res.json as { id: string; scheduleId: string };
}

const describeSchedule = (id: string) => env.client.schedule.getHandle(id).describe();
const days = (d: Awaited<ReturnType<typeof describeSchedule>>) => [...new Set(JSON.stringify(d.spec).match(/MONDAY|TUESDAY|WEDNESDAY|THURSDAY|FRIDAY|SATURDAY|SUNDAY/g))].sort();

describe('changing and deleting reports', () => {
  test('PATCH changes name, timeframe, output and schedule; disabled pauses the schedule, enabled resumes it, no schedule deletes it', async () => {
    const campaign = await newCampaign(env.sql);
    const report = await createScheduled(campaign.id, 'Weekday attempts');
    const changed = await call('PATCH', `/reports/${report.id}`, {
      name: 'Sunday attempts', timeframe: { kind: 'yesterday' }, schedule: { cron: '30 7 * * 7' },
      output: { zip: true, emails: ['ops@example.com'], fileNameFormat: '<REPORT>_<END:yyyyMMdd>' },
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.json));
    assert.equal(changed.json.name, 'Sunday attempts');
    assert.deepEqual(changed.json.timeframe, { kind: 'yesterday' });
    assert.deepEqual(changed.json.output, {
      destinationIds: [], emails: ['ops@example.com'], fileNameFormat: '<REPORT>_<END:yyyyMMdd>', zip: true, pgpKeyFingerprint: null, skipIfEmpty: false,
    });
    assert.deepEqual(changed.json.schedule, { cron: '30 7 * * 7', temporalCron: '30 7 * * 0' });
    let schedule = await describeSchedule(report.scheduleId);
    assert.deepEqual(days(schedule), ['SUNDAY'], 'the Temporal Schedule follows the new crontab');
    assert.equal(schedule.state.paused, false);

    const disabled = await call('PATCH', `/reports/${report.id}`, { enabled: false });
    assert.equal(disabled.status, 200);
    assert.equal(disabled.json.enabled, false);
    assert.equal(disabled.json.nextRunAt, null);
    assert.equal(disabled.json.output.zip, true, 'fields not sent keep their value');
    assert.equal((await describeSchedule(report.scheduleId)).state.paused, true);

    const enabled = await call('PATCH', `/reports/${report.id}`, { enabled: true, output: { fileNameFormat: null } });
    assert.equal(enabled.json.enabled, true);
    assert.equal(enabled.json.output.fileNameFormat, undefined, 'null goes back to the default file name');
    schedule = await describeSchedule(report.scheduleId);
    assert.equal(schedule.state.paused, false);
    assert.ok(enabled.json.nextRunAt);

    const unscheduled = await call('PATCH', `/reports/${report.id}`, { schedule: null });
    assert.equal(unscheduled.status, 200);
    assert.equal(unscheduled.json.schedule, null);
    assert.equal(unscheduled.json.scheduleId, null);
    await assert.rejects(describeSchedule(report.scheduleId), ScheduleNotFoundError);
    const [row] = await env.sql`select schedule_id from job_definitions where id = ${report.id}`;
    assert.equal(row.schedule_id, null);

    const rescheduled = await call('PATCH', `/reports/${report.id}`, { schedule: { cron: '0 23 * * 5-7' } });
    assert.equal(rescheduled.json.scheduleId, report.scheduleId);
    assert.deepEqual(days(await describeSchedule(report.scheduleId)), ['FRIDAY', 'SATURDAY', 'SUNDAY']);
  });

  test('PATCH with invalid input answers 400 naming the field and writes nothing; a taken name answers 409', async () => {
    const campaign = await newCampaign(env.sql);
    const report = await createScheduled(campaign.id, 'Untouchable');
    await createScheduled(campaign.id, 'Taken name');
    const { publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'x' }], format: 'armored' });
    const snapshot = async () => ({
      row: (await env.sql`select name, enabled, config, schedule_id, updated_at from job_definitions where id = ${report.id}`)[0],
      keys: (await env.sql`select count(*)::int as n from pgp_keys`)[0].n,
      schedule: await describeSchedule(report.scheduleId).then((d) => ({ spec: JSON.stringify(d.spec), paused: d.state.paused })),
    });
    const before = await snapshot();
    // Each case has valid changes next to the invalid one: none of them may be applied.
    const cases: [string, unknown, string][] = [
      ['day-of-week 0 in the crontab', { enabled: false, schedule: { cron: '0 6 * * 0' } }, 'schedule.cron'],
      ['a colon in the file name text', { name: 'Other', output: { fileNameFormat: 'Report: <CAMPAIGN>' } }, 'output.fileNameFormat'],
      ['an explicit timeframe without end', { timeframe: { kind: 'explicit', start: '2025-01-01T00:00' } }, 'timeframe.end'],
      ['an unknown destination', { enabled: false, output: { destinationIds: ['999999'] } }, 'output.destinationIds.0'],
      ['a PGP key that is not one, next to a valid change', { enabled: false, output: { pgpPublicKey: 'not a key', zip: true } }, 'output.pgpPublicKey'],
      ['another report type', { type: 'summary', enabled: false }, 'type'],
      ['another campaign', { campaignId: '1' }, 'campaignId'],
      ['an unknown field', { enabled: false, colour: 'red' }, '(body)'],
      ['nothing to change', {}, '(body)'],
    ];
    for (const [name, body, field] of cases) {
      const res = await call('PATCH', `/reports/${report.id}`, body);
      assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.json)}`);
      assert.ok(res.json.errors.some((e: { path: string }) => e.path === field), `${name}: ${JSON.stringify(res.json.errors)}`);
    }
    const taken = await call('PATCH', `/reports/${report.id}`, { name: 'Taken name', enabled: false, output: { pgpPublicKey: publicKey } });
    assert.equal(taken.status, 409, JSON.stringify(taken.json));
    assert.deepEqual(await snapshot(), before, 'definition, stored keys and schedule unchanged');
    assert.equal((await call('PATCH', '/reports/999999', { enabled: false })).status, 404);
  });

  test('DELETE removes the report and its Temporal Schedule', async () => {
    const campaign = await newCampaign(env.sql);
    const report = await createScheduled(campaign.id, 'Short-lived');
    assert.ok(await describeSchedule(report.scheduleId));
    const res = await call('DELETE', `/reports/${report.id}`);
    assert.equal(res.status, 204);
    await assert.rejects(describeSchedule(report.scheduleId), ScheduleNotFoundError);
    assert.equal((await call('GET', `/reports/${report.id}`)).status, 404);
    assert.equal((await env.sql`select 1 from job_definitions where id = ${report.id}`).length, 0);
    assert.equal((await call('DELETE', `/reports/${report.id}`)).status, 404);
  });
});

test('a report is delivered over FTP: the CSV lands in the destination folder, once, with every attempt', async () => {
  const campaign = await newCampaign(env.sql);
  const now = Date.now();
  await insertAttempts(env.sql, campaign.id, Array.from({ length: 5 }, (_, i) => ({ clientId: `F${i}`, completedAt: new Date(now - (i + 1) * 60_000) })));
  const dest = await call('POST', '/destinations', {
    name: 'ftp-reports', protocol: 'ftp', host: ftp.host, port: ftp.port, username: ftp.username, password: ftp.password, path: 'reports/in',
  });
  assert.equal(dest.status, 201, JSON.stringify(dest.json));
  const report = await call('POST', '/reports', {
    name: 'FTP attempts', type: 'all-attempts', campaignId: campaign.id, timeframe: { kind: 'incremental' },
    output: { destinationIds: [dest.json.id], fileNameFormat: 'attempts_<CAMPAIGN>' },
  });
  assert.equal(report.status, 201, JSON.stringify(report.json));
  const run = await env.client.workflow.getHandle(report.json.runId).result() as ReportRunResult;
  const fileName = `attempts_${campaign.name}.csv`;
  assert.deepEqual(run.delivered.map((d) => ({ target: d.target, name: path.basename(d.fileName) })), [{ target: `destination:${dest.json.id}`, name: fileName }]);
  assert.equal(run.attempts, 5);
  const rows = parse(await readFile(path.join(ftp.rootDir, 'reports', 'in', fileName)), { columns: true }) as Record<string, string>[];
  assert.deepEqual(rows.map((r) => r.ClientId).sort(), ['F0', 'F1', 'F2', 'F3', 'F4']);
});
