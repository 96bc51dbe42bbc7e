// The demo job `npm run dev` runs end to end: on a first start it loads synthetic contact-center data
// (a campaign, contacts, attempts, calls with real WAV recordings), then — through the public API, as any
// client would — creates a `file` destination and a recording export job, runs it, and follows the run
// until it ends; then a job made of steps (report → copy to the same folder) runs once. Re-running the dev
// command reuses the data and exports only what is new.
import path from 'node:path';
import { loadConfig } from '../lib/config.js';
import { generate } from '../lib/generator/index.js';
import { openPlatform } from '../lib/platform.js';

export interface DemoOptions { apiUrl: string; adminKey: string; uiUrl?: string; dataDir: string; databaseUrl: string; log: (line: string) => void }

export async function runDemo(o: DemoOptions): Promise<void> {
  const api = client(o.apiUrl, o.adminKey);
  const campaignId = await ensureDemoData(o);
  const destinationId = await ensureByName(api, '/destinations', 'demo-exports', {
    name: 'demo-exports', protocol: 'file', path: path.join(o.dataDir, 'exports'),
  });
  const job = await ensureByName(api, '/recording-export-jobs', 'Demo nightly recordings', {
    name: 'Demo nightly recordings', enabled: true, campaignId, contentType: 'complete', voiceSignatureOnly: false,
    dispositions: 'all', completedAfter: '2000-01-01T00:00:00Z', destinationId, schedule: { every: '1h' },
  });
  const { runId, running } = await runNow(api, job);
  o.log(running ? `demo: following the run already in progress, ${runId}` : `demo: recording export started, run ${runId}`);
  const run = await follow(api, runId, o.log);
  o.log(`demo: run ${run.status}; ${JSON.stringify(run.result ?? {})}`);
  o.log(`demo: exported files are in ${path.join(o.dataDir, 'exports')}`);
  if (run.temporalUiUrl) o.log(`demo: see it in Temporal UI: ${run.temporalUiUrl}`);
  if (run.status !== 'completed') throw new Error(`the demo run ended ${run.status}: ${run.error ?? ''}`);
  await runDemoJob(api, campaignId, destinationId, o.log);
}

/** A job made of steps (docs/jobs.md): the campaign's attempts report, copied to the demo folder, every day at
 *  the end of the day (GMT) — run once now. */
async function runDemoJob(api: Api, campaignId: string, destinationId: string, log: (l: string) => void): Promise<void> {
  const reportId = await ensureByName(api, '/reports', 'Demo attempts', {
    name: 'Demo attempts', type: 'all-attempts', campaignId, timeframe: { kind: 'entire-campaign' },
  });
  const jobId = await ensureByName(api, '/jobs', 'Demo report to folder', {
    name: 'Demo report to folder', trigger: { kind: 'schedule', preset: 'end-of-day' },
    steps: [{ name: 'report', kind: 'report', reportId }, { name: 'copy to folder', kind: 'copy', destinationId, path: 'reports/' }],
  });
  const { runId } = await api('POST', `/jobs/${jobId}/run`);
  log(`demo: job "Demo report to folder" started, run ${runId}`);
  const run = await follow(api, runId, log);
  log(`demo: job run ${run.status}${run.error ? `: ${run.error}` : ''}; the report was copied to the exports folder, reports/`);
}

/** Loads the synthetic dataset once (a campaign with contacts, attempts and recorded calls). */
async function ensureDemoData(o: DemoOptions): Promise<string> {
  const platform = await openPlatform(loadConfig({ ...process.env, DATA_DIR: o.dataDir, DATABASE_URL: o.databaseUrl }));
  try {
    const [existing] = await platform.sql<{ id: string }[]>`select id::text from campaigns order by id limit 1`;
    if (existing) return existing.id;
    o.log('demo: generating synthetic data (1 campaign, 2,000 contacts, 6,000 attempts, 25 recorded calls)…');
    const to = new Date();
    const from = new Date(to.getTime() - 7 * 86_400_000);
    const summary = await generate(platform.sql, platform.store, {
      seed: 2026, campaigns: 1, contactsPerCampaign: 2000, attemptsPerContact: 3, interactionsPerCampaign: 25,
      from, to, withContent: true,
    });
    return String(summary.campaignIds[0]);
  } finally {
    await platform.close();
  }
}

type Api = (method: string, route: string, body?: unknown) => Promise<any>;

class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly problem: any) { super(message); }
}

/** "Run now"; when a run of the job is still going (e.g. one left by a previous start), follow that one. */
async function runNow(api: Api, job: string): Promise<{ runId: string; running: boolean }> {
  try {
    return { runId: (await api('POST', `/recording-export-jobs/${job}/run`)).runId, running: false };
  } catch (err) {
    if (err instanceof ApiError && err.status === 409 && err.problem?.runId) return { runId: err.problem.runId, running: true };
    throw err;
  }
}

function client(base: string, key: string): Api {
  return async (method, route, body) => {
    const res = await fetch(base + route, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new ApiError(`${method} ${route} → ${res.status}: ${json?.detail ?? text}`, res.status, json);
    return json;
  };
}

async function ensureByName(api: Api, route: string, name: string, body: unknown): Promise<string> {
  const list = await api('GET', `${route}?limit=200`);
  const found = (list.items ?? []).find((x: { name: string }) => x.name === name);
  if (found) return String(found.id);
  return String((await api('POST', route, body)).id);
}

async function follow(api: Api, runId: string, log: (l: string) => void): Promise<any> {
  let last = '';
  for (let i = 0; i < 600; i++) {
    const run = await api('GET', `/runs/${encodeURIComponent(runId)}`);
    const line = `${run.status} · ${run.step ?? ''} · ${run.progress?.done ?? 0}/${run.progress?.total ?? '?'}`;
    if (line !== last) log(`demo: ${line}`);
    last = line;
    if (!['running', 'scheduled'].includes(run.status)) return run;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`run ${runId} did not finish within 5 minutes`);
}
