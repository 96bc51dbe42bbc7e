// The worker process as it runs in production (worker/main.ts in a child process): its JSON logs carry run
// ids and never a destination password, its /metrics has the run counters and the Temporal SDK's own
// metrics, its reconciler records a run terminated in Temporal, and with OTEL_EXPORTER_OTLP_ENDPOINT set it
// sends trace spans to the collector.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { randomInt } from 'node:crypto';
import { ScheduleNotFoundError } from '@temporalio/client';
import { stopChild } from '../lib/temporal/dev-server.js';
import { upsertReportSchedule } from '../lib/reports/schedules.js';
import { upsertJobSchedule } from '../lib/temporal/schedules.js';
import { freePort } from '../lib/net.js';
import { PROJECT_ROOT } from '../lib/tools.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startOtelCollector, type ReceivedSpan } from './harness/otel-collector.js';
import { until } from './harness/wait.js';
import { startFtp, type FtpServer } from './harness/servers/index.js';
import { testWorkflowBundle } from './harness/temporal.js';
import { createDestination, createJob, newCampaign, seedCalls, startExport } from './recording-export-helpers.js';

const WRONG_PASSWORD = 'not-the-right-one-9f3e1c';
let env: TestEnv;
let ftp: FtpServer;
let worker: ChildProcess;
let output = '';
let metricsUrl: string;
let collector: Awaited<ReturnType<typeof startOtelCollector>> | undefined;
const spans = (): ReceivedSpan[] => collector?.spans ?? [];

before(async () => {
  [env, ftp] = await Promise.all([createTestEnv(), startFtp()]);
  const otel = await startOtelCollector();
  collector = otel;
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  worker = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'worker', 'main.ts')], {
    env: {
      ...env.processEnv, WORKFLOW_BUNDLE: (await testWorkflowBundle()).codePath, LOG_LEVEL: 'debug',
      METRICS_PORT: String(port), RECONCILE_INTERVAL_SECONDS: '1', OTEL_EXPORTER_OTLP_ENDPOINT: otel.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (c: Buffer) => { output += c.toString('utf8'); });
  worker.stderr!.on('data', (c: Buffer) => { output += c.toString('utf8'); });
  await until('the worker polls', async () => output.includes('worker polling'), 60_000);
});

after(async () => {
  if (worker) await stopChild(worker, 10_000);
  await collector?.close();
  await ftp?.stop();
  await env?.stop();
});

test('runs to an FTP destination log JSON lines with their run id and never the password, right or wrong', async () => {
  const campaign = await newCampaign(env.sql);
  await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2024-06-01T10:00:00Z'), [{}, {}]);
  const settings = { protocol: 'ftp' as const, host: ftp.host, port: ftp.port, username: ftp.username, path: '/out' };
  const good = await createJob(env.sql, campaign.id, { destinationId: await createDestination(env.sql, env.deps.keyring, settings, { password: ftp.password }) });
  const bad = await createJob(env.sql, campaign.id, { destinationId: await createDestination(env.sql, env.deps.keyring, settings, { password: WRONG_PASSWORD }) });

  const ok = await startExport(env, { definitionId: good });
  await ok.result();
  const failing = await startExport(env, { definitionId: bad });
  await assert.rejects(failing.result());
  await until('the failure is logged', async () => output.includes(failing.workflowId));

  assert.ok(!output.includes(ftp.password), 'the destination password is not in the logs');
  assert.ok(!output.includes(WRONG_PASSWORD), 'a wrong password is not in the logs either');
  const lines = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.length > 0 && lines.every((l) => typeof l.level === 'number' && l.service === 'worker'));
  assert.ok(lines.some((l) => l.workflowId === ok.workflowId && typeof l.activityType === 'string'), 'activity lines carry the run id');
  const [row] = await env.sql<{ error: string }[]>`select error from runs where run_id = ${failing.workflowId}`;
  assert.ok(row.error && !row.error.includes(WRONG_PASSWORD));
});

test('the worker serves run counters and the Temporal SDK metrics on METRICS_PORT', async () => {
  const text = await (await fetch(metricsUrl)).text();
  assert.match(text, /^ccjobs_runs_started_total\{type="recording-export"\} 2$/m);
  assert.match(text, /^ccjobs_runs_ended_total\{type="recording-export",result="completed"\} 1$/m);
  assert.match(text, /^ccjobs_runs_ended_total\{type="recording-export",result="failed"\} 1$/m);
  assert.match(text, /^ccjobs_items_transferred_total\{type="recording-export"\} 2$/m);
  assert.match(text, /^temporal_\w+/m, 'the SDK runtime metrics are included');
  assert.match(text, /^process_cpu_user_seconds_total /m);
});

test('the worker reconciles a run terminated in Temporal into the task log by itself', async () => {
  const runId = `terminated-${Date.now()}`;
  const handle = await env.client.workflow.start('notHostedHere', { taskQueue: `${env.taskQueue}-nobody`, workflowId: runId, args: [] });
  await env.sql`insert into runs (run_id, type, name, status, started_at) values (${runId}, 'report', 'Stuck report', 'running', now() - interval '1 minute')`;
  await handle.terminate('engineer stopped it');
  const row = await until('the reconciler records it', async () => {
    const [r] = await env.sql<{ status: string; error: string | null }[]>`select status, error from runs where run_id = ${runId}`;
    return r.status === 'terminated' && r;
  });
  assert.match(row.error ?? '', /engineer stopped it/);
  const text = await (await fetch(metricsUrl)).text();
  assert.match(text, /^ccjobs_runs_ended_total\{type="report",result="terminated"\} 1$/m);
});

test('the worker puts drifted schedules back: running while disabled, left by a deleted definition; a pause made in Temporal is kept', async () => {
  // Definition ids far from other test databases' (they share this Temporal server and its schedule ids).
  const base = randomInt(1_000_000, 900_000_000);
  const schedule = (id: number, paused: boolean, taskQueue = env.taskQueue) => upsertJobSchedule(env.client, {
    scheduleId: `report/${id}`, workflowType: 'notHostedHere', workflowIdPrefix: `report/${id}`, args: [], taskQueue,
    spec: { every: '1h' }, paused,
  });
  const define = async (id: number, enabled: boolean) => {
    await env.sql`insert into job_definitions (id, kind, name, enabled, config, schedule_id) overriding system value
      values (${id}, 'report', ${`drift ${id}`}, ${enabled}, '{}', ${`report/${id}`})`;
    await schedule(id, !enabled);
  };
  const [enabled, disabled, deleted, foreign] = [base, base + 1, base + 2, base + 3];
  await define(enabled, true);
  await define(disabled, false);
  await schedule(deleted, false);                      // its definition is gone
  await schedule(foreign, false, `${env.taskQueue}-another-installation`);
  // Behind the platform's back, as from Temporal UI:
  await env.client.schedule.getHandle(`report/${enabled}`).pause('paused in Temporal UI');
  await env.client.schedule.getHandle(`report/${disabled}`).unpause('unpaused in Temporal UI');

  const paused = async (id: number) => (await env.client.schedule.getHandle(`report/${id}`).describe()).state.paused;
  const gone = async (id: number) => env.client.schedule.getHandle(`report/${id}`).describe().then(() => false, (err) => err instanceof ScheduleNotFoundError);
  await until('the sync restores every schedule', async () => (await paused(disabled)) && (await gone(deleted)), 30_000);
  assert.equal(await paused(enabled), true, 'a pause made in Temporal on purpose is kept (GET /tasks shows it with its note)');
  assert.equal(await paused(foreign), false, 'a schedule on another task queue is not this installation\'s to touch');
  assert.equal(await gone(foreign), false);
  for (const id of [enabled, disabled, foreign]) await env.client.schedule.getHandle(`report/${id}`).delete();
});

test('the worker makes a job definition\'s missing schedule again from the definition, and logs one it cannot make', async () => {
  const base = randomInt(1_000_000, 900_000_000);
  const [report, bare] = [base, base + 1];
  const cron = '15 3 * * 1-5';
  await env.sql`insert into job_definitions (id, kind, name, enabled, config, schedule_id) overriding system value values
    (${report}, 'report', ${`lost ${report}`}, false, ${env.sql.json({ schedule: { cron, temporalCron: cron } })}, ${`report/${report}`}),
    (${bare}, 'report', ${`lost ${bare}`}, true, '{}', ${`report/${bare}`})`;
  // As if deleted from Temporal UI, or lost with the server's data: no schedule exists for either.
  const described = await until('the sync creates the schedule again', () =>
    env.client.schedule.getHandle(`report/${report}`).describe().catch((err) => { if (err instanceof ScheduleNotFoundError) return undefined; throw err; }));
  // The same spec as the API gives a report with that cron (Temporal stores a cron as calendar ranges).
  await upsertReportSchedule(env.client, { definitionId: String(base + 2), campaignId: '', temporalCron: cron, enabled: false, taskQueue: env.taskQueue, name: 'reference' });
  const reference = await env.client.schedule.getHandle(`report/${base + 2}`).describe();
  await env.client.schedule.getHandle(`report/${base + 2}`).delete();
  assert.deepEqual(described.spec, reference.spec);
  assert.equal(described.state.paused, true, 'the definition is disabled, so its schedule is paused');
  assert.equal(described.action.type === 'startWorkflow' && described.action.taskQueue, env.taskQueue);
  assert.equal(described.action.type === 'startWorkflow' && described.action.workflowType, 'reportRun');
  await until('the unmakeable one is logged', async () => output.includes(`"scheduleId":"report/${bare}"`) && output.includes('save the definition again'));
  await env.client.schedule.getHandle(`report/${report}`).delete();
  await env.sql`delete from job_definitions where id in (${report}, ${bare})`;
});

test('with OTEL_EXPORTER_OTLP_ENDPOINT set the worker exports activity spans', async () => {
  await until('spans arrive at the collector', async () => spans().some((s) => s.service === 'cc-jobs-worker' && s.name.startsWith('RunActivity')));
});
