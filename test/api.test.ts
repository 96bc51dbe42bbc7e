// The HTTP API in-process against a real database and Temporal: auth, problem details, validation that
// writes nothing, campaigns, interaction content round trips, attempts, contacts, destinations, runs,
// the codec endpoint and the OpenAPI document.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Server } from 'node:http';
import { z } from 'zod';
import { bootstrapAdminKey, ADMIN_KEY_FILE } from '../api/admin-key.js';
import { createApp, type AppDeps } from '../api/app.js';
import { defineRoute } from '../api/openapi.js';
import { createPayloadCodec } from '../lib/crypto/payload-codec.js';
import { spawn } from 'node:child_process';
import { freePort } from '../lib/net.js';
import { PROJECT_ROOT } from '../lib/tools.js';
import { createTestDatabase } from './harness/db.js';
import { createTestEnv, type TestEnv } from './harness/env.js';

let env: TestEnv;

/** A run that stays open (its task queue has no worker), to hold a campaign lock: locks whose holder run is
 *  closed or unknown to Temporal are freed on sight. Returns its workflow id and a way to end it. */
async function openHolderRun(name: string): Promise<{ runId: string; end(): Promise<void> }> {
  const runId = `${name}-${randomBytes(3).toString('hex')}`;
  const handle = await env.client.workflow.start('listImport', { taskQueue: `unpolled-${runId}`, workflowId: runId, args: [] });
  return { runId, end: async () => { await handle.terminate('test done'); } };
}
let deps: AppDeps;
let base: string;
let server: Server;
let adminKey: string;
let app: ReturnType<typeof createApp>;
const printed: string[] = [];

async function listen(application: ReturnType<typeof createApp>): Promise<{ server: Server; base: string }> {
  const s = await new Promise<Server>((resolve) => { const x = application.listen(0, '127.0.0.1', () => resolve(x)); });
  return { server: s, base: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

interface CallOptions { key?: string | null; body?: unknown; raw?: Buffer | string; headers?: Record<string, string>; baseUrl?: string }

async function call(method: string, url: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? adminKey : options.key;
  if (key) headers.authorization = `Bearer ${key}`;
  let body: string | Uint8Array | undefined;
  if (options.raw !== undefined) {
    body = options.raw;
    headers['content-type'] ??= 'application/octet-stream';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${options.baseUrl ?? base}${url}`, { method, headers, body });
  const text = await res.text();
  const json = text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined;
  return { status: res.status, json, headers: res.headers };
}

function assertProblem(res: Awaited<ReturnType<typeof call>>, status: number) {
  assert.equal(res.status, status, JSON.stringify(res.json));
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(res.json.status, status);
  assert.equal(typeof res.json.title, 'string');
  assert.equal(typeof res.json.detail, 'string');
  assert.equal(typeof res.json.type, 'string');
  assert.ok(!JSON.stringify(res.json).includes('    at '), 'no stack trace in a problem');
}

async function count(table: string): Promise<number> {
  const [row] = await env.sql.unsafe(`select count(*)::int as n from ${table}`);
  return row.n as number;
}

async function newKey(role: string, erase = false): Promise<string> {
  const res = await call('POST', '/api-keys', { body: { name: `${role}-${randomBytes(3).toString('hex')}`, role, erase } });
  assert.equal(res.status, 201);
  return res.json.key;
}

before(async () => {
  env = await createTestEnv();
  deps = { sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config };
  app = createApp(deps);
  ({ server, base } = await listen(app));
  adminKey = (await bootstrapAdminKey({ sql: env.sql, config: env.config, print: (line) => printed.push(line) }))!;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await env.stop();
});

describe('keys and access', () => {
  test('the first start creates an admin key, prints it once and keeps it in DATA_DIR with mode 0600', async () => {
    assert.deepEqual(printed, [`Admin API key: ${adminKey}`]);
    assert.match(adminKey, /^ccj_[A-Za-z0-9_-]{43}$/);
    const file = path.join(env.config.dataDir, ADMIN_KEY_FILE);
    assert.equal((await readFile(file, 'utf8')).trim(), adminKey);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(await bootstrapAdminKey({ sql: env.sql, config: env.config, print: (line) => printed.push(line) }), undefined);
    assert.equal(printed.length, 1);
    const [row] = await env.sql`select key_hash from api_keys where name = 'bootstrap-admin'`;
    assert.equal(row.key_hash, createHash('sha256').update(adminKey).digest('hex'));
  });

  test('without a key or with a bad key the answer is 401; /healthz and /openapi.json need none', async () => {
    assertProblem(await call('GET', '/campaigns', { key: null }), 401);
    assertProblem(await call('GET', '/campaigns', { key: 'ccj_not-a-key' }), 401);
    assertProblem(await call('GET', '/campaigns', { key: null, headers: { authorization: 'Basic abc' } }), 401);
    const health = await call('GET', '/healthz', { key: null });
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { status: 'ok', temporal: 'ok', database: 'ok', schedules: 'ok' });
    assert.equal((await call('GET', '/openapi.json', { key: null })).status, 200);
  });

  test('healthz is 503 naming the failing part when the database is unreachable', async () => {
    const { connect } = await import('../db/sql.js');
    const deadSql = connect(`postgres://nobody@127.0.0.1:${await freePort()}/none`, { connect_timeout: 1, max: 1 });
    const broken = await listen(createApp({ ...deps, sql: deadSql }));
    try {
      const res = await call('GET', '/healthz', { key: null, baseUrl: broken.base });
      assert.equal(res.status, 503);
      assert.equal(res.json.temporal, 'ok');
      assert.match(res.json.database, /^failing: /);
    } finally {
      await new Promise((resolve) => broken.server.close(resolve));
      await deadSql.end({ timeout: 1 });
    }
  });

  test('a viewer may read but not write (403); a revoked key is 401', async () => {
    const viewer = await newKey('viewer');
    assert.equal((await call('GET', '/campaigns', { key: viewer })).status, 200);
    assertProblem(await call('POST', '/campaigns', { key: viewer, body: { name: 'x', timezone: 'UTC' } }), 403);
    const list = await call('GET', '/api-keys');
    assert.ok(list.json.items.length >= 2);
    assert.ok(!JSON.stringify(list.json).includes('hash'));
    const id = list.json.items.find((k: { role: string }) => k.role === 'viewer').id;
    assert.equal((await call('DELETE', `/api-keys/${id}`)).status, 204);
    assertProblem(await call('GET', '/campaigns', { key: viewer }), 401);
    assertProblem(await call('DELETE', '/api-keys/99999'), 404);
  });

  test('ADMIN_API_KEY is accepted as an admin key with erase, and then no key is bootstrapped', async () => {
    const envKey = `env-admin-${randomBytes(12).toString('hex')}`;
    const config = { ...env.config, ADMIN_API_KEY: envKey };
    const other = await listen(createApp({ ...deps, config }));
    try {
      const res = await call('POST', '/api-keys', { key: envKey, baseUrl: other.base, body: { name: 'made-by-env', role: 'viewer' } });
      assert.equal(res.status, 201);
      assertProblem(await call('GET', '/campaigns', { key: `${envKey}x`, baseUrl: other.base }), 401);
      assert.equal(await bootstrapAdminKey({ sql: env.sql, config }), undefined);
    } finally {
      await new Promise((resolve) => other.server.close(resolve));
    }
  });
});

describe('problems', () => {
  test('invalid input is a 400 problem with dotted field paths and writes nothing', async () => {
    const before = await count('campaigns');
    const res = await call('POST', '/campaigns', { body: { name: '', timezone: 'Mars/Olympus' } });
    assertProblem(res, 400);
    assert.deepEqual(res.json.errors.map((e: { path: string }) => e.path).sort(), ['name', 'timezone']);
    assert.equal(await count('campaigns'), before);

    const bad = await call('POST', '/interactions', { body: { campaignId: '1', channel: 'fax', segments: [{ agent: '' }] } });
    assertProblem(bad, 400);
    const paths = bad.json.errors.map((e: { path: string }) => e.path);
    assert.ok(paths.includes('channel') && paths.includes('segments.0.agent'), paths.join(','));
    assertProblem(await call('GET', '/campaigns/abc'), 400);
  });

  test('malformed JSON is 400, an oversized body 413, an unknown route 404', async () => {
    assertProblem(await call('POST', '/campaigns', { raw: '{"name":', headers: { 'content-type': 'application/json' } }), 400);
    const huge = JSON.stringify({ name: 'x'.repeat(1_100_000), timezone: 'UTC' });
    assertProblem(await call('POST', '/campaigns', { raw: huge, headers: { 'content-type': 'application/json' } }), 413);
    assertProblem(await call('GET', '/no-such-thing'), 404);
  });
});

describe('campaigns and contact-center data', () => {
  let campaignId: string;

  before(async () => {
    const res = await call('POST', '/campaigns', { body: { name: 'Spring renewals', timezone: 'America/Chicago' } });
    assert.equal(res.status, 201);
    campaignId = res.json.id;
  });

  test('campaigns: create, read with lock, list, duplicate name is 409', async () => {
    const got = await call('GET', `/campaigns/${campaignId}`);
    assert.deepEqual({ ...got.json, createdAt: undefined }, { id: campaignId, name: 'Spring renewals', timezone: 'America/Chicago', state: 'running', lock: null, createdAt: undefined });
    assertProblem(await call('POST', '/campaigns', { body: { name: 'Spring renewals', timezone: 'UTC' } }), 409);
    const holder = await openHolderRun('list-import-x');
    await env.sql`insert into campaign_locks (campaign_id, held_by, type) values (${campaignId}, ${holder.runId}, 'import')`;
    const locked = await call('GET', `/campaigns/${campaignId}`);
    assert.equal(locked.json.lock.heldBy, holder.runId);
    await env.sql`delete from campaign_locks where campaign_id = ${campaignId}`;
    await holder.end();
    const list = await call('GET', '/campaigns?limit=1');
    assert.equal(list.json.items.length, 1);
    assertProblem(await call('GET', '/campaigns/424242'), 404);
  });

  test('an interaction and its recordings round-trip through the encrypted content store', async () => {
    const created = await call('POST', '/interactions', {
      key: await newKey('operator'),
      body: {
        campaignId, channel: 'voice', direction: 'outbound', startedAt: '2025-03-01T14:00:00-06:00', endedAt: '2025-03-01T14:06:30-06:00',
        customerPhone: '+15551234567', agents: ['alice', 'bob'], disposition: 'Sale', voiceSignature: true,
        segments: [{ agent: 'alice', startedAt: '2025-03-01T14:00:00-06:00', endedAt: '2025-03-01T14:03:00-06:00' }],
      },
    });
    assert.equal(created.status, 201);
    const id = created.json.id;
    const wav = randomBytes(300_000);
    const up = await call('PUT', `/interactions/${id}/recording`, { raw: wav, headers: { 'content-type': 'audio/wav' } });
    assert.equal(up.status, 200, JSON.stringify(up.json));
    assert.deepEqual(up.json, { sizeBytes: wav.length, sha256: createHash('sha256').update(wav).digest('hex') });
    const [row] = await env.sql`select store_key, completed_at from interaction_content where interaction_id = ${id} and kind = 'voice-recording' and segment is null`;
    assert.equal(row.completed_at.toISOString(), '2025-03-01T20:06:30.000Z');
    const chunks: Buffer[] = [];
    for await (const chunk of await env.deps.store.get(row.store_key)) chunks.push(chunk as Buffer);
    assert.ok(Buffer.concat(chunks).equals(wav));

    // Replacing the recording points the row at the new object and removes the old one.
    const wav2 = randomBytes(1000);
    assert.equal((await call('PUT', `/interactions/${id}/recording`, { raw: wav2, headers: { 'content-type': 'audio/wav' } })).status, 200);
    assert.equal(await env.deps.store.exists(row.store_key), false);

    assert.equal((await call('PUT', `/interactions/${id}/segments/0/recording`, { raw: wav2, headers: { 'content-type': 'audio/x-wav' } })).status, 200);
    assertProblem(await call('PUT', `/interactions/${id}/segments/3/recording`, { raw: wav2, headers: { 'content-type': 'audio/wav' } }), 404);
    assertProblem(await call('PUT', `/interactions/${id}/recording`, { raw: wav2, headers: { 'content-type': 'text/plain' } }), 415);
    assert.equal((await call('PUT', `/interactions/${id}/content/voice-transcript`, { raw: 'hello there', headers: { 'content-type': 'text/plain' } })).status, 200);
    assertProblem(await call('PUT', `/interactions/${id}/content/fax`, { raw: 'x' }), 400);
    assertProblem(await call('PUT', '/interactions/987654/recording', { raw: wav2, headers: { 'content-type': 'audio/wav' } }), 404);

    const got = await call('GET', `/interactions/${id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.json.agents, ['alice', 'bob']);
    assert.equal(got.json.content['voice-recording'].present, true);
    assert.equal(got.json.content['voice-recording'].sizeBytes, wav2.length);
    assert.equal(got.json.content['voice-transcript'].sizeBytes, 11);
    assert.equal(got.json.content['chat-transcript'].present, false);
    assert.equal(got.json.segments[0].recording.present, true);
    assert.equal(got.json.segments[0].recording.completedAt, '2025-03-01T20:03:00.000Z');
  });

  test('attempts: an unknown status is 400 and nothing of the batch is recorded; a good batch links contacts', async () => {
    await env.sql`insert into contacts (campaign_id, client_id, name) values (${campaignId}, 'C-1', 'Ann')`;
    const attempt = { campaignId, clientId: 'C-1', phone: '+15550001111', startedAt: '2025-03-01T10:00:00Z', completedAt: '2025-03-01T10:01:00Z', status: 'DELIVEREDPERSON' };
    const before = await count('call_attempts');
    const bad = await call('POST', '/attempts', { body: [attempt, { ...attempt, status: 'NOT-A-STATUS' }] });
    assertProblem(bad, 400);
    assert.deepEqual(bad.json.errors.map((e: { path: string }) => e.path), ['1.status']);
    assert.equal(await count('call_attempts'), before);

    const ok = await call('POST', '/attempts', { body: [attempt, { ...attempt, clientId: 'C-unknown', status: 'NOANSWER' }] });
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.json, { count: 2 });
    const rows = await env.sql`select client_id, contact_id from call_attempts order by id`;
    assert.ok(rows[0].contact_id !== null);
    assert.equal(rows[1].contact_id, null);
  });

  test('contacts page by id with an opaque cursor and filter by status', async () => {
    const [other] = await env.sql`insert into campaigns (name, timezone) values ('Paging', 'UTC') returning id`;
    for (let i = 0; i < 5; i++) {
      const [c] = await env.sql`insert into contacts (campaign_id, client_id, status, custom_fields) values (${other.id}, ${`P-${i}`}, ${i === 4 ? 'Closed' : 'Remaining'}, ${env.sql.json({ n: i })}) returning id`;
      await env.sql`insert into contact_phones (contact_id, position, number) values (${c.id}, 1, ${`+1555000000${i}`})`;
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call('GET', `/campaigns/${other.id}/contacts?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200);
      seen.push(...res.json.items.map((c: { clientId: string }) => c.clientId));
      cursor = res.json.nextCursor;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, ['P-0', 'P-1', 'P-2', 'P-3', 'P-4']);
    assert.equal(pages, 3);
    const closed = await call('GET', `/campaigns/${other.id}/contacts?status=Closed`);
    assert.deepEqual(closed.json.items.map((c: { clientId: string }) => c.clientId), ['P-4']);
    assert.deepEqual(closed.json.items[0].phones, [{ position: 1, number: '+15550000004', state: 'Active', retryCount: 0 }]);
    assert.deepEqual(closed.json.items[0].customFields, { n: 4 });
    assertProblem(await call('GET', `/campaigns/${other.id}/contacts?cursor=!!`), 400);
  });

  test('a contact edit is refused with 409 naming the holder while its campaign is locked', async () => {
    const [contact] = await env.sql`select id from contacts where campaign_id = ${campaignId} and client_id = 'C-1'`;
    const edit = await call('PATCH', `/contacts/${contact.id}`, { body: { status: 'Callback', customFields: { tier: 'gold' }, phones: [{ number: '+15550009999' }] } });
    assert.equal(edit.status, 200, JSON.stringify(edit.json));
    assert.equal(edit.json.status, 'Callback');
    assert.deepEqual(edit.json.customFields, { tier: 'gold' });
    assert.equal(edit.json.phones[0].number, '+15550009999');

    const holder = await openHolderRun('list-import-7');
    await env.sql`insert into campaign_locks (campaign_id, held_by, type) values (${campaignId}, ${holder.runId}, 'import')`;
    const refused = await call('PATCH', `/contacts/${contact.id}`, { body: { status: 'Closed' } });
    assertProblem(refused, 409);
    assert.ok(refused.json.detail.includes(holder.runId), refused.json.detail);
    assert.equal(refused.json.type, 'urn:cc-jobs:problem:campaign-locked');
    assert.equal(refused.json.lock.heldBy, holder.runId);
    const [after] = await env.sql`select status from contacts where id = ${contact.id}`;
    assert.equal(after.status, 'Callback');
    await env.sql`delete from campaign_locks where campaign_id = ${campaignId}`;
    await holder.end();
    assertProblem(await call('PATCH', '/contacts/999999', { body: { status: 'Closed' } }), 404);
  });
});

describe('destinations', () => {
  test('credentials are encrypted at rest and never returned', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const res = await call('POST', '/destinations', { body: { name: 'sftp-1', protocol: 'sftp', host: 'sftp.example.com', username: 'cc', password } });
    assert.equal(res.status, 201);
    const [row] = await env.sql`select settings, secrets from destinations where id = ${res.json.id}`;
    assert.ok(!row.secrets.includes(password) && !JSON.stringify(row.settings).includes(password));
    const got = await call('GET', `/destinations/${res.json.id}`);
    assert.equal(got.json.password, '••••');
    assert.equal(got.json.host, 'sftp.example.com');
    const list = await call('GET', '/destinations');
    assert.ok(!JSON.stringify(list.json).includes(password));
    const patched = await call('PATCH', `/destinations/${res.json.id}`, { body: { password: null, port: 2222 } });
    assert.equal(patched.json.password, undefined);
    assert.equal(patched.json.port, 2222);
    assertProblem(await call('POST', '/destinations', { body: { name: 'sftp-1', protocol: 'file', path: path.join(env.dataDir, 'dup') } }), 409);
  });

  test('each protocol names what it needs (400 with field errors)', async () => {
    const before = await count('destinations');
    const res = await call('POST', '/destinations', { body: { name: 'bad', protocol: 's3' } });
    assertProblem(res, 400);
    assert.deepEqual(res.json.errors.map((e: { path: string }) => e.path), ['bucket']);
    assert.equal(await count('destinations'), before);
  });

  test('the connection test passes for a writable folder and names the write stage otherwise', async () => {
    const ok = await call('POST', '/destinations', { body: { name: 'local', protocol: 'file', path: path.join(env.dataDir, 'dest') } });
    assert.deepEqual((await call('POST', `/destinations/${ok.json.id}/test`)).json, { ok: true });
    const blocker = path.join(env.dataDir, 'a-file');
    await writeFile(blocker, 'not a folder');
    const bad = await call('POST', '/destinations', { body: { name: 'blocked', protocol: 'file', path: path.join(blocker, 'sub') } });
    const res = await call('POST', `/destinations/${bad.json.id}/test`);
    assertProblem(res, 422);
    assert.equal(res.json.stage, 'write');
    assert.equal((await call('DELETE', `/destinations/${bad.json.id}`)).status, 204);
    assertProblem(await call('POST', `/destinations/${bad.json.id}/test`), 404);
  });
});

describe('runs, uploads, idempotency', () => {
  test('an unknown run is 404 for status and cancel', async () => {
    assertProblem(await call('GET', '/runs/no-such-run'), 404);
    assertProblem(await call('POST', '/runs/no-such-run/cancel'), 404);
  });

  test('a run is followed in Temporal: running with its record, cancel is accepted, a termination is reconciled', async () => {
    // No workflow is registered yet and no worker polls this queue: the execution stays open until terminated,
    // which is exactly what the API must cope with (the live query fails and is ignored).
    const runId = `demo-${randomBytes(4).toString('hex')}`;
    await env.client.workflow.start('notHostedYet', { taskQueue: env.taskQueue, workflowId: runId, args: [] });
    await env.sql`insert into runs (run_id, type, name, object_name, status, step, progress_done, progress_total, size_bytes)
                  values (${runId}, 'demo', 'Demo run', 'Spring renewals', 'running', 'exporting', 5, 20, 4096)`;
    const running = await call('GET', `/runs/${runId}`, { key: await newKey('viewer') });
    assert.equal(running.status, 200, JSON.stringify(running.json));
    assert.equal(running.json.status, 'running');
    assert.deepEqual(running.json.progress, { done: 5, total: 20, percent: 25 });
    assert.equal(running.json.sizeKb, 4);
    assert.equal(running.json.temporalUiUrl, `http://127.0.0.1:${env.config.TEMPORAL_UI_PORT}/namespaces/default/workflows/${runId}`);
    const cancel = await call('POST', `/runs/${runId}/cancel`);
    assert.equal(cancel.status, 202);
    assert.deepEqual(cancel.json, { runId });

    await env.client.workflow.getHandle(runId).terminate('test');
    const ended = await call('GET', `/runs/${runId}`);
    assert.equal(ended.json.status, 'terminated');
    assert.ok(ended.json.endedAt);
    const [row] = await env.sql`select status, ended_at, error from runs where run_id = ${runId}`;
    assert.equal(row.status, 'terminated');
    assert.ok(row.ended_at && row.error);
    assertProblem(await call('POST', `/runs/${runId}/cancel`), 409);
  });

  test('an upload streams into the content store and gets an id', async () => {
    const data = Buffer.from('client_id,name,phone\nC-9,Zed,+15551112222\n');
    const res = await call('POST', '/uploads', { raw: data, headers: { 'content-type': 'text/csv' } });
    assert.equal(res.status, 201);
    const [row] = await env.sql`select store_key, size_bytes from uploads where id = ${res.json.uploadId}`;
    assert.equal(Number(row.size_bytes), data.length);
  });

  test('the same Idempotency-Key returns the same run instead of starting another', async () => {
    let starts = 0;
    defineRoute(app.registry, {
      method: 'post', path: '/test-only/start', role: 'operator', status: 202, startsWork: true, response: z.object({ runId: z.string() }), summary: 'test',
    }, async () => ({ runId: `run-${++starts}` }));
    const first = await call('POST', '/test-only/start', { headers: { 'idempotency-key': 'k1' } });
    const again = await call('POST', '/test-only/start', { headers: { 'idempotency-key': 'k1' } });
    const other = await call('POST', '/test-only/start', { headers: { 'idempotency-key': 'k2' } });
    assert.equal(first.status, 202);
    assert.equal(again.json.runId, first.json.runId);
    assert.notEqual(other.json.runId, first.json.runId);
    assert.equal(starts, 2);
    app.registry.routes.pop();
  });
});

describe('documents and the codec endpoint', () => {
  test('openapi.json is OpenAPI 3.1 and lists every registered route', async () => {
    const res = await call('GET', '/openapi.json', { key: null });
    assert.equal(res.json.openapi, '3.1.0');
    for (const { spec } of app.registry.routes) {
      assert.ok(res.json.paths[spec.path]?.[spec.method], `${spec.method} ${spec.path} is documented`);
    }
    const create = res.json.paths['/campaigns'].post;
    assert.deepEqual(create.requestBody.content['application/json'].schema.required, ['name', 'timezone']);
    assert.ok(res.json.paths['/runs/{runId}'].get.parameters.some((p: { name: string; in: string }) => p.name === 'runId' && p.in === 'path'));
  });

  test('the codec decodes what the platform encoded, and answers the Temporal UI preflight', async () => {
    const codec = createPayloadCodec(env.deps.keyring);
    const plain = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify({ hello: 'world' })) };
    const [encrypted] = await codec.encode([plain]);
    const wire = (p: typeof plain) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(p.data).toString('base64'),
    });
    const decoded = await call('POST', '/codec/decode', { key: null, body: { payloads: [wire(encrypted as typeof plain)] }, headers: { 'x-namespace': 'default' } });
    assert.equal(decoded.status, 200);
    assert.deepEqual(decoded.json.payloads, [wire(plain)]);

    const encoded = await call('POST', '/codec/encode', { key: null, body: { payloads: [wire(plain)] } });
    const back = await call('POST', '/codec/decode', { key: null, body: encoded.json });
    assert.deepEqual(back.json.payloads, [wire(plain)]);
    assertProblem(await call('POST', '/codec/decode', { key: 'ccj_wrong', body: { payloads: [] } }), 401);

    const origin = `http://localhost:${env.config.TEMPORAL_UI_PORT}`;
    const preflight = await fetch(`${base}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), origin);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-Namespace/);
    const foreign = await fetch(`${base}/codec/decode`, { method: 'OPTIONS', headers: { origin: 'http://evil.example' } });
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  });
});

describe('the API process', () => {
  test('starts on a fresh database, prints the admin key once, serves, and stops cleanly on SIGTERM', async () => {
    const db = await createTestDatabase();
    const port = await freePort();
    const dataDir = path.join(env.dataDir, 'process');
    const { ADMIN_API_KEY: _unset, ...inherited } = env.processEnv;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'api', 'main.ts')], {
      env: { ...inherited, DATABASE_URL: db.url, DATA_DIR: dataDir, API_PORT: String(port), API_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (chunk) => { out += chunk; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!out.includes('API listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, new RegExp(`API listening on http://127.0.0.1:${port}`));
      const keys = [...out.matchAll(/Admin API key: (ccj_\S+)/g)].map((m) => m[1]);
      assert.equal(keys.length, 1);
      assert.equal((await readFile(path.join(dataDir, ADMIN_KEY_FILE), 'utf8')).trim(), keys[0]);
      const res = await call('GET', '/campaigns', { key: keys[0], baseUrl: `http://127.0.0.1:${port}` });
      assert.equal(res.status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await db.drop();
    }
  });
});
