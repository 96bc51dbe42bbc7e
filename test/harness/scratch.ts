import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/tools.js';

/** The suite run's scratch folder (CCJ_TEST_TMP) or .test-tmp when a file runs on its own. */
export function testScratchDir(): string {
  return process.env.CCJ_TEST_TMP ?? path.join(PROJECT_ROOT, '.test-tmp');
}
