// jobRun histories recorded with the code before 'job-settle-failure-ends-run' (4857cc4) — a file-arrival run
// that completed and moved its file, one whose failed import went through its onFailure link to an e-mail and
// then "fail", and one whose file could not be moved to processed/ (the old code failed the workflow there) —
// replay with today's code, so runs in flight during an upgrade carry on as they started.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { loadKeyring } from '../lib/crypto/keys.js';
import { createDataConverterOptions } from '../lib/crypto/payload-codec.js';
import { PROJECT_ROOT } from '../lib/tools.js';
import { testScratchDir } from './harness/scratch.js';
import { testWorkflowBundle } from './harness/temporal.js';

const FIXTURE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'job-run-histories-before-settle-patch.json');
const { History } = proto.temporal.api.history.v1;

test('job runs recorded before a failed file move ended the run as failed replay without a nondeterminism error', async () => {
  const { masterKey, masterKeyId, histories } = JSON.parse(await readFile(FIXTURE, 'utf8')) as { masterKey: string; masterKeyId: string; histories: Record<string, string> };
  const dataConverter = createDataConverterOptions(await loadKeyring({ dataDir: testScratchDir(), masterKey, masterKeyId }));
  const options = { workflowBundle: await testWorkflowBundle(), dataConverter };
  assert.deepEqual(Object.keys(histories).sort(), ['failedThroughLink', 'processed', 'unmovable']);
  for (const [name, encoded] of Object.entries(histories)) {
    const bytes = Buffer.from(encoded, 'base64');
    assert.ok(!bytes.toString('latin1').includes('job-settle-failure-ends-run'), `${name} has no marker`);
    const history = History.decode(bytes);
    const last = history.events?.at(-1);
    if (name === 'unmovable') assert.ok(last?.workflowExecutionFailedEventAttributes, 'the old code failed the workflow on the move');
    // A run's step children are named after its workflow id: replay under the id it ran with.
    const child = history.events?.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    assert.ok(child, `${name} ran its import as a child workflow`);
    await assert.doesNotReject(Worker.runReplayHistory(options, history, child.replace(/\/step-\d+-[^/]*$/, '')), `the ${name} run does not replay`);
  }
});
