// Temporal for tests: the suite's dev server (CCJ_TEST_TEMPORAL_ADDRESS, started by scripts/test.ts) or
// one started here when a file runs on its own; the workflow bundle built once per suite run.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startTemporalDevServer } from '../../lib/temporal/dev-server.js';
import { testScratchDir } from './scratch.js';
import { WORKFLOWS_PATH } from '../../worker/create-worker.js';
import { writeFile } from 'node:fs/promises';

export async function testTemporalAddress(): Promise<{ address: string; stop(): Promise<void> }> {
  const given = process.env.CCJ_TEST_TEMPORAL_ADDRESS;
  if (given) return { address: given, stop: async () => {} };
  const server = await startTemporalDevServer({ headless: true });
  process.env.CCJ_TEST_TEMPORAL_ADDRESS = server.address;
  return { address: server.address, stop: server.stop };
}

let bundling: Promise<{ codePath: string }> | undefined;

/** The prebuilt workflow bundle (CCJ_TEST_WORKFLOW_BUNDLE) or one built now, once per process. */
export function testWorkflowBundle(): Promise<{ codePath: string }> {
  const given = process.env.CCJ_TEST_WORKFLOW_BUNDLE;
  if (given) return Promise.resolve({ codePath: given });
  bundling ??= buildWorkflowBundle(path.join(testScratchDir(), `workflow-bundle-${process.pid}.js`));
  return bundling;
}

export async function buildWorkflowBundle(codePath: string): Promise<{ codePath: string }> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  await mkdir(path.dirname(codePath), { recursive: true });
  await writeFile(codePath, code);
  return { codePath };
}

const noop = () => {};
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };
