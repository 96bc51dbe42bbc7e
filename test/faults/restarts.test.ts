// The servers the platform depends on restart in the middle of a run: the Temporal dev server (file
// persistence) and PostgreSQL are each stopped while a run of each job is mid-way, kept down
// FAULT_RESTART_DOWN_SECONDS (default 5) and started again on the same port and data. The one worker
// process rides it out (it must not exit), the run completes with the same exact outcomes the sigkill tests
// check, and the API reports it completed. This file owns both servers (test/faults/restartable-servers.ts):
// the suite's shared ones are never restarted under the other files.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, test } from 'node:test';
import { testScratchDir } from '../harness/scratch.js';
import {
  faultSuiteEnv, kill, runEnded, startErasureRun, startExportRun, startImportRun, startReportRun, until, type JobRun,
} from './crash-helpers.js';
import { startOwnServers, type OwnServers, type RestartableServer } from './restartable-servers.js';

const DOWN_MS = Number(process.env.FAULT_RESTART_DOWN_SECONDS ?? '5') * 1000;

let servers: OwnServers | undefined;
const suite = faultSuiteEnv({
  servers: {
    async start() {
      servers = await startOwnServers(path.join(testScratchDir(), `restarts-${process.pid}-${randomBytes(3).toString('hex')}`));
      return { pgUrl: servers.pg.url, temporalAddress: servers.temporal.address };
    },
    stop: async () => { await servers?.stop(); },
  },
});

/** Runs `run` on one worker process; once its progress reaches `midway`, restarts `server`; then checks the
 *  worker is still the same process, the run's outcome, and that the API reports it completed. */
async function restartMidRun(server: () => RestartableServer, run: JobRun, midway: number): Promise<void> {
  const { env, api } = suite;
  const worker = await env.spawnWorker({ LOG_LEVEL: 'warn', ...run.workerEnv });
  const died = new Promise<never>((_, reject) => worker.once('exit', (code, signal) =>
    reject(new Error(`the worker exited (code ${code}, signal ${signal}) instead of riding out the restart`))));
  died.catch(() => {});
  try {
    await Promise.race([until('the run to be mid-way', async () => (await run.progress()) >= midway, 300_000), died]);
    assert.equal(await runEnded(env, run.workflowId)(), false, 'the run is still open when the server goes down');
    const stoppedAt = Date.now();
    await server().restart(DOWN_MS);
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

for (const [name, server] of [
  ['Temporal dev server', () => servers!.temporal],
  ['PostgreSQL', () => servers!.pg],
] as const) {
  describe(`${name} restarted mid-run (down ${DOWN_MS / 1000} s)`, () => {
    test('recording export: every file exactly once, every recording recorded once, watermark exact', async () => {
      const run = await startExportRun(suite.env, 60, `restart-export-${randomBytes(3).toString('hex')}`);
      await restartMidRun(server, run, 8);
    });

    test('list import: every contact once with its merged values, counts exact, campaign lock released', async () => {
      const run = await startImportRun(suite.env, 200_000);
      await restartMidRun(server, run, 1);
    });

    test('report: one saved file with every row, no stray object in the content store', async () => {
      const run = await startReportRun(suite.env, 300_000);
      await restartMidRun(server, run, 1);
    });

    test('erasure: each item erased and journalled once, one request and one end in the audit, chain intact', async () => {
      const run = await startErasureRun(suite.env, suite.api, 40);
      await restartMidRun(server, run, 4);
    });
  });
}
