// Production mode, as an operator runs it: the JavaScript `npm run build` makes (built here into the scratch
// folder), the suite's separately started Temporal server and PostgreSQL given only through the environment
// (TEMPORAL_ADDRESS, DATABASE_URL), two worker processes and two API processes started as `npm run
// start:worker` / `start:api` start them (node on dist/, no tsx, no bundling at start). One job of each kind
// runs to completion while one worker is SIGKILLed mid-run; the runs are read back through both APIs, and
// SIGTERM stops the rest cleanly (the signal reaches node itself). Meanwhile the cluster-wide chores (run
// reconciler, schedule sync, lock reaper, upload retention) ran exactly once per interval, not once per worker.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, waitForPort } from '../lib/net.js';
import { PROJECT_ROOT, PINNED_NODE, pinnedNode } from '../lib/tools.js';
import { CHORE_WORKFLOW, CHORES, choreScheduleId, type ChoreName } from '../contracts/chores.js';
import { apiClient, type Api } from './erasure-fixtures.js';
import {
  distinctCampaignIds, kill, runEnded, startErasureRun, startExportRun, startImportRun, startReportRun, until, type JobRun,
} from './faults/crash-helpers.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { testScratchDir } from './harness/scratch.js';
import { until as waitFor } from './harness/wait.js';

const DIST = path.join(testScratchDir(), `dist-${process.pid}-${randomBytes(3).toString('hex')}`);
const ADMIN_KEY = `prod-admin-${randomBytes(12).toString('hex')}`;

let env: TestEnv;
const processes: ChildProcess[] = [];

before(async () => {
  const build = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'build.ts'), '--out-dir', DIST], {
    cwd: PROJECT_ROOT, stdio: ['ignore', 'inherit', 'inherit'],
  });
  assert.equal(await new Promise((resolve) => build.once('exit', resolve)), 0, 'npm run build failed');
  env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC' } });
  await distinctCampaignIds(env.sql);
});

after(async () => {
  for (const child of processes) await kill(child);
  await env?.stop();
  await rm(DIST, { recursive: true, force: true });
});

/** Starts dist/<role>/start.js on `node` with the environment only, and waits until it serves. */
async function startBuilt(node: string, role: 'api' | 'worker', extraEnv: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const processEnv: NodeJS.ProcessEnv = { ...env.processEnv, NODE_ENV: 'production', ADMIN_API_KEY: ADMIN_KEY, LOG_LEVEL: 'info', ...extraEnv };
  delete processEnv.WORKFLOW_BUNDLE; // the build's own bundle
  delete processEnv.NODE_OPTIONS; // no tsx loader inherited from the test runner
  const child = spawn(node, [path.join(DIST, role, 'start.js')], { cwd: PROJECT_ROOT, env: processEnv, stdio: ['ignore', 'pipe', 'inherit'] });
  processes.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += String(chunk); });
  const ready = role === 'api' ? 'API listening on' : 'worker polling';
  await until(`the built ${role} to start`, async () => {
    if (child.exitCode !== null) throw new Error(`the built ${role} exited (${child.exitCode}): ${output}`);
    return output.includes(ready);
  }, 120_000);
  return child;
}

function httpApi(port: number): Api {
  return apiClient(`http://127.0.0.1:${port}`, ADMIN_KEY);
}

async function stopWithSigterm(child: ChildProcess, name: string): Promise<void> {
  const exited = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  child.kill('SIGTERM');
  assert.deepEqual(await exited, [0, null], `${name} did not stop cleanly on SIGTERM`);
}

async function runProductionMode(node: string): Promise<void> {
  const apiPorts = [await freePort(), await freePort()];
  const apis = await Promise.all(apiPorts.map((port) => startBuilt(node, 'api', { API_PORT: String(port) })));
  await Promise.all(apiPorts.map((port) => waitForPort(port)));
  // Throttled as in the fault suite, so the runs are still going when a worker dies.
  const workerEnv = async () => ({
    METRICS_PORT: String(await freePort()), EXPORT_BANDWIDTH_KBPS: '48', REPORT_GENERATE_KBPS: '1500',
    RECONCILE_INTERVAL_SECONDS: String(CHORE_SECONDS), CAMPAIGN_LOCK_REAP_SECONDS: String(CHORE_SECONDS),
  });
  const doomed = await startBuilt(node, 'worker', await workerEnv());
  const survivor = await startBuilt(node, 'worker', await workerEnv());
  const choresFrom = new Date();

  const [first, second] = apiPorts.map(httpApi);
  const runs: JobRun[] = [
    await startExportRun(env, 24, `exports-${randomBytes(3).toString('hex')}`),
    await startReportRun(env, 20_000),
    await startImportRun(env, 2_000),
    await startErasureRun(env, first, 6),
  ];
  await until('the export to make progress', async () => (await runs[0].progress()) > 0);
  const open = await Promise.all(runs.map(async (run) => !(await runEnded(env, run.workflowId)())));
  await kill(doomed);
  assert.ok(open.some(Boolean), 'a run was still open when the worker was killed');

  for (const run of runs) await run.finish();
  for (const run of runs) {
    for (const api of [first, second]) {
      const res = await api.call('GET', `/runs/${encodeURIComponent(run.workflowId)}`);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json.status, 'completed', `${run.workflowId} through ${api.base}`);
    }
  }
  await choresRanOncePerInterval(choresFrom);
  await stopWithSigterm(survivor, 'the worker');
  for (const api of apis) await stopWithSigterm(api, 'the API');
}

const CHORE_SECONDS = 2;

/**
 * Each chore's passes scheduled in [from, to]: one ledger row (chore_runs) per action of its one schedule, no
 * two for one scheduled time, at most one per interval — and each pass Temporal shows is exactly one row.
 * With a timer per worker (or a schedule per worker) there would be two per interval.
 */
async function choresRanOncePerInterval(from: Date): Promise<void> {
  // The window is not fixed: a pass that was running on the killed worker holds its chore until its activity
  // times out (overlap SKIP skips the passes due meanwhile), so it closes once every chore has had two passes,
  // all of the window's passes ended.
  const checked = CHORES.filter((c) => c !== 'upload-retention'); // that one runs every 10 minutes
  let to = new Date();
  const rows = await waitFor('two ended passes of every chore', async () => {
    to = new Date(Date.now() - 2 * CHORE_SECONDS * 1000);
    const found = await env.sql<{ chore: string; workflow_id: string; scheduled_at: Date; outcome: string | null }[]>`
      select chore, workflow_id, scheduled_at, outcome from chore_runs
      where schedule_id like ${'chores/%@' + env.taskQueue} and scheduled_at between ${from} and ${to} order by scheduled_at`;
    const enough = checked.every((chore) => found.filter((r) => r.chore === chore).length >= 2);
    return enough && found.every((r) => r.outcome !== null) && found;
  }, 150_000, 1000);
  const windowSeconds = (to.getTime() - from.getTime()) / 1000;
  for (const chore of checked) {
    const passes = rows.filter((r) => r.chore === chore);
    const times = passes.map((r) => r.scheduled_at.getTime());
    assert.ok(passes.length >= 2, `${chore} ran in the ${windowSeconds} s window (${passes.length} passes)`);
    assert.ok(passes.length <= Math.floor(windowSeconds / CHORE_SECONDS) + 1, `${chore}: ${passes.length} passes in ${windowSeconds} s, more than one per ${CHORE_SECONDS} s interval`);
    assert.equal(new Set(times).size, times.length, `${chore}: two passes for one scheduled time`);
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= CHORE_SECONDS * 1000, `${chore}: passes closer than the interval`);
    const scheduleId = choreScheduleId(chore as ChoreName, env.taskQueue);
    assert.ok(passes.every((p) => p.workflow_id.startsWith(`${scheduleId}-`)), `${chore}: every pass is an action of ${scheduleId}`);
    assert.ok(passes.every((p) => p.outcome === 'completed'), `${chore}: ${JSON.stringify(passes.filter((p) => p.outcome !== 'completed'))}`);
    // Temporal's count agrees: every execution of the chore in the window is exactly one pass of the ledger.
    const executions = await waitFor(`${chore}: visibility lists the window's passes`, async () => {
      const ids: string[] = [];
      const query = `WorkflowType = '${CHORE_WORKFLOW}' AND TaskQueue = '${env.taskQueue}' AND ExecutionStatus = 'Completed'`;
      for await (const e of env.client.workflow.list({ query })) {
        const scheduled = e.workflowId.startsWith(`${scheduleId}-`) && Date.parse(e.workflowId.slice(scheduleId.length + 1));
        if (scheduled && scheduled >= from.getTime() && scheduled <= to.getTime()) ids.push(e.workflowId);
      }
      return ids.length >= passes.length && ids;
    });
    assert.deepEqual([...executions].sort(), passes.map((p) => p.workflow_id).sort(), `${chore}: executions and ledger rows`);
  }
}

test('without DATABASE_URL or TEMPORAL_ADDRESS the built processes stop with one sentence, starting nothing', async () => {
  for (const role of ['api', 'worker']) {
    const processEnv: NodeJS.ProcessEnv = { ...env.processEnv, TEMPORAL_ADDRESS: '' };
    delete processEnv.DATABASE_URL;
    const child = spawn(process.execPath, [path.join(DIST, role, 'start.js')], { cwd: PROJECT_ROOT, env: processEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => { stderr += String(chunk); });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 1, role);
    assert.match(stderr, /^the (API|worker) needs DATABASE_URL and TEMPORAL_ADDRESS set \(e\.g\. [^\n]*\n$/, stderr);
  }
});

test('the built API and workers (two of each) run every kind of job to completion while a worker is SIGKILLed', async () => {
  await runProductionMode(process.execPath);
});

test(`the same on Node ${PINNED_NODE.version}, the image's runtime`, async (t) => {
  const node24 = await pinnedNode().catch(() => undefined);
  if (!node24) return t.skip(`${PINNED_NODE.name}@${PINNED_NODE.version} is not available on this machine (linux-x64 and npm needed)`);
  await runProductionMode(node24);
});
