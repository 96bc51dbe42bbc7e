// List import and campaign-lock runs started by the previous workflow code — before a waiting import asked
// again for the lock ('ask-again-for-campaign-lock'), the grant let an earlier no-wait request go first
// ('no-wait-request-goes-first') and a cancel after the commit wrote the statistics log
// ('log-after-late-cancel'), and before the stage activity stopped signalling its progress once a second
// ('list-import-no-progress-signals', issue 12: those runs keep the signal handler) — replay with today's code, so
// runs in flight during an upgrade carry on. The histories were recorded by that code (test/fixtures/list-import-run-histories-before-issue-20.json).
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
  let progressSignals = 0;
  for (const [name, encoded] of Object.entries(fixture.histories)) {
    const history = History.decode(Buffer.from(encoded, 'base64'));
    // No old run carries a marker of these patches: each takes the code path it took when it was recorded.
    for (const patch of ['ask-again-for-campaign-lock', 'no-wait-request-goes-first', 'log-after-late-cancel', 'list-import-no-progress-signals']) {
      assert.ok(!Buffer.from(encoded, 'base64').toString('latin1').includes(patch), `${name} has no ${patch} marker`);
    }
    progressSignals += (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'importProgress').length;
    await assert.doesNotReject(Worker.runReplayHistory(options, history, `replay-${name}`), `the ${name} run does not replay`);
  }
  assert.ok(progressSignals > 0, 'the old runs were signalled with their progress, and replay with the handler they had');
});

// Recorded with the code of dd65fc7, the last before issue 12 stopped the progress signals: a completed import
// signalled 60 times while reading (of 286 events) and one cancelled while reading after 4 signals. Today's code
// sees no 'list-import-no-progress-signals' marker in them, keeps the signal handler and replays them as they ran.
const FIXTURE_ISSUE_12 = path.join(PROJECT_ROOT, 'test', 'fixtures', 'list-import-run-histories-before-issue-12.json');

test('list imports signalled with their progress (before issue 12) replay without a nondeterminism error', async () => {
  const { masterKey, masterKeyId, histories } = JSON.parse(await readFile(FIXTURE_ISSUE_12, 'utf8')) as { masterKey: string; masterKeyId: string; histories: Record<string, string> };
  const dataConverter = createDataConverterOptions(await loadKeyring({ dataDir: testScratchDir(), masterKey, masterKeyId }));
  const options = { workflowBundle: await testWorkflowBundle(), dataConverter };
  assert.deepEqual(Object.keys(histories).sort(), ['cancelledWhileReading', 'completedWithProgress']);
  for (const name of Object.keys(histories)) {
    const bytes = Buffer.from(histories[name], 'base64');
    assert.ok(!bytes.toString('latin1').includes('list-import-no-progress-signals'), `${name} has no marker`);
    const history = History.decode(bytes);
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'importProgress');
    assert.ok(signals.length > 0, `${name} was signalled with its progress`);
    await assert.doesNotReject(Worker.runReplayHistory(options, history, `replay-${name}`), `the ${name} run does not replay`);
  }
});
