// The worker process: hosts workflows and activities. On SIGTERM/SIGINT it stops polling and lets
// in-flight activities finish (or hands them back to Temporal after the grace time). Beside the worker it
// runs the run reconciler (runs Temporal closed without the workflow recording it: terminated from
// Temporal UI, timed out) and the schedule sync (job definitions' Temporal Schedules paused exactly when
// disabled, none left for deleted ones) and the upload retention sweep, and serves /metrics on
// METRICS_HOST:METRICS_PORT.
import { config, exitOnStartFailure } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { fetchSdkMetrics, startMetricsServer } from '../lib/metrics.js';
import { openPlatform } from '../lib/platform.js';
import { ensureReportRetentionSchedule } from '../lib/reports/schedules.js';
import { startCampaignLockReaper } from '../lib/campaign-lock/index.js';
import { startRunReconciler } from '../lib/runs/reconcile.js';
import { startScheduleSync } from '../lib/runs/schedule-sync.js';
import { connectClient, connectWorkerConnection, ensureSearchAttributes } from '../lib/temporal/client.js';
import { startUploadRetention, uploadLimits } from '../lib/uploads.js';
import { createWorker } from './create-worker.js';
import { installWorkerRuntime } from './runtime.js';

const log = createLogger({ name: 'worker' });
const UPLOAD_SWEEP_MS = 10 * 60_000;

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
  const reconciler = startRunReconciler({ sql: platform.sql, client, log }, { intervalMs: cfg.RECONCILE_INTERVAL_SECONDS * 1000, taskQueue: cfg.TEMPORAL_TASK_QUEUE });
  // Schedules changed behind the platform's back (Temporal UI, tctl) are put back to match their definitions.
  const scheduleSync = startScheduleSync({ sql: platform.sql, client, log }, {
    taskQueue: cfg.TEMPORAL_TASK_QUEUE, intervalMs: cfg.RECONCILE_INTERVAL_SECONDS * 1000,
    settleMs: Math.max(5_000, 2 * cfg.RECONCILE_INTERVAL_SECONDS * 1000),
  });
  // Campaign locks whose holder closed with no workflow left to free them (Job 3).
  const lockReaper = startCampaignLockReaper({ sql: platform.sql, client, log }, { intervalMs: cfg.CAMPAIGN_LOCK_REAP_SECONDS * 1000 });
  // Uploads older than UPLOAD_RETENTION_DAYS: content and row removed.
  const uploadRetention = startUploadRetention({ sql: platform.sql, store: platform.store, log }, uploadLimits(cfg), { intervalMs: UPLOAD_SWEEP_MS });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping: no new tasks; in-flight work finishes or is handed back');
      worker.shutdown();
    });
  }
  log.info({ address, taskQueue: cfg.TEMPORAL_TASK_QUEUE, metrics: metrics?.url ?? null, tracing: !!tracing }, 'worker polling');
  await worker.run();
  await reconciler.stop();
  await scheduleSync.stop();
  await lockReaper.stop();
  await uploadRetention.stop();
  await metrics?.close();
  await tracing?.shutdown();
  await connection.close();
  await client.connection.close();
  await platform.close();
  log.info('worker stopped');
}

main().catch((err) => exitOnStartFailure(err, () => log.error({ err: String(err?.stack ?? err) }, 'worker failed')));
