// Restarts of the servers the platform depends on, in the middle of a run of each job (restart-temporal.test.ts,
// restart-postgres.test.ts). Each file owns the server it restarts — an embedded PostgreSQL with a persistent
// data directory, or a Temporal dev server with file persistence (--db-filename) — on a port of its own, so
// the servers the suite shares with the other files are never restarted. Once a run is mid-way the server is
// stopped, kept down FAULT_RESTART_DOWN_SECONDS (default 5) and started again on the same port and data. The
// one worker process must ride it out (the test fails if it exits), the run must complete with the same
// exact checks as the sigkill tests, and the API must then report it completed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { freePort } from '../../lib/net.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../lib/postgres/embedded.js';
import { startTemporalDevServer, type DevServer } from '../../lib/temporal/dev-server.js';
import { testScratchDir } from '../harness/scratch.js';
import {
  faultSuiteEnv, kill, runEnded, sleep, startErasureRun, startExportRun, startImportRun, startReportRun, until, type JobRun,
} from './crash-helpers.js';

export const DOWN_MS = Number(process.env.FAULT_RESTART_DOWN_SECONDS ?? '5') * 1000;

interface RestartableServer {
  /** Stops the server, keeps it down `downMs`, starts it again on the same port and data. */
  restart(downMs: number): Promise<void>;
  /** Stops it for good and removes its data. */
  stop(): Promise<void>;
}

/** Embedded PostgreSQL (admin URL `url`). Stopping it is a fast shutdown: every client is disconnected. fsync
 *  is off: a clean restart keeps the data without it, and the machine's other work does not slow it down. */
async function startRestartablePostgres(dir: string): Promise<RestartableServer & { url: string }> {
  const port = await freePort();
  const start = () => startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port, persistent: true, fsync: false, database: 'postgres' });
  let db: EmbeddedDatabase | undefined = await start();
  return {
    url: db.url,
    async restart(downMs) {
      await db?.stop();
      db = undefined;
      await sleep(downMs);
      db = await start();
    },
    async stop() {
      await db?.stop();
      db = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Temporal dev server with its state in a SQLite file. Stopping it is a SIGTERM. */
async function startRestartableTemporal(dir: string): Promise<RestartableServer & { address: string }> {
  const port = await freePort();
  const start = () => startTemporalDevServer({ headless: true, port, dbFile: path.join(dir, 'temporal', 'temporal.db') });
  let server: DevServer | undefined = await start();
  return {
    address: server.address,
    async restart(downMs) {
      await server?.stop();
      server = undefined;
      await sleep(downMs);
      server = await start();
    },
    async stop() {
      await server?.stop();
      server = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The file's tests: one run of each job with `kind` restarted mid-way. */
export function restartSuite(kind: 'Temporal dev server' | 'PostgreSQL'): void {
  let server: RestartableServer | undefined;
  const suite = faultSuiteEnv({
    servers: {
      async start() {
        const dir = path.join(testScratchDir(), `restart-${process.pid}-${randomBytes(3).toString('hex')}`);
        if (kind === 'PostgreSQL') {
          const pg = await startRestartablePostgres(dir);
          server = pg;
          return { pgUrl: pg.url };
        }
        const temporal = await startRestartableTemporal(dir);
        server = temporal;
        return { temporalAddress: temporal.address };
      },
      stop: async () => { await server?.stop(); },
    },
  });

  /** Runs `run` on one worker process; once its progress reaches `midway`, restarts the server; then checks
   *  the worker is still the same process, the run's outcome, and that the API reports it completed. */
  async function restartMidRun(run: JobRun, midway: number): Promise<void> {
    const { env, api } = suite;
    const worker = await env.spawnWorker({ LOG_LEVEL: 'warn', ...run.workerEnv });
    const died = new Promise<never>((_, reject) => worker.once('exit', (code, signal) =>
      reject(new Error(`the worker exited (code ${code}, signal ${signal}) instead of riding out the restart`))));
    died.catch(() => {});
    try {
      await Promise.race([until('the run to be mid-way', async () => (await run.progress()) >= midway, 300_000), died]);
      assert.equal(await runEnded(env, run.workflowId)(), false, 'the run is still open when the server goes down');
      const stoppedAt = Date.now();
      await server!.restart(DOWN_MS);
      await Promise.race([run.finish(), died]);
      const closed = (await env.client.workflow.getHandle(run.workflowId).describe()).closeTime;
      assert.ok(closed && closed.getTime() > stoppedAt, 'the run ended after the server went down');
      const seen = await api.call('GET', `/runs/${encodeURIComponent(run.workflowId)}`);
      assert.equal(seen.status, 200, JSON.stringify(seen.json));
      assert.equal(seen.json.status, 'completed', JSON.stringify(seen.json));
    } finally {
      await kill(worker);
    }
  }

  describe(`${kind} restarted mid-run (down ${DOWN_MS / 1000} s)`, () => {
    test('recording export: every file exactly once, every recording recorded once, watermark exact', async () => {
      await restartMidRun(await startExportRun(suite.env, 60, `restart-export-${randomBytes(3).toString('hex')}`), 8);
    });

    test('list import: every contact once with its merged values, counts exact, campaign lock released', async () => {
      // 300,000 rows: still open when the first progress shows, even on a fast quiet machine.
      await restartMidRun(await startImportRun(suite.env, 300_000), 1);
    });

    test('report: one saved file with every row, no stray object in the content store', async () => {
      await restartMidRun(await startReportRun(suite.env, 300_000), 1);
    });

    test('erasure: each item erased and journalled once, one request and one end in the audit, chain intact', async () => {
      await restartMidRun(await startErasureRun(suite.env, suite.api, 40), 4);
    });
  });
}
