// The API process: opens the platform (database, keys, content store) and a Temporal client, makes sure an
// admin key exists, and serves. On SIGTERM/SIGINT it stops accepting connections, lets in-flight requests
// finish (up to a grace time), then closes Temporal and the database.
import type { Server } from 'node:http';
import { config, exitOnStartFailure } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { openPlatform } from '../lib/platform.js';
import { connectClient } from '../lib/temporal/client.js';
import { startTracing } from '../lib/tracing.js';
import { bootstrapAdminKey } from './admin-key.js';
import { createApp } from './app.js';

const SHUTDOWN_GRACE_MS = 20_000;
const log = createLogger({ name: 'api' });

async function main(): Promise<void> {
  const cfg = config();
  const platform = await openPlatform(cfg, { migrate: true });
  const address = cfg.TEMPORAL_ADDRESS ?? `127.0.0.1:${cfg.TEMPORAL_PORT}`;
  const tracing = startTracing(cfg, 'cc-jobs-api');
  const client = await connectClient({ address, namespace: cfg.TEMPORAL_NAMESPACE, keyring: platform.keyring, interceptors: tracing?.clientInterceptors });
  await bootstrapAdminKey({ sql: platform.sql, config: cfg });

  const app = createApp({ sql: platform.sql, client, keyring: platform.keyring, store: platform.store, config: cfg, log });
  const server = await new Promise<Server>((resolve, reject) => {
    // Express 5 calls the callback with the error when listening fails (e.g. the port is taken).
    const s = app.listen(cfg.API_PORT, cfg.API_HOST, (err?: Error) => (err ? reject(new Error(`Cannot listen on ${cfg.API_HOST}:${cfg.API_PORT} (API_HOST/API_PORT): ${err.message}`)) : resolve(s)));
  });
  const url = `http://${cfg.API_HOST.includes(':') ? `[${cfg.API_HOST}]` : cfg.API_HOST}:${cfg.API_PORT}`;
  console.log(`API listening on ${url} (OpenAPI: ${url}/openapi.json, Temporal UI codec endpoint: ${url}/codec)`);

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: no new connections; in-flight requests finish');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    await closed;
    clearTimeout(grace);
    await client.connection.close();
    await tracing?.shutdown();
    await platform.close();
    log.info('api stopped');
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { stop(signal).catch((err) => { log.error({ err: String(err) }, 'shutdown failed'); process.exitCode = 1; }); });
  }
}

main().catch((err) => exitOnStartFailure(err, () => log.error({ err: String(err?.stack ?? err) }, 'api failed to start')));
