// Builds the Temporal worker that hosts every workflow and activity on one task queue.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { createDataConverterOptions } from '../lib/crypto/payload-codec.js';

export const WORKFLOWS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A prebuilt bundle (tests build one per suite run); otherwise workflows/ is bundled at start, in a child process. */
  workflowBundle?: { codePath: string };
  /** Replace single activities, e.g. to inject a fault in a test. */
  activityOverrides?: Record<string, (...args: any[]) => Promise<unknown>>;
  maxConcurrentActivityTaskExecutions?: number;
  identity?: string;
  /** Tracing interceptors and sinks (lib/tracing.ts), when configured. */
  interceptors?: WorkerOptions['interceptors'];
  sinks?: WorkerOptions['sinks'];
}

/**
 * Bundles workflows/ (and the given workflow interceptor modules) in a short-lived child process
 * (worker/bundle-workflows.ts). Bundling in the worker itself (`workflowsPath`) would keep webpack's
 * memory resident for the worker's whole life: an idle worker measured ~355 MB that way, ~245 MB with
 * the bundle built elsewhere.
 */
export async function bundleWorkflowsInChild(workflowInterceptorModules: string[] = []): Promise<{ code: string }> {
  const self = fileURLToPath(import.meta.url);
  const script = path.join(path.dirname(self), `bundle-workflows${path.extname(self)}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'ccj-workflow-bundle-'));
  const outFile = path.join(dir, 'workflow-bundle.js');
  try {
    // The same Node flags (e.g. the tsx loader), without a debugger or profiler of the parent's.
    const execArgv = process.execArgv.filter((a) => !/^--(inspect|cpu-prof|heap-prof)/.test(a));
    const child = spawn(process.execPath, [...execArgv, script, outFile, ...workflowInterceptorModules], { stdio: ['ignore', 'ignore', 'inherit'] });
    const code = await new Promise<number | null>((resolve, reject) => { child.once('error', reject); child.once('exit', resolve); });
    if (code !== 0) throw new Error(`bundling the workflows failed (exit code ${code}); see the output above`);
    return { code: await readFile(outFile, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  const activities = { ...createActivities(options.deps), ...options.activityOverrides };
  // Workflow interceptor modules go into the bundle when this worker bundles; a prebuilt bundle has its own.
  const { workflowModules = [], ...interceptors } = options.interceptors ?? {};
  const workflowBundle = options.workflowBundle ?? await bundleWorkflowsInChild(workflowModules);
  const workerOptions: WorkerOptions = {
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities,
    // Plaintext inputs did not come from a holder of the master key (lib/crypto/payload-codec.ts): refused.
    dataConverter: createDataConverterOptions(options.deps.keyring, { plaintext: 'refuse' }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 20,
    shutdownGraceTime: '20s',
    // Heartbeats reach Temporal at least every 3 s. By default the SDK holds them back for 80% of the
    // activity's heartbeat timeout, leaving 20% (4 s of a 20 s timeout) for a busy machine to deliver one
    // before the attempt is timed out and restarted from scratch.
    maxHeartbeatThrottleInterval: '3s',
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.interceptors ? { interceptors } : {}),
    ...(options.sinks ? { sinks: options.sinks } : {}),
    workflowBundle,
  };
  return Worker.create(workerOptions);
}
