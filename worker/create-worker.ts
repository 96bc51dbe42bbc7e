// Builds the Temporal worker that hosts every workflow and activity on one task queue.
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
  /** A prebuilt bundle (tests build one per suite run); otherwise the worker bundles workflows/ itself. */
  workflowBundle?: { codePath: string };
  /** Replace single activities, e.g. to inject a fault in a test. */
  activityOverrides?: Record<string, (...args: any[]) => Promise<unknown>>;
  maxConcurrentActivityTaskExecutions?: number;
  identity?: string;
  /** Tracing interceptors and sinks (lib/tracing.ts), when configured. */
  interceptors?: WorkerOptions['interceptors'];
  sinks?: WorkerOptions['sinks'];
}

export function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  const activities = { ...createActivities(options.deps), ...options.activityOverrides };
  const workerOptions: WorkerOptions = {
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities,
    dataConverter: createDataConverterOptions(options.deps.keyring),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 20,
    shutdownGraceTime: '20s',
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.interceptors ? { interceptors: options.interceptors } : {}),
    ...(options.sinks ? { sinks: options.sinks } : {}),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  };
  return Worker.create(workerOptions);
}
