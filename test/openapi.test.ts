// The OpenAPI document is complete: every operation carries an example of its JSON request body and of its
// JSON response, and every example is valid against the route's own zod schemas (the ones that validate
// requests and responses at run time), so the document's examples cannot lie about the API.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { z } from 'zod';
import { createApp } from '../api/app.js';
import { isRaw, type RegisteredRoute } from '../api/openapi.js';
import { createTestEnv, type TestEnv } from './harness/env.js';

let env: TestEnv;
let server: Server;
let routes: RegisteredRoute[];
let document: { paths: Record<string, Record<string, any>> };

before(async () => {
  env = await createTestEnv();
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config });
  routes = app.registry.routes;
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`);
  assert.equal(res.status, 200);
  document = await res.json() as typeof document;
});

after(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await env?.stop();
});

test('every operation in GET /openapi.json has an example of its JSON request body and of its JSON response', () => {
  const missing: string[] = [];
  let operations = 0;
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      operations++;
      const name = `${method.toUpperCase()} ${path}`;
      const body = op.requestBody?.content?.['application/json'];
      if (body && body.example === undefined) missing.push(`${name}: request body`);
      for (const [status, response] of Object.entries<any>(op.responses ?? {})) {
        const json = response.content?.['application/json'];
        if (/^2/.test(status) && json && json.example === undefined) missing.push(`${name}: ${status} response`);
      }
    }
  }
  assert.ok(operations >= routes.length && operations > 40, `the document lists every route (${operations} operations)`);
  assert.deepEqual(missing, [], `operations without an example:\n  ${missing.join('\n  ')}`);
});

test('every example validates against the schema its route declares', () => {
  const invalid: string[] = [];
  const check = (name: string, schema: z.ZodType, example: unknown) => {
    // Responses are checked as they travel (JSON), exactly as the registry checks handler results.
    const parsed = schema.safeParse(JSON.parse(JSON.stringify(example ?? null)));
    if (!parsed.success) invalid.push(`${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`);
  };
  for (const { spec } of routes) {
    const name = `${spec.method.toUpperCase()} ${spec.path}`;
    if (spec.body && !isRaw(spec.body) && spec.example?.body !== undefined) check(`${name} request`, spec.body, spec.example.body);
    if (spec.response && spec.example?.response !== undefined) check(`${name} response`, spec.response, spec.example.response);
  }
  assert.deepEqual(invalid, [], `examples that do not match their schema:\n  ${invalid.join('\n  ')}`);
});

test('the document carries the examples as declared, in the media type of the body', () => {
  const { spec } = routes.find((r) => r.spec.method === 'patch' && r.spec.path === '/destinations/{id}')!;
  const op = document.paths['/destinations/{id}'].patch;
  assert.deepEqual(op.requestBody.content['application/json'].example, spec.example?.body);
  assert.deepEqual(op.responses['200'].content['application/json'].example, JSON.parse(JSON.stringify(spec.example?.response)));
  assert.equal(op.responses['200'].content['application/json'].example.password, '••••', 'examples never show a credential');
});
