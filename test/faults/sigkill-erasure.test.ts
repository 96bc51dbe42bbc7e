// Worker processes SIGKILLed again and again at seeded random points of one erasure run (FAULT_TRIALS
// kills, default 10; FAULT_SEED): after a last worker finishes it, nothing is lost or duplicated, the
// watermarks are exact and no campaign lock is left behind.
import { describe, test } from 'node:test';
import { crashLoop, faultSuiteEnv, rngFor, startErasureRun, TRIALS } from './crash-helpers.js';

const suite = faultSuiteEnv();

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('erasure: each item erased and journalled once, one request and one end in the audit, chain intact', async () => {
    const run = await startErasureRun(suite.env, suite.api, 8 * TRIALS);
    await crashLoop(suite.env, run, rngFor('erasure'), { maxExtraMs: 300, waitForProgress: true });
  });
});
