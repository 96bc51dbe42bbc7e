// Worker processes SIGKILLed again and again at seeded random points of one list import run (FAULT_TRIALS
// kills, default 10; FAULT_SEED): after a last worker finishes it, nothing is lost or duplicated, the
// watermarks are exact and no campaign lock is left behind.
import { describe, test } from 'node:test';
import { crashLoop, faultSuiteEnv, rngFor, startImportRun, TRIALS } from './crash-helpers.js';

const suite = faultSuiteEnv();

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('list import: every contact once with its merged values, counts exact, campaign lock released', async () => {
    // Big enough that the import outlasts the 0-6 s kill delays on a fast, quiet machine (60,000 rows once
    // finished before the first kill landed): each kill restarts staging or the apply, so it always lands.
    const run = await startImportRun(suite.env, 500_000);
    await crashLoop(suite.env, run, rngFor('import'), { maxExtraMs: 6000, waitForProgress: false });
  });
});
