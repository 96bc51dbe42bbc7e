// A worker process killed (SIGKILL) while it writes an incremental report: the report generation is
// throttled (REPORT_GENERATE_KBPS) so the kill lands mid-stream, inside the transaction that would move the
// watermark. A new worker finishes the run; the window, the file and the delivery happen once, nothing is
// left in the content store, and the next run takes exactly the rest. The worker process also creates the
// saved-report retention schedule when it starts.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { parse } from 'csv-parse/sync';
import { reportObjectKey } from '../lib/reports/run-objects.js';
import { deleteJobSchedule } from '../lib/temporal/schedules.js';
import { REPORT_RETENTION_SCHEDULE_ID, REPORT_RETENTION_WORKFLOW, type ReportRunResult } from '../contracts/report.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { until } from './harness/wait.js';
import { freePort } from './harness/servers/index.js';
import { createReportDefinition, insertAttempts, minutes, newCampaign, startReport } from './report-helpers.js';

let env: TestEnv;
before(async () => { env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC', ACCOUNT_NAME: 'Acme' } }); });
after(async () => {
  await deleteJobSchedule(env.client, REPORT_RETENTION_SCHEDULE_ID).catch(() => {});
  await env?.stop();
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/')).sort();
}

const retentionSchedule = () => env.client.schedule.getHandle(REPORT_RETENTION_SCHEDULE_ID).describe()
  .catch((err) => { if (err instanceof ScheduleNotFoundError) return undefined; throw err; });

test('a worker killed mid-report: after restart the run completes once, the watermark is exact, the file is delivered once, and the next run takes the rest', async () => {
  const campaign = await newCampaign(env.sql);
  const outDir = path.join(env.dataDir, 'delivered');
  const [dest] = await env.sql<{ id: string }[]>`
    insert into destinations (name, protocol, settings) values ('crash-out', 'file', ${env.sql.json({ path: outDir })}) returning id`;
  const definitionId = await createReportDefinition(env.sql, {
    campaignId: campaign.id, output: { destinationIds: [dest.id], fileNameFormat: 'attempts_<END:yyyyMMddHHmmss>' },
  });
  const runTime = new Date(Math.floor(Date.now() / 1000) * 1000 - 5 * 60_000);
  // ~300 rows of ~190 bytes at 8 KB/s: about seven seconds of writing, plenty of room for the kill.
  const inRun = await insertAttempts(env.sql, campaign.id, Array.from({ length: 300 }, (_, i) => {
    const at = i === 0 ? runTime : minutes(runTime, -1 - i); // the first exactly at the run time: (start, end] holds it
    return { clientId: `C${i % 120}`, completedAt: at, collectedAt: at };
  }));
  const afterRun = await insertAttempts(env.sql, campaign.id, [1, 2, 3].map((m) => {
    const at = new Date(runTime.getTime() + m * 1000);
    return { clientId: `late${m}`, completedAt: at, collectedAt: at };
  }));
  await deleteJobSchedule(env.client, REPORT_RETENTION_SCHEDULE_ID);

  let worker: ChildProcess = await env.spawnWorker({ REPORT_GENERATE_KBPS: '8', METRICS_PORT: String(await freePort()) });
  const runId = `report/${definitionId}/${runTime.toISOString()}`;
  const handle = await startReport(env, { definitionId, runTime: runTime.toISOString(), triggeredBy: 'test' }, runId);
  const objectDir = path.join(env.config.dataDir, 'content', path.dirname(reportObjectKey(runId, 'report')));
  await until('the report to be written', async () => (await filesUnder(objectDir)).some((f) => f.endsWith('.tmp')), 60_000, 50);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  worker.kill('SIGKILL');
  await new Promise((resolve) => worker.once('exit', resolve));

  const retention = await retentionSchedule();
  assert.ok(retention, 'the worker created the retention schedule when it started');
  assert.equal(retention.action.type === 'startWorkflow' && retention.action.workflowType, REPORT_RETENTION_WORKFLOW);
  assert.equal(retention.action.type === 'startWorkflow' && retention.action.taskQueue, env.taskQueue);
  await until('the dead worker\'s COPY to end', async () => (await env.sql`select 1 from pg_stat_activity where query ilike 'copy%' and state = 'active'`).length === 0, 10_000, 50);
  assert.equal((await env.sql`select 1 from saved_reports where run_id = ${runId}`).length, 0, 'nothing was saved before the kill');
  assert.equal((await env.sql`select 1 from report_watermarks where last_run_id = ${runId}`).length, 0, 'the watermark did not move');
  assert.deepEqual(await filesUnder(outDir), [], 'nothing was delivered before the kill');

  worker = await env.spawnWorker({ METRICS_PORT: String(await freePort()) });
  const result = await handle.result() as ReportRunResult;
  assert.deepEqual(result.range, { start: new Date(runTime.getTime() - 15 * 3600_000).toISOString(), end: runTime.toISOString(), incremental: true });
  assert.deepEqual({ rows: result.rows, attempts: result.attempts, contacts: result.contacts }, { rows: 300, attempts: 300, contacts: 120 });

  const runs = await env.sql`select status from runs where run_id = ${runId}`;
  assert.deepEqual(runs.map((r) => r.status), ['completed']);
  const saved = await env.sql<{ store_key: string }[]>`select store_key from saved_reports where run_id = ${runId}`;
  assert.equal(saved.length, 1, 'one saved report for the run');
  assert.deepEqual(await filesUnder(path.join(env.config.dataDir, 'content', 'reports')), [saved[0].store_key.replace(/^reports\//, '')],
    'the content store holds the saved report and nothing else: no orphan, no unfinished temp file');
  const [mark] = await env.sql<{ collected_through: Date; last_run_id: string }[]>`
    select collected_through, last_run_id from report_watermarks where campaign_id = ${campaign.id} and report_type = 'all-attempts'`;
  assert.deepEqual({ through: mark.collected_through.toISOString(), by: mark.last_run_id }, { through: runTime.toISOString(), by: runId });

  const delivered = await filesUnder(outDir);
  assert.deepEqual(delivered, [result.delivered[0].fileName.split('/').pop()], 'the file was delivered once');
  const first = parse(await readFile(path.join(outDir, delivered[0])), { columns: true }) as Record<string, string>[];

  const next = await startReport(env, { definitionId, runTime: new Date().toISOString() }).then((h) => h.result()) as ReportRunResult;
  assert.equal(next.range.start, runTime.toISOString(), 'the next run starts where the crashed one ended');
  const second = parse(await readFile(path.join(outDir, path.basename(next.delivered[0].fileName))), { columns: true }) as Record<string, string>[];
  const reported = [...first, ...second].map((r) => r.AttemptId);
  assert.equal(new Set(reported).size, reported.length, 'no attempt reported twice');
  assert.deepEqual(reported.sort(), [...inRun, ...afterRun].sort(), 'every attempt reported, each in its own window');
  assert.deepEqual(second.map((r) => r.AttemptId).sort(), [...afterRun].sort());
});
