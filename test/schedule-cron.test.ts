// One crontab convention for every job kind (issue 12; API.md "Wave 2 — Schedules"): the seed's, GMT, day-of-week
// 1-7 with Monday = 1, and crontab's either-day rule when both day fields are restricted. Recording export jobs
// saved in Temporal's convention (0 = Sunday) before migration 0021 are converted and keep their times.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { temporalSpecOf } from '../lib/schedules/schedule.js';
import { writtenSpecText } from '../lib/schedules/spec.js';
import { PROJECT_ROOT } from '../lib/tools.js';
import { createApp } from '../api/app.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { createDestination, newCampaign } from './recording-export-helpers.js';

const ADMIN = 'schedule-cron-admin-key-0123456789';
let env: TestEnv;
let server: Server;
let base: string;
let campaign: { id: string; name: string };
let destinationId: string;
const created: string[] = [];
let n = 0;

async function post(url: string, body: unknown) {
  const res = await fetch(`${base}${url}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json() as Record<string, unknown>;
  if (typeof json.scheduleId === 'string') created.push(json.scheduleId);
  return { status: res.status, json };
}
const exportJob = (cron: string) => post('/recording-export-jobs', {
  name: `cron ${++n}`, campaignId: campaign.id, completedAfter: '2025-01-01T00:00:00Z', destinationId, schedule: { cron },
});
const report = (cron: string) => post('/reports', { name: `cron ${++n}`, type: 'all-attempts', campaignId: campaign.id, timeframe: { kind: 'incremental' }, schedule: { cron } });

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

describe('the same crontab means the same times for every job kind', () => {
  test('"0 2 * * 7" (Sundays) is accepted by reports and recording exports alike, and runs on Sundays', async () => {
    for (const make of [exportJob, report]) {
      const res = await make('0 2 * * 7');
      assert.equal(res.status, 201, JSON.stringify(res.json));
      const next = (await env.client.schedule.getHandle(res.json.scheduleId as string).describe()).info.nextActionTimes;
      assert.ok(next.length > 0 && next.every((t) => t.getUTCDay() === 0 && t.getUTCHours() === 2), next.join(', '));
    }
  });

  test('"0 2 * * 0" is refused by both, naming the day-of-week range', async () => {
    for (const make of [exportJob, report]) {
      const res = await make('0 2 * * 0');
      assert.equal(res.status, 400);
      assert.match(JSON.stringify(res.json.errors), /day of week field \\"0\\" is out of range: values go from 1 to 7/);
    }
  });

  test('a recording export restricting both day fields runs on either day, as crontab (and reports) do', async () => {
    const res = await exportJob('0 6 1 * 1');
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const next = (await env.client.schedule.getHandle(res.json.scheduleId as string).describe()).info.nextActionTimes;
    assert.ok(next.every((t) => t.getUTCDate() === 1 || t.getUTCDay() === 1), next.join(', '));
    assert.ok(next.some((t) => t.getUTCDay() !== 1), 'the 1st of a month that is not a Monday is among them');
  });
});

describe('migration 0021', () => {
  // Temporal's convention as saved before (0-6, 0 = Sunday) → the seed's, with the same run times.
  const table: [string, string][] = [
    ['0 2 * * 0', '0 2 * * 7'],
    ['30 1 * * 1-5', '30 1 * * 1,2,3,4,5'],
    ['0 */2 * * 0,6', '0 */2 * * 6,7'],
    ['0 3 * * */2', '0 3 * * 2,4,6,7'],
    ['*/15 * * * *', '*/15 * * * *'],
    ['0 4 * * 5-6', '0 4 * * 5,6'],
  ];
  test('converts saved recording export crontabs to the seed convention, keeping their times', async () => {
    const ids: string[] = [];
    for (const [cron] of table) {
      const [row] = await env.sql<{ id: string }[]>`
        insert into job_definitions (kind, name, enabled, campaign_id, config) values
          ('recording-export', ${`legacy ${cron} ${++n}`}, false, ${campaign.id}, ${env.sql.json({ destinationId, schedule: { cron } })}) returning id`;
      ids.push(row.id);
    }
    const migration = await readFile(path.join(PROJECT_ROOT, 'db', 'migrations', '0021_schedules.sql'), 'utf8');
    await env.sql.begin((tx) => tx.unsafe(migration.slice(0, migration.indexOf('-- 2.'))));
    for (const [i, [before, after]] of table.entries()) {
      const [row] = await env.sql<{ cron: string }[]>`select config #>> '{schedule,cron}' as cron from job_definitions where id = ${ids[i]}`;
      assert.equal(row.cron, after, `from ${before}`);
      assert.equal(writtenSpecText(temporalSpecOf({ cron: after })), writtenSpecText({ cron: [before] }), `${before} and ${after} run at the same times`);
    }
  });
});
