// Kill loops for the fault suite: worker child processes SIGKILLed at seeded random points of a run, then a
// last worker that is left to finish it. FAULT_TRIALS sets the kills per job (default 10), FAULT_SEED the seed.
import type { ChildProcess } from 'node:child_process';
import { createRng } from '../../lib/generator/index.js';

type Rng = ReturnType<typeof createRng>;
import type { TestEnv } from '../harness/env.js';

export const TRIALS = Number(process.env.FAULT_TRIALS ?? '10');
export const SEED = Number(process.env.FAULT_SEED ?? '8');

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function rngFor(job: string): Rng {
  return createRng(SEED, 'faults', job);
}

export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export async function kill(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill('SIGKILL');
  await exited;
}

export interface CrashLoop {
  /** A number that grows as the run does work (rows journalled, files recorded); kills wait for it to move. */
  progress(): Promise<number>;
  /** True once the run has ended. */
  ended(): Promise<boolean>;
}

/**
 * Up to `trials` times: start a worker, wait until the run makes progress (or, for runs without visible
 * progress, only the random delay), wait a seeded random extra 0-`maxExtraMs` ms, SIGKILL it. Returns how
 * many kills landed while the run was still open. The caller then starts the worker that finishes the run.
 */
export async function crashLoop(env: TestEnv, rng: Rng, loop: CrashLoop, options: { trials?: number; maxExtraMs: number; waitForProgress: boolean }): Promise<number> {
  let landed = 0;
  for (let t = 0; t < (options.trials ?? TRIALS); t++) {
    if (await loop.ended()) break;
    const worker = await env.spawnWorker({ LOG_LEVEL: 'error' });
    const before = await loop.progress();
    if (options.waitForProgress) {
      await until('the run to make progress', async () => (await loop.progress()) > before || (await loop.ended()), 180_000);
    }
    await sleep(rng.int(0, options.maxExtraMs));
    const open = !(await loop.ended());
    await kill(worker);
    if (open) landed++;
  }
  return landed;
}

/**
 * Starts this database's campaign ids at a random offset: campaign-lock workflows are named
 * `campaign-lock/<campaignId>` in the Temporal namespace all test databases share, so two fresh databases
 * would otherwise both lock "campaign 1" through the same workflow.
 */
export async function distinctCampaignIds(sql: TestEnv['sql']): Promise<void> {
  await sql`select setval(pg_get_serial_sequence('campaigns', 'id'), ${1_000_000 + Math.floor(Math.random() * 1_000_000_000)})`;
}
