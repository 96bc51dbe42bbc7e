// Worker processes SIGKILLed again and again at seeded random points of one recording export run (FAULT_TRIALS
// kills, default 10; FAULT_SEED): after a last worker finishes it, nothing is lost or duplicated, the
// watermarks are exact and no campaign lock is left behind.
import { describe, test } from 'node:test';
import { crashLoop, faultSuiteEnv, rngFor, startExportRun, TRIALS } from './crash-helpers.js';

const suite = faultSuiteEnv();

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('recording export: every file exactly once, every recording recorded once, watermark exact', async () => {
    const run = await startExportRun(suite.env, 20 * TRIALS, 'sigkill-export');
    await crashLoop(suite.env, run, rngFor('export'), { maxExtraMs: 1500, waitForProgress: true });
  });
});
