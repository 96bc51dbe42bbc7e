// List import and campaign-lock runs started by the previous workflow code — before a waiting import asked
// again for the lock ('ask-again-for-campaign-lock'), the grant let an earlier no-wait request go first
// ('no-wait-request-goes-first') and a cancel after the commit wrote the statistics log
// ('log-after-late-cancel') — replay with today's code, so runs in flight during an upgrade carry on. The
// histories were recorded by that code (test/fixtures/list-import-run-histories-before-issue-20.json).
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

const FIXTURE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'list-import-run-histories-before-issue-20.json');
const { History } = proto.temporal.api.history.v1;

test('list import and campaign lock runs recorded before issue 20 replay without a nondeterminism error', async () => {
  const fixture = JSON.parse(await readFile(FIXTURE, 'utf8')) as { masterKey: string; masterKeyId: string; histories: Record<string, string> };
  const keyring = await loadKeyring({ dataDir: testScratchDir(), masterKey: fixture.masterKey, masterKeyId: fixture.masterKeyId });
  const options = { workflowBundle: await testWorkflowBundle(), dataConverter: createDataConverterOptions(keyring) };
  assert.deepEqual(Object.keys(fixture.histories).sort(),
    ['cancelBetweenStatements', 'cancelledAfterCommit', 'holder', 'lockWorkflow', 'queued', 'refusedNoWait']);
  for (const [name, encoded] of Object.entries(fixture.histories)) {
    const history = History.decode(Buffer.from(encoded, 'base64'));
    // No old run carries a marker of these patches: each takes the code path it took when it was recorded.
    for (const patch of ['ask-again-for-campaign-lock', 'no-wait-request-goes-first', 'log-after-late-cancel']) {
      assert.ok(!Buffer.from(encoded, 'base64').toString('latin1').includes(patch), `${name} has no ${patch} marker`);
    }
    await assert.doesNotReject(Worker.runReplayHistory(options, history, `replay-${name}`), `the ${name} run does not replay`);
  }
});
