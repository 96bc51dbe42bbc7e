// `npm run dev`: the whole platform on this machine, in the foreground until SIGINT/SIGTERM.
// Starts (or uses) PostgreSQL and Temporal with its UI, applies migrations, loads demo data, starts the
// worker and API as child processes, prints the URLs and the admin key, and runs a demo job end to end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { config, exitOnStartFailure, type Config } from '../lib/config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../lib/postgres/embedded.js';
import { startTemporalDevServer, stopChild, type DevServer } from '../lib/temporal/dev-server.js';
import { freePort, waitForPort } from '../lib/net.js';
import { PROJECT_ROOT } from '../lib/tools.js';
import { runDemo } from './demo.js';
import { errorMessage } from '../shared/error-message.js';

const say = (line: string) => console.log(`[dev] ${line}`);

async function main(): Promise<void> {
  let cfg: Config;
  try {
    cfg = config();
  } catch (err) {
    exitOnStartFailure(err, () => console.error(err));
  }
  await mkdir(cfg.dataDir, { recursive: true });
  say(`data directory ${cfg.dataDir}`);
  const stops: (() => Promise<void>)[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping everything this command started…');
    for (const stop of stops.reverse()) await stop().catch((e) => console.error(e));
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  // npm does not always pass SIGTERM through its shell to us; when our parent goes away, stop as if told.
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) void stopAll(0); }, 1000).unref();

  try {
    let databaseUrl = cfg.DATABASE_URL;
    if (!databaseUrl) {
      const db: EmbeddedDatabase = await startEmbeddedPostgres({ dir: path.join(cfg.dataDir, 'postgres') });
      stops.push(db.stop);
      databaseUrl = db.url;
      say(`PostgreSQL (embedded) on 127.0.0.1:${db.port}, data in ${db.dataDir}`);
    } else {
      say('PostgreSQL from DATABASE_URL');
    }

    let temporalAddress = cfg.TEMPORAL_ADDRESS;
    let uiUrl = cfg.TEMPORAL_UI_URL;
    if (!temporalAddress) {
      const server: DevServer = await startTemporalDevServer({
        port: cfg.TEMPORAL_PORT,
        uiPort: cfg.TEMPORAL_UI_PORT,
        dbFile: path.join(cfg.dataDir, 'temporal', 'temporal.db'),
        codecEndpoint: `http://127.0.0.1:${cfg.API_PORT}/codec`,
      });
      stops.push(server.stop);
      temporalAddress = server.address;
      uiUrl ??= server.uiUrl;
      say(`Temporal dev server on ${temporalAddress} (state in ${path.join(cfg.dataDir, 'temporal')})`);
    } else {
      say(`Temporal at TEMPORAL_ADDRESS=${temporalAddress}`);
    }

    const childEnv = {
      ...process.env,
      DATA_DIR: cfg.dataDir,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      ...(uiUrl ? { TEMPORAL_UI_URL: uiUrl } : {}),
      // Two dev instances side by side must not share the worker's metrics port (one would lose its metrics):
      // unless METRICS_PORT is set, each takes a free one.
      METRICS_PORT: process.env.METRICS_PORT ?? String(await freePort()),
    };
    const api = startChild('api', ['api/main.ts'], childEnv);
    stops.push(() => stopChild(api));
    const worker = startChild('worker', ['worker/main.ts'], childEnv);
    stops.push(() => stopChild(worker));
    await waitForPort(cfg.API_PORT, { timeoutMs: 120_000 });

    const apiUrl = `http://127.0.0.1:${cfg.API_PORT}`;
    const adminKey = cfg.ADMIN_API_KEY ?? (await readAdminKey(cfg.dataDir));
    say(`API:         ${apiUrl}  (OpenAPI at ${apiUrl}/openapi.json)`);
    say(`Console:     ${apiUrl}/console  (sign in with the admin key below)`);
    say(`Temporal UI: ${uiUrl ?? '(external server)'}`);
    say(`Metrics:     http://127.0.0.1:${childEnv.METRICS_PORT}/metrics (worker), ${apiUrl}/metrics (API)`);
    say(`Admin key:   ${adminKey}`);
    await runDemo({ apiUrl, adminKey, uiUrl, dataDir: cfg.dataDir, databaseUrl, log: say });
    say('platform is up; Ctrl-C stops it');
    const exited = await Promise.race([childExit(api, 'api'), childExit(worker, 'worker')]);
    if (stopping) return;
    say(`${exited} exited unexpectedly`);
    await stopAll(1);
  } catch (err) {
    console.error(errorMessage(err));
    await stopAll(1);
  }
}

function startChild(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (chunk: Buffer) => String(chunk).split('\n').filter(Boolean).map((l) => `[${name}] ${l}`).join('\n');
  child.stdout?.on('data', (c: Buffer) => console.log(prefix(c)));
  child.stderr?.on('data', (c: Buffer) => console.error(prefix(c)));
  return child;
}

function childExit(child: ChildProcess, name: string): Promise<string> {
  return new Promise((resolve) => child.once('exit', () => resolve(name)));
}

async function readAdminKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'admin-api-key');
  for (let i = 0; i < 100; i++) {
    try {
      return (await readFile(file, 'utf8')).trim();
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`the API did not write ${file}; set ADMIN_API_KEY or check the [api] lines above`);
}

void main();
