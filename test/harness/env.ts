// Everything a workflow test needs, unique per test file: a fresh database, a data directory with its
// own content store and key, a Temporal client, a task queue, and in-process or child-process workers.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import type { ActivityDeps } from '../../activities/index.js';
import { loadConfig, type Config } from '../../lib/config.js';
import { loadKeyring } from '../../lib/crypto/keys.js';
import { openContentStore } from '../../lib/platform.js';
import { connectClient, connectWorkerConnection } from '../../lib/temporal/client.js';
import { stopChild } from '../../lib/temporal/dev-server.js';
import { PROJECT_ROOT } from '../../lib/tools.js';
import { testScratchDir } from './scratch.js';
import { createWorker, type CreateWorkerOptions } from '../../worker/create-worker.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { testTemporalAddress, testWorkflowBundle } from './temporal.js';

export interface TestEnv {
  db: TestDatabase;
  sql: TestDatabase['sql'];
  config: Config;
  deps: ActivityDeps;
  client: Client;
  taskQueue: string;
  dataDir: string;
  /** Environment for child processes (worker, API) sharing this test's database, key and task queue. */
  processEnv: NodeJS.ProcessEnv;
  startWorker(options?: Partial<Pick<CreateWorkerOptions, 'activityOverrides' | 'maxConcurrentActivityTaskExecutions'>> & { deps?: Partial<ActivityDeps> }): Promise<RunningWorker>;
  spawnWorker(extraEnv?: NodeJS.ProcessEnv): Promise<ChildProcess>;
  stop(): Promise<void>;
}

// Worker logs at WARN in tests; the default INFO floods the output with state changes.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed by this process
}

export interface RunningWorker { worker: Worker; stop(): Promise<void> }

// File destinations are confined to FILE_DESTINATION_ROOT; tests keep theirs in the scratch folder. Set here
// too for the activities of in-process workers, which read the process's configuration.
process.env.FILE_DESTINATION_ROOT ??= testScratchDir();

/** `servers`: a PostgreSQL (admin URL) and/or a Temporal server of the test's own instead of the suite's, e.g.
 *  ones the test restarts; the test starts and stops them. */
export async function createTestEnv(options: { env?: Record<string, string>; servers?: { pgUrl?: string; temporalAddress?: string } } = {}): Promise<TestEnv> {
  const id = randomBytes(4).toString('hex');
  const dataDir = path.join(testScratchDir(), `env-${process.pid}-${id}`);
  await mkdir(dataDir, { recursive: true });
  const db = await createTestDatabase({ serverUrl: options.servers?.pgUrl });
  const ownTemporal = options.servers?.temporalAddress;
  const temporal = ownTemporal ? { address: ownTemporal, stop: async () => {} } : await testTemporalAddress();
  const taskQueue = `test-${id}`;
  const masterKey = randomBytes(32).toString('base64');
  const processEnv: Record<string, string> = {
    DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    MASTER_KEY: masterKey,
    MASTER_KEY_ID: `t${id}`,
    LOG_LEVEL: 'warn',
    FILE_DESTINATION_ROOT: process.env.FILE_DESTINATION_ROOT ?? testScratchDir(),
    ...options.env,
  };
  const config = loadConfig({ ...processEnv });
  const keyring = await loadKeyring({ dataDir, masterKey, masterKeyId: config.MASTER_KEY_ID });
  const store = openContentStore(config, keyring);
  const deps: ActivityDeps = { sql: db.sql, databaseUrl: db.url, store, keyring, config, clock: () => new Date() };
  const client = await connectClient({ address: temporal.address, namespace: config.TEMPORAL_NAMESPACE, keyring });
  const workers: RunningWorker[] = [];
  const children: ChildProcess[] = [];

  const env: TestEnv = {
    db, sql: db.sql, config, deps, client, taskQueue, dataDir,
    processEnv: { ...process.env, ...processEnv },
    async startWorker(opts = {}) {
      const connection = await connectWorkerConnection(temporal.address);
      const worker = await createWorker({
        connection, namespace: config.TEMPORAL_NAMESPACE, taskQueue,
        deps: { ...deps, ...opts.deps },
        workflowBundle: await testWorkflowBundle(),
        activityOverrides: opts.activityOverrides,
        maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions,
      });
      const running = worker.run();
      let stopping: Promise<void> | undefined;
      const handle: RunningWorker = {
        worker,
        stop() {
          stopping ??= (async () => {
            if (worker.getState() === 'RUNNING') worker.shutdown();
            await running.catch(() => {});
            await connection.close();
          })();
          return stopping;
        },
      };
      workers.push(handle);
      return handle;
    },
    async spawnWorker(extraEnv = {}) {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'worker', 'main.ts')], {
        env: { ...env.processEnv, WORKFLOW_BUNDLE: (await testWorkflowBundle()).codePath, ...extraEnv }, stdio: ['ignore', 'inherit', 'inherit'],
      });
      children.push(child);
      return child;
    },
    async stop() {
      for (const w of workers) await w.stop();
      for (const c of children) await stopChild(c, 5_000);
      await client.connection.close();
      await db.drop();
      await temporal.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return env;
}
