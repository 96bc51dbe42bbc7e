// Chat transcript export (seed 000: the Results tab exports "chat transcripts for chat services"): a recording
// export job with contentType "chatTranscripts" sends every chat transcript of its campaign once, to SFTP (sshd on
// loopback), with the chat defaults (transcripts/… file names, the manifest transcripts_details_$(currentDate)_
// $(currentTime).csv named and filled), and a second run sends only the new ones.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openDestination } from '../lib/destinations.js';
import { makeWav } from '../lib/generator/index.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startSshd, type SshdServer } from './harness/servers/index.js';
import { newCampaign, startApi, type Api } from './erasure-fixtures.js';
import { dirOf, filesIn, readAll, readManifest, runExport } from './recording-export-helpers.js';

let env: TestEnv;
let api: Api;
let sshd: SshdServer;

before(async () => {
  sshd = await startSshd();
  env = await createTestEnv();
  api = await startApi(env);
  await env.startWorker();
});

after(async () => {
  await api?.close();
  await env?.stop();
  await sshd?.stop();
});

let minute = 0;
/** A chat (or a call) in the campaign with its transcript (or recording) uploaded through the API. */
async function addChat(campaignId: string, channel: 'chat' | 'voice' = 'chat'): Promise<{ id: string; body: Buffer }> {
  const startedAt = new Date(Date.UTC(2025, 2, 1, 14, minute++)).toISOString();
  const created = await api.call('POST', '/interactions', {
    body: { campaignId, channel, direction: 'inbound', startedAt, endedAt: new Date(Date.parse(startedAt) + 30_000).toISOString(), agents: ['alice', 'bob'], disposition: 'Resolved' },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const body = Buffer.from(channel === 'chat' ? `[14:00] Customer: hello ${randomBytes(4).toString('hex')}\n[14:01] alice: hi, how can I help?\n` : makeWav({ seed: minute, durationMs: 300 }));
  const where = channel === 'chat' ? 'content/chat-transcript' : 'recording';
  const put = await fetch(`${api.base}/interactions/${created.json.id}/${where}`, {
    method: 'PUT', headers: { authorization: `Bearer ${api.adminKey}`, 'content-type': channel === 'chat' ? 'text/plain' : 'audio/wav' }, body: Uint8Array.from(body),
  });
  assert.equal(put.status, 200, await put.text());
  return { id: created.json.id, body };
}

test('chat transcripts to SFTP: each once, manifest named and filled, the second run only the new ones', async () => {
  const campaignId = await newCampaign(env);
  const first = [await addChat(campaignId), await addChat(campaignId), await addChat(campaignId)];
  await addChat(campaignId, 'voice'); // a call in the same campaign: not a chat transcript
  const folder = `chats-${randomBytes(3).toString('hex')}`;
  const destination = await api.call('POST', '/destinations', {
    body: { name: folder, protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, path: path.join(sshd.rootDir, folder) },
  });
  assert.equal(destination.status, 201, JSON.stringify(destination.json));
  const body = {
    name: `chats ${folder}`, enabled: false, campaignId, contentType: 'chatTranscripts', completedAfter: '2025-01-01T00:00:00Z',
    destinationId: destination.json.id, schedule: { every: '1h' },
  };
  // Chats have no voice signature and are not played back: refused, naming the field, nothing saved.
  const signature = await api.call('POST', '/recording-export-jobs', { body: { ...body, voiceSignatureOnly: true } });
  assert.equal(signature.status, 400);
  assert.deepEqual(signature.json.errors.map((e: { path: string }) => e.path), ['voiceSignatureOnly']);
  assert.equal((await api.call('POST', '/recording-export-jobs', { body: { ...body, useForPlayback: true } })).status, 400);
  const created = await api.call('POST', '/recording-export-jobs', { body });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const job = await api.call('GET', `/recording-export-jobs/${created.json.id}`);
  assert.equal(job.json.contentType, 'chatTranscripts');
  assert.equal(job.json.manifestTemplate, 'transcripts_details_$(currentDate)_$(currentTime).csv');
  assert.equal(job.json.fileNameTemplate, 'transcripts/${callDate}/${callHour}/${callDate}_${callTime}_${agent}_${recordingId}.txt');

  const transfer = await openDestination(env.sql, env.deps.keyring, destination.json.id);
  try {
    const run1 = (await runExport(env, { definitionId: created.json.id })).result;
    assert.equal(run1.exported, 3);
    assert.equal(run1.failed, 0);
    assert.match(run1.manifest!, /^transcripts_details_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.csv$/);
    const manifest1 = await readManifest(transfer, run1.manifest!);
    const files = await filesIn(transfer, manifest1.map((r) => dirOf(r.file_path)));
    assert.deepEqual(files, manifest1.map((r) => r.file_path).sort(), 'the files sent are the manifest\'s');
    assert.deepEqual(manifest1.map((r) => r.interaction_id).sort(), first.map((c) => c.id).sort());
    for (const row of manifest1) {
      const chat = first.find((c) => c.id === row.interaction_id)!;
      assert.equal(row.result, 'exported');
      assert.ok(row.file_path.startsWith('transcripts/2025-03-01/') && row.file_path.endsWith('.txt'), row.file_path);
      assert.ok((await readAll(transfer, row.file_path)).equals(chat.body), 'the transcript as uploaded');
      assert.equal(row.sha256, createHash('sha256').update(chat.body).digest('hex'));
      assert.equal(Number(row.size_bytes), chat.body.length);
      assert.equal(row.agents, 'alice;bob');
    }

    const more = [await addChat(campaignId), await addChat(campaignId)];
    const run2 = (await runExport(env, { definitionId: created.json.id })).result;
    assert.equal(run2.exported, 2, 'only the new ones');
    const manifest2 = await readManifest(transfer, run2.manifest!);
    assert.deepEqual(manifest2.map((r) => r.interaction_id).sort(), more.map((c) => c.id).sort());
    const all = [...manifest1, ...manifest2].map((r) => r.file_path);
    assert.deepEqual(await filesIn(transfer, all.map(dirOf)), [...new Set(all)].sort(), 'each transcript once');
    assert.equal(new Set(all).size, 5);

    const run3 = (await runExport(env, { definitionId: created.json.id })).result;
    assert.equal(run3.exported, 0);
    assert.equal(run3.manifest, null, 'an empty run under the vendor\'s name uploads no manifest (it would replace another run\'s)');
  } finally {
    await transfer.close();
  }
  const records = await env.sql<{ n: number }[]>`select count(*)::int as n from recording_exports where job_id = ${created.json.id} and result = 'exported'`;
  assert.equal(records[0].n, 5);
});
