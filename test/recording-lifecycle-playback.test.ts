// Playback of recordings (API.md "Recording lifecycle"): GET …/recording and …/segments/{n}/recording answer
// the stored WAV byte for byte, with single ranges (206) and 416 past the end, to a viewer key; a recording
// that was never uploaded is 404 and an erased one 410, never played.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeWav } from '../lib/generator/index.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { newCampaign, startApi, type Api } from './erasure-fixtures.js';

let env: TestEnv;
let api: Api;
let viewer: string;
let eraser: string;
let campaignId: string;
// 3 s of 8 kHz 16-bit audio: about 48 KB, then a longer one crossing several 64 KiB cipher segments.
const wav = makeWav({ seed: 41, durationMs: 9_000 });
const segmentWav = makeWav({ seed: 42, durationMs: 1_500 });

before(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  viewer = await api.newKey('viewer', false);
  eraser = await api.newKey('operator', true);
  campaignId = await newCampaign(env);
  await env.startWorker();
});

after(async () => {
  await api?.close();
  await env?.stop();
});

async function newCall(): Promise<string> {
  const created = await api.call('POST', '/interactions', {
    body: {
      campaignId, channel: 'voice', direction: 'outbound', startedAt: '2025-03-01T14:00:00Z', endedAt: '2025-03-01T14:06:30Z',
      agents: ['alice', 'bob'], disposition: 'Sale',
      segments: [{ agent: 'alice', startedAt: '2025-03-01T14:00:00Z', endedAt: '2025-03-01T14:03:00Z' }],
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return created.json.id;
}

async function upload(path: string, body: Buffer): Promise<void> {
  const res = await fetch(`${api.base}${path}`, { method: 'PUT', headers: { authorization: `Bearer ${api.adminKey}`, 'content-type': 'audio/wav' }, body: Uint8Array.from(body) });
  assert.equal(res.status, 200, await res.text());
}

async function play(path: string, headers: Record<string, string> = {}, key: string | null = viewer) {
  const res = await fetch(`${api.base}${path}`, { headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers } });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

test('the complete recording plays back byte-identical, to a viewer, with ranges', async () => {
  const id = await newCall();
  assert.ok(wav.length > 2 * 64 * 1024, 'the recording spans several cipher segments');
  await upload(`/interactions/${id}/recording`, wav);

  const whole = await play(`/interactions/${id}/recording`);
  assert.equal(whole.res.status, 200);
  assert.equal(whole.res.headers.get('content-type'), 'audio/wav');
  assert.equal(whole.res.headers.get('accept-ranges'), 'bytes');
  assert.equal(whole.res.headers.get('content-length'), String(wav.length));
  assert.ok(whole.body.equals(wav), 'the bytes played are the bytes uploaded');

  // A range across a cipher segment boundary, an open-ended one and a suffix.
  const part = await play(`/interactions/${id}/recording`, { range: 'bytes=65000-140000' });
  assert.equal(part.res.status, 206);
  assert.equal(part.res.headers.get('content-range'), `bytes 65000-140000/${wav.length}`);
  assert.equal(part.res.headers.get('content-length'), String(140000 - 65000 + 1));
  assert.ok(part.body.equals(wav.subarray(65000, 140001)));
  const tail = await play(`/interactions/${id}/recording`, { range: `bytes=${wav.length - 100}-` });
  assert.equal(tail.res.status, 206);
  assert.ok(tail.body.equals(wav.subarray(wav.length - 100)));
  const suffix = await play(`/interactions/${id}/recording`, { range: 'bytes=-44' });
  assert.equal(suffix.res.status, 206);
  assert.ok(suffix.body.equals(wav.subarray(wav.length - 44)), 'the last 44 bytes');
  const past = await play(`/interactions/${id}/recording`, { range: `bytes=${wav.length}-` });
  assert.equal(past.res.status, 416);
  assert.equal(past.res.headers.get('content-range'), `bytes */${wav.length}`);
  assert.equal(JSON.parse(past.body.toString()).status, 416);

  const anonymous = await play(`/interactions/${id}/recording`, {}, null);
  assert.equal(anonymous.res.status, 401);
});

test('an agent segment plays back byte-identical; missing ones are 404', async () => {
  const id = await newCall();
  await upload(`/interactions/${id}/segments/0/recording`, segmentWav);
  const segment = await play(`/interactions/${id}/segments/0/recording`);
  assert.equal(segment.res.status, 200);
  assert.ok(segment.body.equals(segmentWav));
  const part = await play(`/interactions/${id}/segments/0/recording`, { range: 'bytes=0-43' });
  assert.equal(part.res.status, 206);
  assert.ok(part.body.equals(segmentWav.subarray(0, 44)), 'the WAV header');

  assert.equal((await play(`/interactions/${id}/recording`)).res.status, 404, 'the complete call was never uploaded');
  assert.equal((await play(`/interactions/${id}/segments/3/recording`)).res.status, 404, 'no segment 3');
  assert.equal((await play('/interactions/999999999/recording')).res.status, 404);
  assert.equal((await play(`/interactions/${id}/segments/x/recording`)).res.status, 400);
});

test('an erased recording is 410, saying it was erased', async () => {
  const id = await newCall();
  await upload(`/interactions/${id}/recording`, wav);
  assert.equal((await play(`/interactions/${id}/recording`)).res.status, 200);
  const previewed = await api.call('POST', '/erasures/preview', {
    key: eraser, body: { campaignId, items: ['voice-recording'], interactionIds: [id], date: '2025-03-01', reason: 'GDPR request 42' },
  });
  assert.equal(previewed.status, 200, JSON.stringify(previewed.json));
  const started = await api.call('POST', '/erasures', { key: eraser, body: { previewId: previewed.json.previewId, confirm: true } });
  assert.equal(started.status, 202, JSON.stringify(started.json));
  await env.client.workflow.getHandle(started.json.runId).result();

  const erased = await play(`/interactions/${id}/recording`);
  assert.equal(erased.res.status, 410);
  const problem = JSON.parse(erased.body.toString());
  assert.equal(problem.type, 'urn:cc-jobs:problem:recording-erased');
  assert.match(problem.detail, /erased/);
  assert.equal((await play(`/interactions/${id}/recording`, { range: 'bytes=0-10' })).res.status, 410);
});
