// Request bodies are strict: a field a route does not declare is 400 naming it, instead of being dropped (it
// was: `{"name":"C","timezone":"UTC","bogusField":1}` created a campaign, and a report's `skipIfEmtpy` was a
// setting quietly not applied). Generated from the route registry, so a new route with a body is covered.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { isRaw, type RegisteredRoute } from '../api/openapi.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startSecurityApi, type SecurityApi } from './security/api-client.js';

let env: TestEnv;
let api: SecurityApi;

before(async () => {
  env = await createTestEnv();
  api = await startSecurityApi(env);
});

after(async () => {
  await api?.close();
  await env?.stop();
});

type Spec = RegisteredRoute['spec'];
const jsonBodyRoutes = () => api.app.registry.routes.map((r) => r.spec).filter((spec) => spec.body && !isRaw(spec.body));
const name = (spec: Spec) => `${spec.method.toUpperCase()} ${spec.path}`;
const urlOf = (spec: Spec) => spec.path.replace(/\{n\}/g, '1').replace(/\{kind\}/g, 'transcript').replace(/\{[^}]+\}/g, '1');
const unknownFieldErrors = (json: any) => (json?.errors ?? []).filter((e: { message: string }) => /^unknown field/.test(e.message));

test('for every route with a JSON body, an unknown field is 400 naming it (and nothing is written)', async () => {
  const routes = jsonBodyRoutes();
  assert.ok(routes.length >= 15, `routes with a JSON body: ${routes.length}`);
  const wrong: string[] = [];
  for (const spec of routes) {
    const example = spec.example?.body;
    // A body that is a list gets the field in its first item.
    const [body, path] = Array.isArray(example)
      ? [[{ ...example[0], bogusField: 1 }, ...example.slice(1)], '0.bogusField']
      : [{ ...(example as object), bogusField: 1 }, 'bogusField'];
    const res = await api.call(spec.method.toUpperCase(), urlOf(spec), { key: api.keys.eraseAdmin, json: body });
    const named = unknownFieldErrors(res.json).map((e: { path: string }) => e.path);
    if (res.status !== 400 || !named.includes(path)) wrong.push(`${name(spec)}: ${res.status} ${res.text.slice(0, 300)}`);
  }
  assert.deepEqual(wrong, [], `routes that accepted an unknown field:\n  ${wrong.join('\n  ')}`);
});

test('a route\'s own example body has no unknown field (strictness refuses nothing a route declares)', async () => {
  const wrong: string[] = [];
  for (const spec of jsonBodyRoutes()) {
    if (spec.example?.body === undefined) continue;
    // Only the parse is of interest: the request may well be refused later (an example's ids need not exist).
    const res = await api.call(spec.method.toUpperCase(), urlOf(spec), { key: api.keys.eraseAdmin, json: spec.example.body });
    if (unknownFieldErrors(res.json).length) wrong.push(`${name(spec)}: ${res.text.slice(0, 300)}`);
    if (res.status === 202 && res.json?.runId) await env.client.workflow.getHandle(res.json.runId).terminate('test').catch(() => undefined);
  }
  assert.deepEqual(wrong, [], `example bodies refused as unknown:\n  ${wrong.join('\n  ')}`);
});

test('POST /campaigns with bogusField is 400 and creates no campaign', async () => {
  const name = `C ${randomBytes(3).toString('hex')}`;
  const res = await api.call('POST', '/campaigns', { json: { name, timezone: 'UTC', bogusField: 1 } });
  assert.equal(res.status, 400, res.text);
  assert.deepEqual(res.json.errors.map((e: { path: string }) => e.path), ['bogusField']);
  assert.match(res.json.errors[0].message, /unknown field "bogusField"; the fields here are name, timezone/);
  assert.equal((await env.sql`select 1 from campaigns where name = ${name}`).length, 0);
});

test('a typo in a nested field (a report\'s output.skipIfEmtpy) is 400 naming its path', async () => {
  const campaign = await api.call('POST', '/campaigns', { json: { name: `R ${randomBytes(3).toString('hex')}`, timezone: 'UTC' } });
  const res = await api.call('POST', '/reports', {
    json: { name: `Typo ${randomBytes(3).toString('hex')}`, type: 'all-attempts', campaignId: campaign.json.id, timeframe: { kind: 'incremental' },
      output: { emails: ['ops@example.com'], skipIfEmtpy: true }, schedule: { cron: '0 6 * * 1' } },
  });
  assert.equal(res.status, 400, res.text);
  assert.deepEqual(unknownFieldErrors(res.json).map((e: { path: string }) => e.path), ['output.skipIfEmtpy']);
  assert.match(res.json.errors[0].message, /skipIfEmpty/, 'the message lists the field meant');
});

test('an unknown field inside a list item is named with its index', async () => {
  const attempt = { campaignId: '1', clientId: 'C-1', phone: '+15551234567', startedAt: '2025-03-01T14:00:00Z', completedAt: '2025-03-01T14:01:10Z', status: 'DELIVEREDPERSON' };
  const res = await api.call('POST', '/attempts', { json: [attempt, { ...attempt, agnet: 'alice' }] });
  assert.equal(res.status, 400, res.text);
  assert.deepEqual(unknownFieldErrors(res.json).map((e: { path: string }) => e.path), ['1.agnet']);
});

test('Temporal\'s codec protocol is not ours: a payload field a newer Temporal UI adds still decodes', async () => {
  const res = await api.call('POST', '/codec/decode', { json: { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('1').toString('base64'), externalPayloads: [] }] } });
  assert.equal(res.status, 200, res.text);
});
