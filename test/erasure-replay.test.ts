// Erasure runs started by the previous workflow code — before the 'erasure-pipelined-steps' patch (progress
// written while the next batch runs, no empty last batch, one end activity) — replay with today's code, so
// runs in flight during an upgrade carry on. The histories were recorded by that code
// (test/fixtures/erasure-run-histories-*.json).
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

const FIXTURE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'erasure-run-histories-before-pipelining.json');
const { History } = proto.temporal.api.history.v1;

test('erasure runs recorded before the pipelined steps replay without a nondeterminism error', async () => {
  const fixture = JSON.parse(await readFile(FIXTURE, 'utf8')) as { masterKey: string; masterKeyId: string; histories: Record<string, string> };
  const keyring = await loadKeyring({ dataDir: testScratchDir(), masterKey: fixture.masterKey, masterKeyId: fixture.masterKeyId });
  const options = { workflowBundle: await testWorkflowBundle(), dataConverter: createDataConverterOptions(keyring) };
  assert.deepEqual(Object.keys(fixture.histories).sort(), ['completed', 'exactMultiple']);
  for (const [name, encoded] of Object.entries(fixture.histories)) {
    const history = History.decode(Buffer.from(encoded, 'base64'));
    // The old runs ended with an empty batch and counted, then audited, in separate activities.
    const scheduled = history.events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    assert.ok(scheduled.includes('countErased') && !scheduled.includes('recordErasureEnd'), `${name} is a history of the old code`);
    await assert.doesNotReject(Worker.runReplayHistory(options, history, `replay-${name}`), `the ${name} run does not replay`);
  }
});

// Runs recorded before the 'erasure-verify-cancellable' patch (a verification that could not be cancelled
// and retried without limit): completed, failed with ErasureIncomplete, and cancelled between batches
// (whose catch verified what was erased) replay on today's code.
const BEFORE_CANCELLABLE_VERIFY = path.join(PROJECT_ROOT, 'test', 'fixtures', 'erasure-run-histories-before-verify-cancellable.json');

test('erasure runs recorded before the cancellable verification replay without a nondeterminism error', async () => {
  const fixture = JSON.parse(await readFile(BEFORE_CANCELLABLE_VERIFY, 'utf8')) as { masterKey: string; masterKeyId: string; histories: Record<string, string> };
  const keyring = await loadKeyring({ dataDir: testScratchDir(), masterKey: fixture.masterKey, masterKeyId: fixture.masterKeyId });
  const options = { workflowBundle: await testWorkflowBundle(), dataConverter: createDataConverterOptions(keyring) };
  assert.deepEqual(Object.keys(fixture.histories).sort(), ['cancelled', 'completed', 'failed']);
  for (const [name, encoded] of Object.entries(fixture.histories)) {
    const history = History.decode(Buffer.from(encoded, 'base64'));
    // One patch marker (erasure-pipelined-steps); today's code adds a second before verifying.
    const markers = history.events.filter((e) => e.markerRecordedEventAttributes);
    assert.equal(markers.length, 1, `${name} is a history of the old code`);
    assert.ok(history.events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'verifyErasure'), `${name} verified`);
    await assert.doesNotReject(Worker.runReplayHistory(options, history, `replay-before-cancellable-verify-${name}`), `the ${name} run does not replay`);
  }
});
