// Starts the Temporal CLI dev server (server + UI) as a child process. With `dbFile` the state persists
// across restarts; without it the server is ephemeral (tests). Custom search attributes are registered
// at start with --search-attribute, so they exist before any run is started.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ALL_SEARCH_ATTRIBUTES } from '../../contracts/search-attributes.js';
import { freePort, waitForPort } from '../net.js';
import { resolveTemporalCli } from '../tools.js';

export interface DevServer { address: string; uiUrl?: string; process?: ChildProcess; stop(): Promise<void> }

export async function startTemporalDevServer(options: {
  port?: number;
  uiPort?: number;
  headless?: boolean;
  dbFile?: string;
  namespace?: string;
  codecEndpoint?: string;
  logFile?: string;
  onOutput?: (chunk: string) => void;
}): Promise<DevServer> {
  const cli = await resolveTemporalCli();
  if (!cli) return startWithSdkDownload(options);
  const port = options.port ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port),
    '--namespace', options.namespace ?? 'default', '--log-level', 'warn', '--log-format', 'json'];
  args.push('--http-port', String(await freePort()), '--metrics-port', String(await freePort()));
  for (const key of ALL_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=${key.type}`);
  if (options.dbFile) {
    await mkdir(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  let uiUrl: string | undefined;
  if (options.headless) {
    args.push('--headless');
  } else {
    const uiPort = options.uiPort ?? (await freePort());
    args.push('--ui-port', String(uiPort), '--ui-ip', '127.0.0.1');
    if (options.codecEndpoint) args.push('--ui-codec-endpoint', options.codecEndpoint);
    uiUrl = `http://127.0.0.1:${uiPort}`;
  }
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  child.stdout?.on('data', (c) => options.onOutput?.(String(c)));
  child.stderr?.on('data', (c) => options.onOutput?.(String(c)));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`temporal server exited early with code ${code}; run \`${cli} ${args.join(' ')}\` by hand to see why`))));
  exited.catch(() => {});
  await Promise.race([waitForPort(port, { timeoutMs: 60_000 }), exited]);
  return {
    address: `127.0.0.1:${port}`,
    uiUrl,
    process: child,
    stop: () => stopChild(child),
  };
}

export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}

/** Last resort: the SDK downloads the same CLI itself (needs internet access to temporal.download). */
async function startWithSdkDownload(options: Parameters<typeof startTemporalDevServer>[0]): Promise<DevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1', port, ui: !options.headless, uiPort, dbFilename: options.dbFile,
      namespace: options.namespace ?? 'default', searchAttributes: ALL_SEARCH_ATTRIBUTES,
      extraArgs: options.codecEndpoint && !options.headless ? ['--ui-codec-endpoint', options.codecEndpoint] : [],
    },
  });
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: options.headless ? undefined : `http://127.0.0.1:${uiPort}`,
    process: undefined,
    stop: () => env.teardown(),
  };
}
