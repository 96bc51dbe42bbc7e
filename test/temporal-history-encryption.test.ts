// Temporal's database must hold only ciphertext: read a finished run's raw history through the Temporal
// CLI, without the codec, and find every payload encrypted (search attributes excepted — they are
// indexed by the server and carry only ids and kinds, never personal data — and patch markers, which hold only
// the patch id).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveTemporalCli } from '../lib/tools.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { createDestination, createJob, newCampaign, runExport, seedCalls } from './recording-export-helpers.js';

const run = promisify(execFile);
let env: TestEnv;

before(async () => { env = await createTestEnv(); await env.startWorker(); });
after(async () => { await env?.stop(); });

interface RawPayload { metadata: Record<string, string>; data?: string }

function payloadsOf(node: unknown, at: string[] = [], out: { at: string; payload: RawPayload }[] = []) {
  if (Array.isArray(node)) node.forEach((v, i) => payloadsOf(v, [...at, String(i)], out));
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.metadata && typeof o.metadata === 'object' && 'encoding' in (o.metadata as object)) out.push({ at: at.join('/'), payload: o as unknown as RawPayload });
    for (const [k, v] of Object.entries(o)) payloadsOf(v, [...at, k], out);
  }
  return out;
}

test('the raw history of a run read without the codec holds no plaintext payload', async () => {
  const campaign = await newCampaign(env.sql);
  await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2026-03-02T15:00:00Z'), [{ disposition: 'Sale' }, { disposition: 'Sale' }]);
  const dir = path.join(env.dataDir, 'exports');
  await mkdir(dir, { recursive: true });
  const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: dir });
  const definitionId = await createJob(env.sql, campaign.id, { contentType: 'complete', dispositions: 'all', voiceSignatureOnly: false, destinationId });
  const { runId, result } = await runExport(env, { definitionId });
  assert.equal(result.exported, 2);

  const cli = await resolveTemporalCli();
  assert.ok(cli, 'the Temporal CLI is needed to read raw history');
  const { stdout } = await run(cli!, ['workflow', 'show', '--address', process.env.CCJ_TEST_TEMPORAL_ADDRESS!, '--workflow-id', runId, '--output', 'json'], { maxBuffer: 64 * 1024 * 1024 });
  const history = JSON.parse(stdout);
  const payloads = payloadsOf(history);
  assert.ok(payloads.length > 5, `expected payloads in the history, found ${payloads.length}`);
  // A patch marker (`patched()` in a workflow) is written by the SDK's core outside the data converter: its payload
  // is the patch id, a constant of our workflow code, never data. Checked to hold nothing else.
  const isPatchMarker = (at: string) => at.includes('/markerRecordedEventAttributes/details/patch-data/');
  for (const { payload } of payloads.filter(({ at }) => isPatchMarker(at))) {
    const marker = JSON.parse(Buffer.from(payload.data ?? '', 'base64').toString());
    assert.deepEqual(Object.keys(marker).sort(), ['deprecated', 'id'], JSON.stringify(marker));
    assert.match(marker.id, /^[a-z0-9-]+$/, 'a patch id names a code change');
  }
  const exempt = (at: string) => at.includes('/searchAttributes/') || isPatchMarker(at);
  const clear = payloads.filter(({ at, payload }) =>
    !exempt(at) && Buffer.from(payload.metadata.encoding, 'base64').toString() !== 'binary/encrypted');
  assert.deepEqual(clear.map((c) => c.at), [], 'payloads stored in clear');
  for (const { payload } of payloads.filter((p) => !exempt(p.at))) {
    assert.ok(Buffer.from(payload.metadata['encryption-key-id'], 'base64').toString() === env.deps.keyring.current.id);
  }
  // Names that activities return (the campaign name) never appear in the stored history.
  assert.ok(!stdout.includes(campaign.name), 'the campaign name is readable in the raw history');
  assert.ok(!stdout.includes(Buffer.from(campaign.name).toString('base64').slice(0, 12)), 'the campaign name is only base64-encoded');
});
