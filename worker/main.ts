// The worker process: hosts workflows and activities. On SIGTERM/SIGINT it stops polling and lets
// in-flight activities finish (or hands them back to Temporal after the grace time). At start it ensures the
// Temporal Schedules of the cluster-wide chores (worker/chores.ts: the run reconciler, the schedule sync, the
// campaign lock reaper, the upload retention sweep), which run once per installation however many workers
// run, on whichever worker polls; it serves /metrics on METRICS_HOST:METRICS_PORT.
import { config, exitOnStartFailure } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { fetchSdkMetrics, startMetricsServer } from '../lib/metrics.js';
import { openPlatform } from '../lib/platform.js';
import { ensureReportRetentionSchedule } from '../lib/reports/schedules.js';
import { ensureContentExpirySchedule } from '../lib/lifecycle/schedule.js';
import { connectClient, connectWorkerConnection, ensureSearchAttributes } from '../lib/temporal/client.js';
import { choreIntervals, ensureChoreSchedules } from './chores.js';
import { createWorker } from './create-worker.js';
import { installWorkerRuntime } from './runtime.js';

const log = createLogger({ name: 'worker' });

async function main(): Promise<void> {
  const cfg = config();
  const address = cfg.TEMPORAL_ADDRESS ?? `127.0.0.1:${cfg.TEMPORAL_PORT}`;
  const { sdkMetricsUrl } = await installWorkerRuntime(log);
  // OpenTelemetry is loaded only when tracing is configured: unused, it would only add to the worker's memory.
  const tracing = cfg.OTEL_EXPORTER_OTLP_ENDPOINT ? (await import('../lib/tracing.js')).startTracing(cfg, 'cc-jobs-worker') : undefined;
  const platform = await openPlatform(cfg, { migrate: true });
  const client = await connectClient({
    address, namespace: cfg.TEMPORAL_NAMESPACE, keyring: platform.keyring, interceptors: tracing?.clientInterceptors,
  });
  await ensureSearchAttributes(client, cfg.TEMPORAL_NAMESPACE);
  await ensureReportRetentionSchedule(client, cfg.TEMPORAL_TASK_QUEUE); // saved reports are removed after 30 days (Job 2)
  await ensureContentExpirySchedule(client, cfg.TEMPORAL_TASK_QUEUE); // content past RECORDING_STORAGE_DAYS is removed hourly
  // Reconciler, schedule sync, lock reaper, upload retention: one schedule each for the whole installation.
  const chores = await ensureChoreSchedules(client, cfg.TEMPORAL_TASK_QUEUE, choreIntervals(cfg));
  // Metrics are secondary: a taken port is logged loudly, but the worker still does its job.
  const metrics = await startMetricsServer({ host: cfg.METRICS_HOST, port: cfg.METRICS_PORT, extra: () => fetchSdkMetrics(sdkMetricsUrl) })
    .catch((err: Error) => { log.error({ err: err.message }, 'worker metrics are not served'); return undefined; });
  const connection = await connectWorkerConnection(address);
  const worker = await createWorker({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.TEMPORAL_TASK_QUEUE,
    deps: { ...platform, clock: () => new Date() },
    maxConcurrentActivityTaskExecutions: cfg.WORKER_MAX_ACTIVITIES,
    workflowBundle: cfg.WORKFLOW_BUNDLE ? { codePath: cfg.WORKFLOW_BUNDLE } : undefined,
    ...tracing?.workerOptions({ bundlesWorkflows: !cfg.WORKFLOW_BUNDLE }),
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping: no new tasks; in-flight work finishes or is handed back');
      worker.shutdown();
    });
  }
  log.info({ address, taskQueue: cfg.TEMPORAL_TASK_QUEUE, metrics: metrics?.url ?? null, tracing: !!tracing, chores }, 'worker polling');
  await worker.run();
  await metrics?.close();
  await tracing?.shutdown();
  await connection.close();
  await client.connection.close();
  await platform.close();
  log.info('worker stopped');
}

main().catch((err) => exitOnStartFailure(err, () => log.error({ err: String(err?.stack ?? err) }, 'worker failed')));
