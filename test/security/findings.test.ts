// The API-side findings of the security review (issue 21), each as the attack that used to work: an admin
// without erase minting an erase key, content wiped by an empty upload or restored after a GDPR erasure
// without a trace, any workflow of the namespace cancelled through /runs, and the keyless codec and
// metrics endpoints reached with a forged Host (DNS rebinding) or from a foreign web page.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CONTENT_AUDIT_ACTIONS } from '../../api/routes/interaction-content.js';
import { JOB_KIND, JOB_KINDS } from '../../contracts/search-attributes.js';
import { createTestEnv, type TestEnv } from '../harness/env.js';
import { until } from '../harness/wait.js';
import { addInteraction, newCampaign } from '../erasure-fixtures.js';
import { startSecurityApi, type SecurityApi } from './api-client.js';

let env: TestEnv;
let api: SecurityApi;

before(async () => {
  env = await createTestEnv();
  api = await startSecurityApi(env);
  await env.startWorker();
});

after(async () => {
  await api?.close();
  await env?.stop();
});

interface ContentRow { id: string; store_key: string | null; sha256: string | null; erased_at: Date | null; erased_by: string | null; erased_run: string | null }

async function content(interactionId: string, kind = 'voice-recording'): Promise<ContentRow> {
  const [row] = await env.sql<ContentRow[]>`
    select id, store_key, sha256, erased_at, erased_by, erased_run from interaction_content
    where interaction_id = ${interactionId} and kind = ${kind} and segment is null`;
  return row;
}

async function contentAudit(interactionId: string) {
  return env.sql<{ action: string; actor: string; scope: any; counts: any }[]>`
    select action, actor, scope, counts from audit_log where action like 'content.%' and scope->>'interactionId' = ${interactionId} order by seq`;
}

async function keyName(key: string): Promise<string> {
  const [row] = await env.sql<{ name: string }[]>`select name from api_keys where key_hash = encode(sha256(${key}::bytea), 'hex')`;
  return row.name;
}

/** Erases the interaction's recording and voice transcript through the API and waits for the run. */
async function erase(campaignId: string, interactionId: string): Promise<string> {
  const preview = await api.call('POST', '/erasures/preview', {
    key: api.keys.eraseAdmin, json: { campaignId, items: ['voice-recording', 'voice-transcript'], interactionIds: [interactionId], reason: 'GDPR request #9' },
  });
  assert.equal(preview.status, 200, preview.text);
  const started = await api.call('POST', '/erasures', { key: api.keys.eraseAdmin, json: { previewId: preview.json.previewId, confirm: true } });
  assert.equal(started.status, 202, started.text);
  await env.client.workflow.getHandle(started.json.runId).result();
  return started.json.runId;
}

describe('the erase privilege is granted only by whoever holds it', () => {
  test('an admin without erase cannot create a key with erase (403, nothing created), nor reach the erasure', async () => {
    const keysBefore = await env.sql`select id from api_keys`;
    const res = await api.call('POST', '/api-keys', { key: api.keys.admin, json: { name: 'escalate', role: 'admin', erase: true } });
    assert.equal(res.status, 403, res.text);
    assert.match(res.json.detail, /erase privilege/);
    assert.equal((await env.sql`select id from api_keys`).length, keysBefore.length);
    const campaignId = await newCampaign(env);
    const preview = await api.call('POST', '/erasures/preview', { key: api.keys.admin, json: { campaignId, items: ['voice-recording'], date: '2025-03-01', reason: 'r' } });
    assert.equal(preview.status, 403);
  });

  test('an admin without erase still creates keys without it; an admin with erase grants it', async () => {
    const plain = await api.call('POST', '/api-keys', { key: api.keys.admin, json: { name: `plain-${randomBytes(3).toString('hex')}`, role: 'admin' } });
    assert.equal(plain.status, 201, plain.text);
    const granted = await api.call('POST', '/api-keys', { key: api.keys.eraseAdmin, json: { name: `eraser-${randomBytes(3).toString('hex')}`, role: 'operator', erase: true } });
    assert.equal(granted.status, 201, granted.text);
    const [row] = await env.sql`select erase from api_keys where id = ${granted.json.id}`;
    assert.equal(row.erase, true);
  });
});

describe('content uploads cannot go around the erasure', () => {
  test('an empty body is 400 and the recording stays as it was (with and without Content-Length)', async () => {
    const campaignId = await newCampaign(env);
    const call = await addInteraction(env, campaignId, 'voice', '2025-03-01T12:00:00-05:00');
    const before = await content(call.id);
    assert.ok(before.store_key);
    for (const headers of [{}, { 'transfer-encoding': 'chunked' }] as Record<string, string>[]) {
      const res = await api.call('PUT', `/interactions/${call.id}/recording`, { key: api.keys.operator, raw: '', headers });
      assert.equal(res.status, 400, res.text);
      assert.match(res.json.detail, /empty/);
    }
    const transcript = await api.call('PUT', `/interactions/${call.id}/content/voice-transcript`, { key: api.keys.operator, raw: '' });
    assert.equal(transcript.status, 400, transcript.text);
    assert.deepEqual(await content(call.id), before);
    assert.ok(await env.deps.store.exists(before.store_key!), 'the original object is kept');
    assert.equal((await contentAudit(call.id)).length, 0);
  });

  test('replacing a recording is recorded in the audit log, with the hashes before and after', async () => {
    const campaignId = await newCampaign(env);
    const call = await addInteraction(env, campaignId, 'voice', '2025-03-01T13:00:00-05:00');
    const before = await content(call.id);
    const res = await api.call('PUT', `/interactions/${call.id}/recording`, { key: api.keys.operator, raw: 'RIFF replaced bytes', headers: { 'content-type': 'audio/wav' } });
    assert.equal(res.status, 200, res.text);
    const entries = await contentAudit(call.id);
    assert.equal(entries.length, 1);
    assert.equal(entries[0].action, CONTENT_AUDIT_ACTIONS.replaced);
    assert.equal(entries[0].actor, `key:${await keyName(api.keys.operator)}`);
    assert.equal(entries[0].scope.previousSha256, before.sha256);
    assert.equal(entries[0].scope.sha256, res.json.sha256);
    assert.equal(entries[0].scope.kind, 'voice-recording');
    assert.equal(entries[0].counts.bytes, res.json.sizeBytes);
    assert.equal((await api.call('GET', '/audit-log/verify')).json.ok, true);
  });

  test('erased content does not come back from an operator; with erase it does, recorded as a restoration', async () => {
    const campaignId = await newCampaign(env);
    const call = await addInteraction(env, campaignId, 'voice', '2025-03-01T14:00:00-05:00');
    const runId = await erase(campaignId, call.id);
    const erased = await content(call.id);
    assert.ok(erased.erased_at);
    assert.equal(erased.store_key, null);

    for (const [path, kind] of [['recording', 'voice-recording'], ['content/voice-transcript', 'voice-transcript']]) {
      const before = await content(call.id, kind);
      const refused = await api.call('PUT', `/interactions/${call.id}/${path}`, { key: api.keys.operator, raw: 'the erased bytes again' });
      assert.equal(refused.status, 403, refused.text);
      assert.match(refused.json.detail, /erase privilege/);
      assert.deepEqual(await content(call.id, kind), before, `${kind} stays erased`);
    }
    assert.equal((await contentAudit(call.id)).length, 0);

    const restored = await api.call('PUT', `/interactions/${call.id}/recording`, { key: api.keys.eraseAdmin, raw: 'RIFF restored by the privacy officer' });
    assert.equal(restored.status, 200, restored.text);
    const [entry] = await contentAudit(call.id);
    assert.equal(entry.action, CONTENT_AUDIT_ACTIONS.restored);
    assert.equal(entry.actor, `key:${await keyName(api.keys.eraseAdmin)}`);
    assert.equal(entry.scope.erasedRun, runId);
    assert.equal(entry.scope.erasedBy, erased.erased_by);
    assert.equal(entry.scope.erasedAt, erased.erased_at!.toISOString());
    assert.equal((await api.call('GET', '/audit-log/verify')).json.ok, true);
  });
});

describe('an erasure that finishes while an upload streams', () => {
  test('the upload is refused when it ends (403) and the content stays erased', async () => {
    const campaignId = await newCampaign(env);
    const call = await addInteraction(env, campaignId, 'voice', '2025-03-01T15:00:00-05:00');
    // The upload passes the first check (nothing is erased yet) and holds its body open.
    const upload = api.openUpload('PUT', `/interactions/${call.id}/recording`, api.keys.operator);
    await upload.write('RIFF first half of the old recording ');
    await until('the upload streams into a temporary file of the content store', async () =>
      (await readdir(path.join(env.config.dataDir, 'content'), { recursive: true })).some((name) => name.endsWith('.tmp')));
    await erase(campaignId, call.id);
    const erased = await content(call.id);
    assert.ok(erased.erased_at);
    const res = await upload.finish('and its second half');
    assert.equal(res.status, 403, res.text);
    assert.deepEqual(await content(call.id), erased);
    assert.equal((await contentAudit(call.id)).length, 0);
  });
});

describe('cancelling reaches only runs of ours', () => {
  const started: string[] = [];
  after(async () => {
    for (const workflowId of started) await env.client.workflow.getHandle(workflowId).terminate('test done').catch(() => {});
  });

  async function startOpen(type: string, workflowId: string, kind?: string) {
    // An unpolled task queue: the execution stays open, so a cancel request is the only thing that can change it.
    await env.client.workflow.start(type, {
      taskQueue: `unpolled-${randomBytes(3).toString('hex')}`, workflowId, args: [],
      ...(kind ? { typedSearchAttributes: [{ key: JOB_KIND, value: kind }] } : {}),
    });
    started.push(workflowId);
  }

  async function cancelRequested(workflowId: string): Promise<boolean> {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).some((e) => e.workflowExecutionCancelRequestedEventAttributes);
  }

  test('the campaign-lock workflow is 409 and is not cancelled', async () => {
    const lockId = `campaign-lock/${randomBytes(3).toString('hex')}`;
    await startOpen('campaignLock', lockId, 'campaign-lock');
    const res = await api.call('POST', `/runs/${encodeURIComponent(lockId)}/cancel`, { key: api.keys.operator });
    assert.equal(res.status, 409, res.text);
    assert.match(res.json.detail, /lock/);
    assert.equal(await cancelRequested(lockId), false);
  });

  test("another application's workflow in the namespace is 404 and is not cancelled", async () => {
    const foreign = `billing-app/reconcile-${randomBytes(3).toString('hex')}`;
    await startOpen('billingReconcile', foreign);
    const res = await api.call('POST', `/runs/${encodeURIComponent(foreign)}/cancel`, { key: api.keys.operator });
    assert.equal(res.status, 404, res.text);
    assert.equal(await cancelRequested(foreign), false);
  });

  test('a run of ours (known CcJobKind, no run record yet) is cancelled', async () => {
    const ours = `report/sec-${randomBytes(3).toString('hex')}`;
    await startOpen('reportRun', ours, JOB_KINDS.report);
    const res = await api.call('POST', `/runs/${encodeURIComponent(ours)}/cancel`, { key: api.keys.operator });
    assert.equal(res.status, 202, res.text);
    assert.equal(await cancelRequested(ours), true);
  });
});

describe('keyless codec and metrics answer only requests addressed to this machine', () => {
  const decode = { payloads: [] };

  test('a forged Host from loopback (DNS rebinding) is 401 on the codec and the metrics', async () => {
    for (const host of [`rebind.attacker.example:${api.port}`, 'rebind.attacker.example', `127.0.0.1.attacker.example:${api.port}`]) {
      const codec = await api.call('POST', '/codec/decode', { key: null, json: decode, headers: { host } });
      assert.equal(codec.status, 401, `${host}: ${codec.text}`);
      assert.match(codec.json.detail, /Host/);
      const metrics = await api.call('GET', '/metrics', { key: null, headers: { host } });
      assert.equal(metrics.status, 401, `${host}: ${metrics.text}`);
    }
  });

  test('a web page of another origin on this machine is 401 without a key', async () => {
    const res = await api.call('POST', '/codec/decode', { key: null, json: decode, headers: { origin: 'http://localhost:9999' } });
    assert.equal(res.status, 401, res.text);
  });

  test('loopback names, Temporal UI and any caller with a key are served', async () => {
    for (const host of [`127.0.0.1:${api.port}`, `localhost:${api.port}`, `[::1]:${api.port}`, 'LOCALHOST']) {
      assert.equal((await api.call('GET', '/metrics', { key: null, headers: { host } })).status, 200, host);
      assert.equal((await api.call('POST', '/codec/decode', { key: null, json: decode, headers: { host } })).status, 200, host);
    }
    const ui = `http://localhost:${env.config.TEMPORAL_UI_PORT}`;
    const fromUi = await api.call('POST', '/codec/decode', { key: null, json: decode, headers: { origin: ui } });
    assert.equal(fromUi.status, 200, fromUi.text);
    const withKey = await api.call('GET', '/metrics', { key: api.keys.viewer, headers: { host: 'metrics.example.com' } });
    assert.equal(withKey.status, 200, withKey.text);
  });
});
