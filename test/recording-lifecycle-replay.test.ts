// Recording export runs started by the workflow code before issue 19 (no 'recording-export-expired-count'
// patch) replay with today's code, so runs in flight during an upgrade carry on. The histories were recorded by
// that code (test/fixtures/recording-export-run-histories-before-issue-19.json): a run that exported in batches
// and an empty run.
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

const FIXTURE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'recording-export-run-histories-before-issue-19.json');
const { History } = proto.temporal.api.history.v1;

test('recording export runs recorded before the expired count replay without a nondeterminism error', async () => {
  const fixture = JSON.parse(await readFile(FIXTURE, 'utf8')) as { masterKey: string; masterKeyId: string; histories: Record<string, string> };
  const keyring = await loadKeyring({ dataDir: testScratchDir(), masterKey: fixture.masterKey, masterKeyId: fixture.masterKeyId });
  const options = { workflowBundle: await testWorkflowBundle(), dataConverter: createDataConverterOptions(keyring) };
  assert.deepEqual(Object.keys(fixture.histories).sort(), ['completed', 'empty']);
  for (const [name, encoded] of Object.entries(fixture.histories)) {
    const history = History.decode(Buffer.from(encoded, 'base64'));
    assert.equal(history.events.filter((e) => e.markerRecordedEventAttributes).length, 0, `${name} is a history of the old code (no patch marker)`);
    const batches = history.events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'exportRecordingBatch');
    assert.ok(batches.length >= (name === 'completed' ? 3 : 1), `${name} ran its batches`);
    await assert.doesNotReject(Worker.runReplayHistory(options, history, `replay-${name}`), `the ${name} run does not replay`);
  }
});
