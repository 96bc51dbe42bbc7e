// Report runs started by the previous workflow code — before the run's plan and run record became local
// activities (the 'report-run-local-steps' patch) — replay with today's code, so runs in flight during an
// upgrade carry on. The histories were recorded by that code (test/fixtures/report-run-histories-*.json).
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

const FIXTURE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'report-run-histories-before-local-activities.json');
const { History } = proto.temporal.api.history.v1;

test('report runs recorded before the local activities replay without a nondeterminism error', async () => {
  const fixture = JSON.parse(await readFile(FIXTURE, 'utf8')) as { masterKey: string; masterKeyId: string; histories: Record<string, string> };
  const keyring = await loadKeyring({ dataDir: testScratchDir(), masterKey: fixture.masterKey, masterKeyId: fixture.masterKeyId });
  const options = { workflowBundle: await testWorkflowBundle(), dataConverter: createDataConverterOptions(keyring) };
  assert.deepEqual(Object.keys(fixture.histories).sort(), ['definitionGone', 'skipped']);
  for (const [name, encoded] of Object.entries(fixture.histories)) {
    const history = History.decode(Buffer.from(encoded, 'base64'));
    // The old runs scheduled planReportRun, recordRunStart and recordRunEnd as activities (no markers).
    const scheduled = history.events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    assert.equal(scheduled[0], 'planReportRun', name);
    await assert.doesNotReject(Worker.runReplayHistory(options, history, `replay-${name}`), `the ${name} run does not replay`);
  }
});
