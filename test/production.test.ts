// Production mode, as an operator runs it: the JavaScript `npm run build` makes (built here into the scratch
// folder), the suite's separately started Temporal server and PostgreSQL given only through the environment
// (TEMPORAL_ADDRESS, DATABASE_URL), two worker processes and two API processes started as `npm run
// start:worker` / `start:api` start them (node on dist/, no tsx, no bundling at start). One job of each kind
// runs to completion while one worker is SIGKILLed mid-run; the runs are read back through both APIs, and
// SIGTERM stops the rest cleanly (the signal reaches node itself).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, waitForPort } from '../lib/net.js';
import { PROJECT_ROOT, PINNED_NODE, pinnedNode } from '../lib/tools.js';
import { apiClient, type Api } from './erasure-fixtures.js';
import {
  distinctCampaignIds, kill, runEnded, startErasureRun, startExportRun, startImportRun, startReportRun, until, type JobRun,
} from './faults/crash-helpers.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { testScratchDir } from './harness/scratch.js';

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
  const workerEnv = async () => ({ METRICS_PORT: String(await freePort()), EXPORT_BANDWIDTH_KBPS: '48', REPORT_GENERATE_KBPS: '1500' });
  const doomed = await startBuilt(node, 'worker', await workerEnv());
  const survivor = await startBuilt(node, 'worker', await workerEnv());

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
  await stopWithSigterm(survivor, 'the worker');
  for (const api of apis) await stopWithSigterm(api, 'the API');
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
