// Orchestration: runs started through the API (POST /reports/{id}/run on reports of an empty campaign with
// skip-if-empty, the cheapest real run: start, count, skip, record its end), a few requests in flight at a
// time. Measures API latency p50/p99 and completed runs per second (first request to last run recorded
// completed in the runs table), with the worker in a child process.
import { setTimeout as sleep } from 'node:timers/promises';
import { startApi } from '../test/erasure-fixtures.js';
import { createTestEnv } from '../test/harness/env.js';
import { createReportDefinition, newCampaign } from '../test/report-helpers.js';
import { count, fmt, plainFigure, scaled, workerReady, type BenchContext, type Figure, distinctCampaignIds } from './lib.js';

const FULL_RUNS = 1000;
const IN_FLIGHT = 8;
// Twice the requests in flight: two requests for the same report never start in the same millisecond
// (the manual run id is report/<id>/<ISO time>).
const DEFINITIONS = IN_FLIGHT * 2;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

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
    // At most 8 activities at once: generateReport holds a pooled connection in its transaction and reads
    // through the pool (10 connections) too, so 10 or more at once deadlock the pool (see docs/benchmarks.md).
    const worker = await env.spawnWorker({ WORKER_MAX_ACTIVITIES: '8' });
    await workerReady(worker);
    // Warm-up: connections, the API's first Temporal call, the worker's first workflow task.
    for (const id of definitions.slice(0, 2)) {
      const res = await api.call('POST', `/reports/${id}/run`, { key: operator });
      if (res.status !== 202) throw new Error(`warm-up run: ${res.status} ${JSON.stringify(res.json)}`);
    }
    await sleep(2000);

    ctx.log(`orchestration: starting ${count(runs)} runs through the API, ${IN_FLIGHT} in flight`);
    const latencies: number[] = [];
    const ids: string[] = [];
    const started = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next < runs) {
        const i = next++;
        const t0 = performance.now();
        const res = await api.call('POST', `/reports/${definitions[i % DEFINITIONS]}/run`, { key: operator });
        latencies.push(performance.now() - t0);
        if (res.status !== 202) throw new Error(`run ${i}: ${res.status} ${JSON.stringify(res.json)}`);
        ids.push(res.json.runId);
      }
    }));
    const startSeconds = (performance.now() - started) / 1000;
    const deadline = Date.now() + Math.max(120_000, runs * 500);
    let finished = 0;
    for (;;) {
      const [row] = await env.sql<{ done: number; failed: number }[]>`
        select count(*) filter (where status = 'completed')::int as done, count(*) filter (where status <> 'running' and status <> 'completed')::int as failed
        from runs where run_id = any(${ids})`;
      if (row.failed) throw new Error(`${row.failed} runs did not complete`);
      finished = row.done;
      if (finished === runs) break;
      if (Date.now() > deadline) throw new Error(`only ${finished} of ${runs} runs completed in time`);
      await sleep(100);
    }
    const allSeconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const size = `${count(runs)} runs`;
    return [
      plainFigure({
        benchmark: 'Orchestration: API start latency p50', size, ours: percentile(latencies, 50), unit: 'ms', goal: '–', met: null,
        notes: `POST /reports/{id}/run, ${IN_FLIGHT} requests in flight, loopback`,
      }),
      plainFigure({
        benchmark: 'Orchestration: API start latency p99', size, ours: percentile(latencies, 99), unit: 'ms', goal: '≤ 50 ms', met: percentile(latencies, 99) <= 50,
        notes: `max ${fmt(latencies.at(-1)!, 0)} ms; all ${count(runs)} starts took ${fmt(startSeconds)} s (${fmt(runs / startSeconds, 0)} starts/s)`,
      }),
      plainFigure({
        benchmark: 'Orchestration: completed runs per second', size, ours: runs / allSeconds, unit: 'runs/s', goal: '≥ 100/s', met: runs / allSeconds >= 100,
        notes: `${count(runs)} report runs (empty campaign, skip-if-empty) completed ${fmt(allSeconds)} s after the first request; one worker process with WORKER_MAX_ACTIVITIES=8`,
      }),
    ];
  } finally {
    await api.close();
    await env.stop();
  }
}
