// Idempotency-Key (IETF draft-ietf-httpapi-idempotency-key-header) as the API honours it: a key belongs to one
// caller and one request (method, path, body). The same request with its key replays the first reply; the key
// reused with another path or body is 422, never another request's run (the bug: a second report's
// POST /reports/{id}/run with the first report's key answered the first report's run, and never ran).
// The last tests are generated from the route table: every route that starts work declares the header and
// is answered by the registry's idempotency layer, so a new route cannot skip it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { fingerprintOf, IDEMPOTENCY_HEADER } from '../api/idempotency.js';
import type { RegisteredRoute } from '../api/openapi.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startSecurityApi, type Reply, type SecurityApi } from './security/api-client.js';

let env: TestEnv;
let api: SecurityApi;
let campaignId: string;
const started: string[] = [];

before(async () => {
  env = await createTestEnv();
  api = await startSecurityApi(env);
  const campaign = await api.call('POST', '/campaigns', { json: { name: `Idempotency ${randomBytes(3).toString('hex')}`, timezone: 'UTC' } });
  assert.equal(campaign.status, 201, campaign.text);
  campaignId = campaign.json.id;
});

after(async () => {
  for (const runId of started) await env.client.workflow.getHandle(runId).terminate('test over').catch(() => undefined);
  await api?.close();
  await env?.stop();
});

const newKey = () => `k-${randomBytes(6).toString('hex')}`;
const withKey = (key: string, headers: Record<string, string> = {}) => ({ ...headers, [IDEMPOTENCY_HEADER]: key });

/** A report on a weekly schedule (so creating it starts nothing); runs are started by POST /reports/{id}/run. */
async function report(name = `Report ${randomBytes(3).toString('hex')}`): Promise<string> {
  const res = await api.call('POST', '/reports', { json: { name, type: 'all-attempts', campaignId, timeframe: { kind: 'incremental' }, schedule: { cron: '0 6 * * 1' } } });
  assert.equal(res.status, 201, res.text);
  return res.json.id;
}

async function runReport(reportId: string, options: { key?: string; idempotencyKey?: string } = {}): Promise<Reply> {
  const res = await api.call('POST', `/reports/${reportId}/run`, {
    key: options.key, headers: options.idempotencyKey ? withKey(options.idempotencyKey) : {},
  });
  if (res.status === 202 && !started.includes(res.json.runId)) started.push(res.json.runId);
  return res;
}

describe('one key, one request', () => {
  test('the same key sent to another report\'s run is 422, and that report\'s run is not answered with the first one', async () => {
    const [first, second] = [await report(), await report()];
    const key = newKey();
    const one = await runReport(first, { idempotencyKey: key });
    assert.equal(one.status, 202, one.text);
    const other = await runReport(second, { idempotencyKey: key });
    assert.equal(other.status, 422, other.text);
    assert.equal(other.json.type, 'urn:cc-jobs:problem:idempotency-key-reused');
    assert.match(other.json.detail, new RegExp(`POST /reports/${first}/run`), 'the problem names the request the key belongs to');
    assert.equal(other.json.runId, undefined);
    const fresh = await runReport(second, { idempotencyKey: newKey() });
    assert.equal(fresh.status, 202, fresh.text);
    assert.notEqual(fresh.json.runId, one.json.runId);
  });

  test('the same request with its key replays the first reply', async () => {
    const reportId = await report();
    const key = newKey();
    const one = await runReport(reportId, { idempotencyKey: key });
    const again = await runReport(reportId, { idempotencyKey: key });
    assert.equal(one.status, 202);
    assert.equal(again.status, 202);
    assert.deepEqual(again.json, one.json);
  });

  test('the same key and path with another body is 422; the same body in another key order is the same request', async () => {
    const key = newKey();
    const name = `Once ${randomBytes(3).toString('hex')}`;
    const body = { name, type: 'all-attempts', campaignId, timeframe: { kind: 'incremental' }, schedule: { cron: '0 6 * * 1' } };
    const first = await api.call('POST', '/reports', { json: body, headers: withKey(key) });
    assert.equal(first.status, 201, first.text);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const repeat = await api.call('POST', '/reports', { json: reordered, headers: withKey(key) });
    assert.equal(repeat.status, 201, `a repeat is its first reply, not 409 for the name it created: ${repeat.text}`);
    assert.deepEqual(repeat.json, first.json);
    const changed = await api.call('POST', '/reports', { json: { ...body, name: `${name} 2` }, headers: withKey(key) });
    assert.equal(changed.status, 422, changed.text);
    assert.match(changed.json.detail, /another body/);
    const [{ n }] = await env.sql`select count(*)::int as n from job_definitions where name like ${`${name}%`}`;
    assert.equal(n, 1, 'the changed request created nothing');
  });

  test('two callers with the same key are independent', async () => {
    const reportId = await report();
    const key = newKey();
    const mine = await runReport(reportId, { key: api.keys.operator, idempotencyKey: key });
    const theirs = await runReport(reportId, { key: api.keys.admin, idempotencyKey: key });
    assert.equal(mine.status, 202, mine.text);
    assert.equal(theirs.status, 202, theirs.text);
    assert.notEqual(theirs.json.runId, mine.json.runId, 'each caller got its own run');
  });

  test('a request refused (404) keeps no key: the key still works for its request afterwards', async () => {
    const key = newKey();
    const missing = await runReport('999999', { idempotencyKey: key });
    assert.equal(missing.status, 404, missing.text);
    const reportId = await report();
    const res = await runReport(reportId, { idempotencyKey: key });
    assert.equal(res.status, 202, res.text);
  });

  test('the same request while the first is still in flight is 409; once the first has answered, its reply', async () => {
    const reportId = await report();
    const key = newKey();
    const url = `/reports/${reportId}/run`;
    const [{ id: keyId }] = await env.sql<{ id: string }[]>`select id::text from api_keys where key_hash = ${createHash('sha256').update(api.keys.operator).digest('hex')}`;
    // The first request has claimed the key and not answered yet (as while its handler starts the run).
    await env.sql`insert into idempotency_keys (key, api_key_id, fingerprint, method, path) values (${key}, ${keyId}, ${fingerprintOf('POST', url, undefined)}, 'POST', ${url})`;
    const during = await runReport(reportId, { key: api.keys.operator, idempotencyKey: key });
    assert.equal(during.status, 409, during.text);
    assert.equal(during.json.type, 'urn:cc-jobs:problem:idempotency-key-in-use');
    await env.sql`update idempotency_keys set status = 202, response = ${env.sql.json({ runId: 'the-first-run' })} where key = ${key}`;
    const afterwards = await runReport(reportId, { key: api.keys.operator, idempotencyKey: key });
    assert.equal(afterwards.status, 202, afterwards.text);
    assert.deepEqual(afterwards.json, { runId: 'the-first-run' });
  });

  test('a claim abandoned for more than 5 minutes (its API process died) is taken over: the request runs', async () => {
    const reportId = await report();
    const key = newKey();
    const url = `/reports/${reportId}/run`;
    const [{ id: keyId }] = await env.sql<{ id: string }[]>`select id::text from api_keys where key_hash = ${createHash('sha256').update(api.keys.operator).digest('hex')}`;
    await env.sql`insert into idempotency_keys (key, api_key_id, fingerprint, method, path, created_at)
                  values (${key}, ${keyId}, ${fingerprintOf('POST', url, undefined)}, 'POST', ${url}, now() - interval '6 minutes')`;
    const res = await runReport(reportId, { key: api.keys.operator, idempotencyKey: key });
    assert.equal(res.status, 202, res.text);
    assert.match(res.json.runId, new RegExp(`^report/${reportId}/`));
    const [row] = await env.sql`select status, run_id from idempotency_keys where key = ${key}`;
    assert.deepEqual({ ...row }, { status: 202, run_id: res.json.runId });
  });

  test('concurrent requests with one key: one runs, the others are 409 or get its reply — never a second run', async () => {
    const reportId = await report();
    const key = newKey();
    const replies = await Promise.all(Array.from({ length: 5 }, () => runReport(reportId, { key: api.keys.operator, idempotencyKey: key })));
    const runs = new Set(replies.filter((r) => r.status === 202).map((r) => r.json.runId));
    assert.equal(runs.size, 1, replies.map((r) => r.text).join('\n'));
    assert.ok(replies.every((r) => r.status === 202 || r.status === 409), replies.map((r) => r.status).join(','));
  });

  test('a key longer than 200 characters is 400 naming the header', async () => {
    const reportId = await report();
    const res = await runReport(reportId, { idempotencyKey: 'x'.repeat(201) });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.errors[0].path, 'headers.idempotency-key');
  });
});

describe('every route that starts work, from the route table', () => {
  const routes = () => api.app.registry.routes.map((r: RegisteredRoute) => r.spec);
  const name = (spec: RegisteredRoute['spec']) => `${spec.method.toUpperCase()} ${spec.path}`;
  const urlOf = (spec: RegisteredRoute['spec']) => spec.path.replace(/\{[^}]+\}/g, '1');
  // Cancelling is not starting work: a second cancel of the same run is harmless by itself.
  const NOT_STARTING_WORK = new Set(['POST /runs/{runId}/cancel']);

  test('every POST answering a runId is declared startsWork, and the document declares the header there', async () => {
    const missing = routes().filter((spec) => spec.method === 'post' && !NOT_STARTING_WORK.has(name(spec)) && !spec.startsWork
      && spec.response !== undefined && /"runId"/.test(JSON.stringify(z.toJSONSchema(spec.response, { unrepresentable: 'any' }))));
    assert.deepEqual(missing.map(name), [], 'routes that answer a run without declaring startsWork');
    const startsWork = routes().filter((spec) => spec.startsWork);
    assert.ok(startsWork.length >= 6, `found ${startsWork.map(name).join(', ')}`);
    const document = (await api.call('GET', '/openapi.json', { key: null })).json;
    for (const spec of startsWork) {
      const op = document.paths[spec.path][spec.method];
      assert.ok(op.parameters.some((p: any) => p.$ref === '#/components/parameters/IdempotencyKey'), `${name(spec)} declares Idempotency-Key`);
      assert.ok(op.responses['422'] && op.responses['409'], `${name(spec)} documents 422 and 409`);
    }
    assert.equal(document.components.parameters.IdempotencyKey.name, 'Idempotency-Key');
  });

  test('every such route replays the reply stored for its key and request, and refuses the key of another request, before its handler runs', async () => {
    const key = api.keys.eraseAdmin;
    const [{ id: keyId }] = await env.sql<{ id: string }[]>`select id::text from api_keys where key_hash = ${createHash('sha256').update(key).digest('hex')}`;
    for (const spec of routes().filter((s) => s.startsWork)) {
      const url = urlOf(spec);
      const body = spec.example?.body;
      const replayKey = newKey();
      // The route's example reply (dated 2025: no handler run today could produce it), as if a first request stored it.
      const reply = JSON.parse(JSON.stringify(spec.example?.response ?? { runId: `seeded/${replayKey}` }));
      await env.sql`
        insert into idempotency_keys (key, api_key_id, run_id, fingerprint, method, path, status, response)
        values (${replayKey}, ${keyId}, ${reply.runId ?? null}, ${fingerprintOf(spec.method, url, body)}, ${spec.method.toUpperCase()}, ${url},
                ${spec.status ?? 200}, ${env.sql.json(reply)})`;
      const replayed = await api.call(spec.method.toUpperCase(), url, { key, json: body, headers: withKey(replayKey) });
      assert.equal(replayed.status, spec.status ?? 200, `${name(spec)}: ${replayed.text}`);
      assert.deepEqual(replayed.json, reply, `${name(spec)} replays the stored reply`);

      const foreignKey = newKey();
      await env.sql`
        insert into idempotency_keys (key, api_key_id, run_id, fingerprint, method, path, status, response)
        values (${foreignKey}, ${keyId}, 'other-run', ${fingerprintOf('POST', '/elsewhere', null)}, 'POST', '/elsewhere', 202, ${env.sql.json({ runId: 'other-run' })})`;
      const refused = await api.call(spec.method.toUpperCase(), url, { key, json: body, headers: withKey(foreignKey) });
      assert.equal(refused.status, 422, `${name(spec)}: ${refused.text}`);
    }
  });
});
