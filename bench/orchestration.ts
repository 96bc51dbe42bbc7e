// Orchestration: runs started through the API (POST /reports/{id}/run on reports of an empty campaign with
// skip-if-empty, the cheapest real run: start, count, skip, record its end), a few requests in flight at a
// time. Measures API latency p50/p99 and completed runs per second (first request to last run recorded
// completed in the runs table), with the worker in a child process.
//
// Baselines, in the same run:
// - API latency: the same number of bare `client.workflow.start` calls of the same workflow (same arguments,
//   search attributes and payload codec), as many in flight, on the worker's task queue while the worker runs
//   them (the worker as busy as during the API's starts): the API's goal is ≤ 1.2× of it. The same starts on a
//   task queue no worker polls (what the Temporal server alone takes to accept a start) are shown beside it.
// - Completed runs/s: a minimal workflow (bench/minimal/workflow.ts: one local activity, no database, no codec)
//   started as many at a time and run by a bare worker (bench/minimal/worker.ts, a child process, the SDK's
//   defaults) on the same server: the goal is ≥ 0.8× of its runs/s.
// And where the CPU went: CPU seconds per run of the Temporal server, the worker, PostgreSQL and this
// process (the API and its Temporal client), read from /proc, so the bound is visible even on a loaded machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { startApi } from '../test/erasure-fixtures.js';
import { createTestEnv } from '../test/harness/env.js';
import { createReportDefinition, newCampaign } from '../test/report-helpers.js';
import { REPORT_WORKFLOW } from '../contracts/report.js';
import { runSearchAttributes } from '../contracts/search-attributes.js';
import { count, fmt, plainFigure, scaled, workerReady, type BenchContext, type Figure, distinctCampaignIds } from './lib.js';

const FULL_RUNS = 1000;
const IN_FLIGHT = 8;
// Twice the requests in flight: two requests for the same report never start in the same millisecond
// (the manual run id is report/<id>/<ISO time>).
const DEFINITIONS = IN_FLIGHT * 2;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** Runs `call(i)` for i < n, `inFlight` at a time; the latency of each call in ms, sorted. */
async function latencies(n: number, inFlight: number, call: (i: number) => Promise<void>): Promise<{ sorted: number[]; seconds: number }> {
  const all: number[] = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) {
      const i = next++;
      const t0 = performance.now();
      await call(i);
      all.push(performance.now() - t0);
    }
  }));
  return { sorted: all.sort((a, b) => a - b), seconds: (performance.now() - started) / 1000 };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) so far of this process and of its descendants, by kind. */
async function cpuSeconds(workerPid: number | undefined): Promise<Record<'temporal' | 'worker' | 'postgres' | 'api', number>> {
  const procs = new Map<number, { ppid: number; comm: string; seconds: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const fields = stat.slice(close + 2).split(' ');
    procs.set(Number(entry), { ppid: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, close), seconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS });
  }
  const under = (pid: number, ancestor: number) => {
    for (let p = procs.get(pid)?.ppid; p; p = procs.get(p)?.ppid) if (p === ancestor) return true;
    return false;
  };
  const own = process.cpuUsage();
  const out = { temporal: 0, worker: 0, postgres: 0, api: (own.user + own.system) / 1e6 };
  for (const [pid, p] of procs) {
    if (pid === workerPid || (workerPid !== undefined && under(pid, workerPid))) out.worker += p.seconds;
    else if (!under(pid, process.pid)) continue;
    else if (p.comm === 'temporal') out.temporal += p.seconds;
    else if (p.comm.startsWith('postgres')) out.postgres += p.seconds;
  }
  return out;
}

/** Starts the bare worker of the minimal workflow (bench/minimal/worker.ts) and waits until it polls. */
async function startMinimalWorker(address: string, taskQueue: string, namespace: string): Promise<ChildProcess> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'minimal', 'worker.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, address, taskQueue, namespace], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += String(chunk); });
  const deadline = Date.now() + 120_000;
  while (!output.includes('ready')) {
    if (child.exitCode !== null) throw new Error(`the minimal worker exited (${child.exitCode})`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error('the minimal worker did not start in time'); }
    await sleep(100);
  }
  return child;
}

/** Completed runs/s of the minimal workflow on a bare worker: `runs` started `inFlight` at a time, until the last completed. */
async function minimalFloor(client: Client, address: string, namespace: string, runs: number): Promise<{ perSecond: number; seconds: number; cpuMs: Record<'temporal' | 'worker', string> }> {
  const taskQueue = `bench-minimal-${randomBytes(4).toString('hex')}`;
  const worker = await startMinimalWorker(address, taskQueue, namespace);
  try {
    // Warm-up: the worker's first workflow task.
    await client.workflow.execute('minimalRun', { taskQueue, workflowId: `${taskQueue}/warm-up` });
    const ids: string[] = [];
    const cpu0 = await cpuSeconds(worker.pid);
    const started = performance.now();
    await latencies(runs, IN_FLIGHT, async (i) => {
      ids.push((await client.workflow.start('minimalRun', { taskQueue, workflowId: `${taskQueue}/${i}` })).workflowId);
    });
    await latencies(ids.length, IN_FLIGHT, async (i) => { await client.workflow.getHandle(ids[i]).result(); });
    const seconds = (performance.now() - started) / 1000;
    const cpu1 = await cpuSeconds(worker.pid);
    const ms = (k: 'temporal' | 'worker') => fmt(((cpu1[k] - cpu0[k]) / runs) * 1000, 1);
    return { perSecond: runs / seconds, seconds, cpuMs: { temporal: ms('temporal'), worker: ms('worker') } };
  } finally {
    worker.kill('SIGTERM');
    if (worker.exitCode === null) await once(worker, 'exit');
  }
}

/** Waits until every run of `ids` is recorded completed in the runs table. */
async function runsCompleted(sql: Awaited<ReturnType<typeof createTestEnv>>['sql'], ids: string[]): Promise<void> {
  const deadline = Date.now() + Math.max(120_000, ids.length * 500);
  for (;;) {
    const [row] = await sql<{ done: number; failed: number }[]>`
      select count(*) filter (where status = 'completed')::int as done, count(*) filter (where status <> 'running' and status <> 'completed')::int as failed
      from runs where run_id = any(${ids})`;
    if (row.failed) throw new Error(`${row.failed} runs did not complete`);
    if (row.done === ids.length) return;
    if (Date.now() > deadline) throw new Error(`only ${row.done} of ${ids.length} runs completed in time`);
    await sleep(100);
  }
}

export async function orchestrationBenchmark(ctx: BenchContext): Promise<Figure[]> {
  const runs = scaled(ctx, FULL_RUNS, 20);
  const env = await createTestEnv();
  await distinctCampaignIds(env.sql);
  const api = await startApi(env);
  try {
    const campaign = await newCampaign(env.sql);
    const definitions: string[] = [];
    for (let i = 0; i < DEFINITIONS; i++) {
      definitions.push(await createReportDefinition(env.sql, { campaignId: campaign.id, timeframe: { kind: 'entire-campaign' }, output: { skipIfEmpty: true } }));
    }
    const operator = await api.newKey('operator', false);

    // Baseline: bare starts of the same workflow, on a task queue no worker polls (terminated afterwards).
    ctx.log(`orchestration: baseline, ${count(runs)} bare client.workflow.start calls, ${IN_FLIGHT} in flight`);
    const bareQueue = `bench-bare-${randomBytes(4).toString('hex')}`;
    const bareIds: string[] = [];
    const bareCpu0 = await cpuSeconds(undefined);
    const bare = await latencies(runs, IN_FLIGHT, async (i) => {
      const definitionId = definitions[i % DEFINITIONS];
      const handle = await env.client.workflow.start(REPORT_WORKFLOW, {
        taskQueue: bareQueue, workflowId: `${bareQueue}/${i}`, args: [{ definitionId, triggeredBy: 'key:bench' }],
        typedSearchAttributes: runSearchAttributes({ kind: 'report', campaignId: campaign.id, definitionId, triggeredBy: 'key:bench' }),
      });
      bareIds.push(handle.workflowId);
    });
    const bareCpu1 = await cpuSeconds(undefined);
    await latencies(bareIds.length, IN_FLIGHT, async (i) => { await env.client.workflow.getHandle(bareIds[i]).terminate('benchmark baseline'); });

    const address = env.processEnv.TEMPORAL_ADDRESS!;
    const namespace = env.client.options.namespace;
    ctx.log(`orchestration: floor, ${count(runs)} minimal workflows (one local activity) on a bare worker, ${IN_FLIGHT} started at a time`);
    const plainClient = new Client({ connection: env.client.connection, namespace });
    const floor = await minimalFloor(plainClient, address, namespace, runs);

    const worker = await env.spawnWorker();
    await workerReady(worker);
    // Warm-up: connections, the API's first Temporal call, the worker's first workflow task.
    for (const id of definitions.slice(0, 2)) {
      const res = await api.call('POST', `/reports/${id}/run`, { key: operator });
      if (res.status !== 202) throw new Error(`warm-up run: ${res.status} ${JSON.stringify(res.json)}`);
    }
    await sleep(2000);

    // Baseline of the API's latency: the same bare starts, on the worker's task queue, the worker running them.
    ctx.log(`orchestration: baseline, ${count(runs)} bare client.workflow.start calls with the worker running them, ${IN_FLIGHT} in flight`);
    const busyIds: string[] = [];
    const busyStarted = performance.now();
    const busy = await latencies(runs, IN_FLIGHT, async (i) => {
      const definitionId = definitions[i % DEFINITIONS];
      const handle = await env.client.workflow.start(REPORT_WORKFLOW, {
        taskQueue: env.processEnv.TEMPORAL_TASK_QUEUE!, workflowId: `${bareQueue}/busy/${i}`, args: [{ definitionId, triggeredBy: 'key:bench' }],
        typedSearchAttributes: runSearchAttributes({ kind: 'report', campaignId: campaign.id, definitionId, triggeredBy: 'key:bench' }),
      });
      busyIds.push(handle.workflowId);
    });
    await runsCompleted(env.sql, busyIds);
    const busySeconds = (performance.now() - busyStarted) / 1000;
    await sleep(1000);

    ctx.log(`orchestration: starting ${count(runs)} runs through the API, ${IN_FLIGHT} in flight`);
    const ids: string[] = [];
    const cpu0 = await cpuSeconds(worker.pid);
    const started = performance.now();
    const { sorted: latency, seconds: startSeconds } = await latencies(runs, IN_FLIGHT, async (i) => {
      const res = await api.call('POST', `/reports/${definitions[i % DEFINITIONS]}/run`, { key: operator });
      if (res.status !== 202) throw new Error(`run ${i}: ${res.status} ${JSON.stringify(res.json)}`);
      ids.push(res.json.runId);
    });
    await runsCompleted(env.sql, ids);
    const allSeconds = (performance.now() - started) / 1000;
    const cpu1 = await cpuSeconds(worker.pid);
    const perRun = (k: keyof typeof cpu0, a = cpu0, b = cpu1) => fmt(((b[k] - a[k]) / runs) * 1000, 1);
    const size = `${count(runs)} runs`;
    const withRatio = (f: Figure): Figure => ({ ...f, ratio: f.baseline ? f.ours / f.baseline : null });
    const bareNote = `baseline: bare client.workflow.start of the same workflow, ${IN_FLIGHT} in flight, the worker running those runs meanwhile `
      + `(all completed at ${fmt(runs / busySeconds, 1)} runs/s); with no worker running: p50 ${fmt(percentile(bare.sorted, 50), 1)} ms, p99 ${fmt(percentile(bare.sorted, 99), 1)} ms `
      + `(Temporal CPU ${perRun('temporal', bareCpu0, bareCpu1)} ms per start)`;
    const p = (sorted: number[], q: number) => percentile(sorted, q);
    const latencyMet = (q: number) => p(latency, q) <= 1.2 * p(busy.sorted, q);
    const perSecond = runs / allSeconds;
    return [
      withRatio(plainFigure({
        benchmark: 'Orchestration: API start latency p50', size, ours: p(latency, 50), baseline: p(busy.sorted, 50), unit: 'ms', goal: '≤ 1.2× bare start', met: latencyMet(50),
        notes: `POST /reports/{id}/run, ${IN_FLIGHT} requests in flight, loopback, the worker running the runs meanwhile; ${bareNote}`,
      })),
      withRatio(plainFigure({
        benchmark: 'Orchestration: API start latency p99', size, ours: p(latency, 99), baseline: p(busy.sorted, 99), unit: 'ms', goal: '≤ 1.2× bare start', met: latencyMet(99),
        notes: `max ${fmt(latency.at(-1)!, 0)} ms (baseline max ${fmt(busy.sorted.at(-1)!, 0)} ms); all ${count(runs)} starts took ${fmt(startSeconds)} s (${fmt(runs / startSeconds, 0)} starts/s; baseline ${fmt(runs / busy.seconds, 0)}/s)`,
      })),
      withRatio(plainFigure({
        benchmark: 'Orchestration: completed runs per second', size, ours: perSecond, baseline: floor.perSecond, unit: 'runs/s', goal: '≥ 0.8× minimal workflow', met: perSecond >= 0.8 * floor.perSecond,
        notes: `${count(runs)} report runs (empty campaign, skip-if-empty) completed ${fmt(allSeconds)} s after the first request; one worker process; `
          + `CPU per run: Temporal server ${perRun('temporal')} ms, worker ${perRun('worker')} ms, PostgreSQL ${perRun('postgres')} ms, API and bench ${perRun('api')} ms. `
          + `Baseline: a minimal workflow (one local activity, no database, no codec) on a bare worker, ${IN_FLIGHT} started at a time, all completed in ${fmt(floor.seconds)} s `
          + `(CPU per run: Temporal server ${floor.cpuMs.temporal} ms, worker ${floor.cpuMs.worker} ms)`,
      })),
    ];
  } finally {
    await api.close();
    await env.stop();
  }
}
