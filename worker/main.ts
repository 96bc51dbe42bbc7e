// The worker process: hosts workflows and activities. On SIGTERM/SIGINT it stops polling and lets
// in-flight activities finish (or hands them back to Temporal after the grace time).
import { Runtime } from '@temporalio/worker';
import { config } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { openPlatform } from '../lib/platform.js';
import { connectClient, connectWorkerConnection, ensureSearchAttributes } from '../lib/temporal/client.js';
import { createWorker } from './create-worker.js';

const log = createLogger({ name: 'worker' });

async function main(): Promise<void> {
  const cfg = config();
  const address = cfg.TEMPORAL_ADDRESS ?? `127.0.0.1:${cfg.TEMPORAL_PORT}`;
  Runtime.install({ shutdownSignals: [] });
  const platform = await openPlatform(cfg, { migrate: true });
  const client = await connectClient({ address, namespace: cfg.TEMPORAL_NAMESPACE, keyring: platform.keyring });
  await ensureSearchAttributes(client, cfg.TEMPORAL_NAMESPACE);
  const connection = await connectWorkerConnection(address);
  const worker = await createWorker({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.TEMPORAL_TASK_QUEUE,
    deps: { ...platform, clock: () => new Date() },
    maxConcurrentActivityTaskExecutions: cfg.WORKER_MAX_ACTIVITIES,
    workflowBundle: cfg.WORKFLOW_BUNDLE ? { codePath: cfg.WORKFLOW_BUNDLE } : undefined,
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping: no new tasks; in-flight work finishes or is handed back');
      worker.shutdown();
    });
  }
  log.info({ address, taskQueue: cfg.TEMPORAL_TASK_QUEUE }, 'worker polling');
  await worker.run();
  await connection.close();
  await client.connection.close();
  await platform.close();
  log.info('worker stopped');
}

main().catch((err) => {
  log.error({ err: String(err?.stack ?? err) }, 'worker failed');
  process.exit(1);
});
