// What an erasure covers, end to end against real PostgreSQL, Temporal, the local content store and real
// destinations: a from/to range of days in the campaign's timezone (from's local midnight inclusive, the
// midnight after `to` exclusive, across a DST change), specific interaction ids, exported playback copies
// on file and SFTP destinations (found by the recorded destination id, or by location for older rows),
// and the preview lifetime and batch size taken from configuration.
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createActivities } from '../activities/index.js';
import { openDestination } from '../lib/destinations.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startSshd, type SshdServer } from './harness/servers/index.js';
import { addInteraction, auditOf, contentOf, countByKind, newCampaign, startApi, type Api } from './erasure-fixtures.js';

let env: TestEnv;
let api: Api;
let sshd: SshdServer;
let eraser: string;

before(async () => {
  sshd = await startSshd();
  // Configured lifetime and batch size, so the test sees them used instead of the defaults.
  env = await createTestEnv({ env: { ERASURE_PREVIEW_TTL_MINUTES: '7', ERASURE_BATCH_SIZE: '3' } });
  api = await startApi(env);
  eraser = await api.newKey('operator', true);
  await env.startWorker();
});

after(async () => {
  await api?.close();
  await env?.stop();
  await sshd?.stop();
});

async function erase(body: Record<string, unknown>) {
  const previewed = await api.call('POST', '/erasures/preview', { key: eraser, body: { reason: 'scope test', ...body } });
  assert.equal(previewed.status, 200, JSON.stringify(previewed.json));
  const started = await api.call('POST', '/erasures', { key: eraser, body: { previewId: previewed.json.previewId, confirm: true } });
  assert.equal(started.status, 202, JSON.stringify(started.json));
  const runId: string = started.json.runId;
  const result = await env.client.workflow.getHandle(runId).result();
  return { preview: previewed.json, runId, result };
}

async function erasedIn(campaignId: string, runId: string) {
  return (await contentOf(env, campaignId)).filter((c) => c.erased_run === runId);
}

describe('erasing a from/to range of days', () => {
  test('covers from\'s local midnight up to, not including, the midnight after to, in the campaign\'s timezone across a DST change', async () => {
    const campaignId = await newCampaign(env, 'America/New_York');
    // DST starts in New York on 2025-03-09 at 02:00 (-05:00 → -04:00).
    const at = async (iso: string) => (await addInteraction(env, campaignId, 'chat', iso)).id;
    const justBefore = await at('2025-03-07T23:59:59-05:00');
    const firstInstant = await at('2025-03-08T00:00:00-05:00');
    const onDstDay = await at('2025-03-09T03:30:00-04:00');
    const lastMinute = await at('2025-03-10T23:59:00-04:00');
    const nextMidnight = await at('2025-03-11T00:00:00-04:00');
    // In UTC this is 11 March, but in New York still 10 March: in range.
    const lateUtc = await at('2025-03-11T03:00:00Z');
    const email = (await addInteraction(env, campaignId, 'email', '2025-03-09T12:00:00-04:00')).id;

    const { preview, runId, result } = await erase({ campaignId, items: ['chat-transcript', 'email-message'], from: '2025-03-08', to: '2025-03-10' });
    assert.deepEqual(preview.counts, { 'chat-transcript': 4, 'email-message': 1 });
    assert.equal(preview.interactions, 5);
    assert.equal(result.verified, true);

    const erased = await erasedIn(campaignId, runId);
    assert.deepEqual(new Set(erased.map((c) => c.interaction_id)), new Set([firstInstant, onDstDay, lastMinute, lateUtc, email]));
    assert.deepEqual(countByKind(erased), preview.counts, 'preview counts equal what was erased');
    const kept = (await contentOf(env, campaignId)).filter((c) => [justBefore, nextMidnight].includes(c.interaction_id));
    assert.equal(kept.length, 2);
    for (const c of kept) assert.equal(await env.deps.store.exists(c.store_key!), true);

    const [, end] = await auditOf(env, runId);
    assert.deepEqual({ from: end.scope.from, to: end.scope.to, timezone: end.scope.timezone }, { from: '2025-03-08', to: '2025-03-10', timezone: 'America/New_York' });
    assert.deepEqual({ ...end.counts, bytes: undefined }, { 'chat-transcript': 4, 'email-message': 1, interactions: 5, bytes: undefined });
  });
});

describe('erasing specific interactions', () => {
  test('only the listed interactions lose content, and the preview counts equal what is erased', async () => {
    const campaignId = await newCampaign(env, 'Europe/Berlin');
    const calls = [];
    for (let i = 0; i < 4; i++) calls.push(await addInteraction(env, campaignId, 'voice', `2025-05-0${i + 1}T10:00:00+02:00`));
    const chat = await addInteraction(env, campaignId, 'chat', '2025-05-02T11:00:00+02:00');
    const chosen = [calls[1].id, calls[3].id, chat.id];
    const items = ['voice-recording', 'voice-transcript', 'chat-transcript'];

    const { preview, runId, result } = await erase({ campaignId, items, interactionIds: chosen });
    // A call has the complete recording and two agent segments, plus a transcript.
    assert.deepEqual(preview.counts, { 'voice-recording': 6, 'voice-transcript': 2, 'chat-transcript': 1 });
    assert.equal(preview.interactions, 3);
    const erased = await erasedIn(campaignId, runId);
    assert.deepEqual(new Set(erased.map((c) => c.interaction_id)), new Set(chosen));
    assert.deepEqual(countByKind(erased), preview.counts);
    assert.equal(result.counts.bytes, preview.sizeBytes);
    for (const c of await contentOf(env, campaignId)) {
      const shouldGo = chosen.includes(c.interaction_id) && items.includes(c.kind);
      assert.equal(c.erased_run === runId, shouldGo, `content ${c.id} (${c.kind})`);
      if (!shouldGo) assert.equal(await env.deps.store.exists(c.store_key!), true);
    }
  });

  test('ids and a day together erase only the listed interactions of that day', async () => {
    const campaignId = await newCampaign(env, 'Europe/Berlin');
    const onDay = await addInteraction(env, campaignId, 'chat', '2025-06-01T09:00:00+02:00');
    const otherDay = await addInteraction(env, campaignId, 'chat', '2025-06-02T09:00:00+02:00');
    await addInteraction(env, campaignId, 'chat', '2025-06-01T10:00:00+02:00');
    const { preview, runId } = await erase({ campaignId, items: ['chat-transcript'], date: '2025-06-01', interactionIds: [onDay.id, otherDay.id] });
    assert.deepEqual(preview.counts, { 'chat-transcript': 1 });
    assert.deepEqual((await erasedIn(campaignId, runId)).map((c) => c.interaction_id), [onDay.id]);
  });
});

describe('exported playback copies on every kind of destination', () => {
  async function createDestination(body: Record<string, unknown>): Promise<string> {
    const created = await api.call('POST', '/destinations', { body: { name: `copies-${Math.random().toString(36).slice(2, 8)}`, ...body } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    return created.json.id;
  }

  /** Writes a copy through the destination, registered as an export since migration 0008 does (with the
   *  destination and relative path) or as older rows are (the location alone). */
  async function exportCopy(destinationId: string, contentId: string, name: string, recorded: boolean): Promise<string> {
    const transfer = await openDestination(env.sql, env.deps.keyring, destinationId);
    try {
      const put = await transfer.put(`playback/2025/${name}.wav`, Readable.from([Buffer.from(`RIFF copy ${name}`)]));
      await env.sql`
        update interaction_content set exported_to = ${put.location},
          exported_dest = ${recorded ? destinationId : null}, exported_path = ${recorded ? put.path : null}
        where id = ${contentId}`;
      return put.location;
    } finally {
      await transfer.close();
    }
  }

  test('file and SFTP copies are deleted through the destination that wrote them; copies of kept calls stay', async () => {
    const folder = path.join(env.dataDir, 'file-exports');
    await mkdir(folder, { recursive: true });
    const fileDest = await createDestination({ protocol: 'file', path: folder });
    const sftpDest = await createDestination({
      protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, path: path.join(sshd.rootDir, 'exports'),
    });
    const campaignId = await newCampaign(env);
    const calls = [];
    for (let i = 0; i < 5; i++) calls.push(await addInteraction(env, campaignId, 'voice', `2025-09-01T1${i}:00:00-04:00`));
    const kept = await addInteraction(env, campaignId, 'voice', '2025-09-02T10:00:00-04:00');
    const copies = [
      { dest: fileDest, call: calls[0], recorded: true },
      { dest: fileDest, call: calls[1], recorded: false },
      { dest: sftpDest, call: calls[2], recorded: true },
      { dest: sftpDest, call: calls[3], recorded: false },
      { dest: fileDest, call: kept, recorded: true },
    ];
    const locations = [];
    for (const c of copies) locations.push(await exportCopy(c.dest, c.call.recording!.id, `call-${c.call.id}`, c.recorded));
    assert.match(locations[0], /^file:\/\//);
    assert.match(locations[2], /^sftp:\/\/127\.0\.0\.1:\d+\//);
    const onDisk = (location: string) => readFile(location.startsWith('file:') ? new URL(location) : location.replace(/^sftp:\/\/[^/]+/, ''))
      .then(() => true, () => false);
    for (const l of locations) assert.equal(await onDisk(l), true);

    const { runId, result } = await erase({ campaignId, items: ['voice-recording'], date: '2025-09-01' });
    assert.equal(result.verified, true);
    assert.equal(openSftpConnections(), 0, 'the in-process worker closed every SFTP connection it opened');
    assert.deepEqual(await Promise.all(locations.map(onDisk)), [false, false, false, false, true]);
    const [row] = await env.sql`select exported_to, exported_dest, exported_path from interaction_content where id = ${calls[0].recording!.id}`;
    assert.deepEqual({ ...row }, { exported_to: null, exported_dest: null, exported_path: null });
    const journal = await env.sql`select exported_dest from erasure_journal where run_id = ${runId} and exported_to is not null order by content_id`;
    assert.deepEqual(journal.map((j) => j.exported_dest), [fileDest, null, sftpDest, null]);
  });

  test('a copy whose recorded destination now points elsewhere is not guessed at: the run fails and keeps it', async () => {
    const folder = path.join(env.dataDir, 'moved-exports');
    const destinationId = await createDestination({ protocol: 'file', path: folder });
    const campaignId = await newCampaign(env);
    const call = await addInteraction(env, campaignId, 'voice', '2025-10-01T10:00:00-04:00');
    const location = await exportCopy(destinationId, call.recording!.id, 'moved', true);
    await env.sql`update destinations set settings = jsonb_set(settings, '{path}', ${JSON.stringify(path.join(env.dataDir, 'elsewhere'))}::jsonb) where id = ${destinationId}`;
    const previewed = await api.call('POST', '/erasures/preview', { key: eraser, body: { campaignId, items: ['voice-recording'], date: '2025-10-01', reason: 'moved' } });
    const started = await api.call('POST', '/erasures', { key: eraser, body: { previewId: previewed.json.previewId, confirm: true } });
    await assert.rejects(env.client.workflow.getHandle(started.json.runId).result());
    assert.equal(await readFile(new URL(location)).then(() => true), true, 'the copy is still there, and the run says so');
    const audit = await auditOf(env, started.json.runId);
    assert.deepEqual(audit.map((a) => a.action), ['erasure.requested', 'erasure.failed']);
  });
});

describe('verification', () => {
  test('reads every journalled item back before answering: an object still in the store fails it', async () => {
    const left = await env.deps.store.put(Readable.from([Buffer.from('not erased')]), { prefix: 'interactions' });
    const runId = 'erasure/test/verify-reads-back';
    const chat = await addInteraction(env, await newCampaign(env), 'chat', '2025-12-01T10:00:00-05:00');
    const [content] = await env.sql`select id, interaction_id from interaction_content where interaction_id = ${chat.id}`;
    await env.sql`
      insert into erasure_journal (run_id, content_id, interaction_id, kind, store_key, size_bytes)
      values (${runId}, ${content.id}, ${content.interaction_id}, 'chat-transcript', ${left.key}, ${left.sizeBytes})`;
    const activities = createActivities(env.deps);
    await assert.rejects(activities.verifyErasure({ runId, previewId: 'ep_none', requireAll: false }), (err: Error) => {
      assert.match(err.message, new RegExp(`${content.id} \\(content store\\)`));
      return true;
    });
  });
});

describe('configuration', () => {
  test('previews live ERASURE_PREVIEW_TTL_MINUTES and runs erase ERASURE_BATCH_SIZE items per batch', async () => {
    const campaignId = await newCampaign(env);
    for (let i = 0; i < 7; i++) await addInteraction(env, campaignId, 'chat', `2025-11-01T1${i}:00:00-04:00`);
    const before = Date.now();
    const { preview, runId } = await erase({ campaignId, items: ['chat-transcript'], date: '2025-11-01' });
    const ttl = Date.parse(preview.expiresAt) - before;
    assert.ok(ttl > 6.9 * 60_000 && ttl < 7.1 * 60_000, `expires in ${ttl} ms`);
    const history = await env.client.workflow.getHandle(runId).fetchHistory();
    const batches = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'eraseBatch');
    assert.equal(batches.length, 3, '7 items in batches of 3: the short third batch is known to be the last');
  });
});

function openSftpConnections(): number {
  return (process as unknown as { _getActiveHandles(): { remotePort?: number }[] })._getActiveHandles().filter((h) => h.remotePort === sshd.port).length;
}
