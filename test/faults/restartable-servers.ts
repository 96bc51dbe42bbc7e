// A PostgreSQL and a Temporal dev server owned by one test file, each of which can be stopped, kept down and
// started again on the same port with the same data: the suite's shared servers must never be restarted
// under the other files.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../lib/postgres/embedded.js';
import { freePort } from '../../lib/net.js';
import { startTemporalDevServer, type DevServer } from '../../lib/temporal/dev-server.js';

export interface RestartableServer {
  /** Stops the server (PostgreSQL: fast shutdown, clients disconnected; Temporal: SIGTERM), keeps it down
   *  `downMs`, starts it again on the same port and data. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export interface OwnServers { pg: RestartableServer & { url: string }; temporal: RestartableServer & { address: string }; stop(): Promise<void> }

/** An embedded PostgreSQL (persistent data directory, its own port) and a Temporal dev server with file
 *  persistence (`--db-filename`, its own port), both under `dir`, which `stop()` removes. */
export async function startOwnServers(dir: string): Promise<OwnServers> {
  const pgDir = path.join(dir, 'pg');
  const pgPort = await freePort();
  const startPg = () => startEmbeddedPostgres({ dir: pgDir, port: pgPort, persistent: true, database: 'postgres' });
  const temporalPort = await freePort();
  const dbFile = path.join(dir, 'temporal', 'temporal.db');
  const startTemporal = () => startTemporalDevServer({ headless: true, port: temporalPort, dbFile });
  let db: EmbeddedDatabase | undefined;
  let server: DevServer | undefined;
  [db, server] = await Promise.all([startPg(), startTemporal()]);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const pg = {
    url: db.url,
    async restart(downMs: number) {
      await db?.stop();
      db = undefined;
      await sleep(downMs);
      db = await startPg();
    },
    async stop() { await db?.stop(); db = undefined; },
  };
  const temporal = {
    address: server.address,
    async restart(downMs: number) {
      await server?.stop();
      server = undefined;
      await sleep(downMs);
      server = await startTemporal();
    },
    async stop() { await server?.stop(); server = undefined; },
  };
  return {
    pg, temporal,
    async stop() {
      await Promise.allSettled([pg.stop(), temporal.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
