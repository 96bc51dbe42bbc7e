// Worker processes SIGKILLed again and again at seeded random points of one report run (FAULT_TRIALS
// kills, default 10; FAULT_SEED): after a last worker finishes it, nothing is lost or duplicated, the
// watermarks are exact and no campaign lock is left behind.
import { describe, test } from 'node:test';
import { crashLoop, faultSuiteEnv, rngFor, startReportRun, TRIALS } from './crash-helpers.js';

const suite = faultSuiteEnv();

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('report: one saved file with every row, no stray object in the content store', async () => {
    const run = await startReportRun(suite.env, 200_000);
    await crashLoop(suite.env, run, rngFor('report'), { maxExtraMs: 6000, waitForProgress: false });
  });
});
