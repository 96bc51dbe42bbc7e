// The OpenAPI document is complete: every operation carries an example of its JSON request body and of its
// JSON response, and every example is valid against the route's own zod schemas (the ones that validate
// requests and responses at run time), so the document's examples cannot lie about the API. Downloads are
// 200 with their content types, work-starting routes declare Idempotency-Key, shared schemas are named
// components, and the ids, steps and lock types the examples show are the ones the code produces (real
// requests through the real handlers, the workflow id helpers, the lock types).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { z } from 'zod';
import { bootstrapAdminKey } from '../api/admin-key.js';
import { createApp } from '../api/app.js';
import { isRaw, type RegisteredRoute } from '../api/openapi.js';
import { PROJECT_ROOT } from '../lib/tools.js';
import { LOCK_TYPES } from '../contracts/campaign-lock.js';
import { contactProcessWorkflowId } from '../contracts/contact-process.js';
import { erasureWorkflowId } from '../contracts/erasure.js';
import { exclusionsImportWorkflowId } from '../contracts/exclusions-import.js';
import { listImportWorkflowId } from '../contracts/list-import.js';
import { reportManualWorkflowId } from '../contracts/report.js';
import { resultsDownloadWorkflowId, resultsExportManualWorkflowId } from '../contracts/results.js';
import { jobManualWorkflowId } from '../contracts/job.js';
import { salesforceExportManualWorkflowId } from '../contracts/salesforce-export.js';
import { createTestEnv, type TestEnv } from './harness/env.js';

let env: TestEnv;
let server: Server;
let routes: RegisteredRoute[];
let document: { paths: Record<string, Record<string, any>> };
let adminKey: string;
const base = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

before(async () => {
  env = await createTestEnv();
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config });
  routes = app.registry.routes;
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`);
  assert.equal(res.status, 200);
  document = await res.json() as typeof document;
  adminKey = (await bootstrapAdminKey({ sql: env.sql, config: env.config, print: () => {} }))!;
});

after(async () => {
  for (const runId of started) await env.client.workflow.getHandle(runId).terminate('test over').catch(() => undefined);
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

// --- Downloads, the Idempotency-Key, named schemas -----------------------------------------------------

test('a download is answered 200 with its content types, in the document and on the wire', async () => {
  const downloads = routes.filter((r) => r.spec.download);
  assert.deepEqual(downloads.map((r) => `${r.spec.method} ${r.spec.path}`).sort(),
    ['get /campaigns/{id}/results/downloads/{fileId}', 'get /interactions/{id}/recording', 'get /interactions/{id}/segments/{n}/recording', 'get /metrics', 'get /processes/{runId}/file', 'get /processes/{runId}/log', 'get /reports/{id}/saved/{fileId}']);
  for (const { spec } of downloads) {
    const op = document.paths[spec.path][spec.method];
    assert.equal(op.responses['204'], undefined, `${spec.path} is not documented as 204`);
    assert.deepEqual(Object.keys(op.responses['200'].content), spec.download!.contentTypes);
  }
  const noContent = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods)
    .filter(([method, op]) => method === 'get' && !Object.entries<any>(op.responses).some(([status, r]) => /^2/.test(status) && r.content))
    .map(([method]) => `${method} ${path}`));
  assert.deepEqual(noContent, [], 'every GET documents the body it answers');
  const metrics = await fetch(`${base()}/metrics`);
  assert.equal(metrics.status, 200);
  assert.ok(document.paths['/metrics'].get.responses['200'].content[metrics.headers.get('content-type')!],
    `the metrics content type ${metrics.headers.get('content-type')} is the one documented`);
});

test('a saved report downloads as 200 with a documented content type and its bytes', async () => {
  const campaign = await api('POST', '/campaigns', { name: `Download ${randomBytes(3).toString('hex')}`, timezone: 'UTC' });
  const report = await api('POST', '/reports', { name: `Saved ${randomBytes(3).toString('hex')}`, type: 'all-attempts', campaignId: campaign.id, timeframe: { kind: 'incremental' }, schedule: { cron: '0 6 * * 1' } });
  const csv = 'a,b\n1,2\n';
  const stored = await env.deps.store.put(Readable.from([Buffer.from(csv)]));
  const [file] = await env.sql<{ id: string }[]>`
    insert into saved_reports (definition_id, run_id, kind, file_name, store_key, size_bytes, sha256, row_count, expires_at)
    values (${report.id}, ${`download-${randomBytes(3).toString('hex')}`}, 'report', 'saved.csv', ${stored.key}, ${stored.sizeBytes}, ${stored.sha256}, 1, now() + interval '1 day')
    returning id::text`;
  const res = await fetch(`${base()}/reports/${report.id}/saved/${file.id}`, { headers: { authorization: `Bearer ${adminKey}` } });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), csv);
  const documented = Object.keys(document.paths['/reports/{id}/saved/{fileId}'].get.responses['200'].content);
  assert.ok(documented.includes(res.headers.get('content-type')!), `${res.headers.get('content-type')} is one of ${documented.join(', ')}`);
});

test('every route that starts work declares Idempotency-Key and 422; reusable schemas are named components', () => {
  const components = (document as any).components;
  for (const { spec } of routes.filter((r) => r.spec.startsWork)) {
    const op = document.paths[spec.path][spec.method];
    assert.ok(op.parameters.some((p: any) => p.$ref === '#/components/parameters/IdempotencyKey'), spec.path);
    assert.ok(op.responses['422'], spec.path);
  }
  for (const name of ['Problem', 'RunAccepted', 'Campaign', 'Run']) assert.ok(components.schemas[name], `component ${name}`);
  const refs = JSON.stringify(document).match(/#\/components\/schemas\/[A-Za-z0-9]+/g) ?? [];
  const dangling = [...new Set(refs)].filter((ref) => !components.schemas[ref.split('/').pop()!]);
  assert.deepEqual(dangling, [], 'every $ref names a component');
  assert.equal(document.paths['/reports/{id}/run'].post.responses['202'].content['application/json'].schema.$ref, '#/components/schemas/RunAccepted');
});

// --- Examples show what the code produces --------------------------------------------------------------

/** A value's format: digits stand for any digits (ids and times vary, their layout does not). */
const shape = (value: string) => value.replace(/[0-9]+/g, '9');

/** Every [key, value] of an example at any depth, with its path. */
function* fieldsOf(value: unknown, path: string): Generator<[string, string, unknown]> {
  if (Array.isArray(value)) { for (const [i, item] of value.entries()) yield* fieldsOf(item, `${path}.${i}`); return; }
  if (!value || typeof value !== 'object') return;
  for (const [key, item] of Object.entries(value)) {
    yield [`${path}.${key}`, key, item];
    yield* fieldsOf(item, `${path}.${key}`);
  }
}

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base()}${path}`, {
    method, headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await res.json() as any;
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const exampleOf = (method: string, path: string) => routes.find((r) => r.spec.method === method && r.spec.path === path)!.spec.example!;
const started: string[] = [];

test('run ids in examples have the format the real handlers produce for the same requests', async () => {
  const tag = randomBytes(3).toString('hex');
  const campaign = await api('POST', '/campaigns', { ...exampleOf('post', '/campaigns').body as object, name: `Examples ${tag}` });
  const destination = await api('POST', '/destinations', { name: `Files ${tag}`, protocol: 'file', path: path.join(env.config.fileDestinationRoot, `examples-${tag}`) });
  const reportBody = { name: `Once ${tag}`, type: 'all-attempts', campaignId: campaign.id, timeframe: { kind: 'incremental' } };
  const once = await api('POST', '/reports', reportBody);
  const scheduled = await api('POST', '/reports', { ...reportBody, name: `Weekly ${tag}`, schedule: { cron: '0 6 * * 1' } });
  const manual = await api('POST', `/reports/${once.id}/run`);
  const scheduledNow = await api('POST', `/tasks/${scheduled.id}/run`);
  const job = await api('POST', '/recording-export-jobs', { ...exampleOf('post', '/recording-export-jobs').body as object, name: `Export ${tag}`, campaignId: campaign.id, destinationId: destination.id });
  const exportNow = await api('POST', `/recording-export-jobs/${job.id}/run`);
  started.push(once.runId, manual.runId, scheduledNow.runId, exportNow.runId);

  const real: Record<string, unknown> = {
    'POST /campaigns': campaign, 'POST /reports': scheduled, 'POST /reports/{id}/run': manual,
    'POST /tasks/{definitionId}/run': scheduledNow, 'POST /recording-export-jobs': job, 'POST /recording-export-jobs/{id}/run': exportNow,
  };
  const differs: string[] = [];
  for (const [route, reply] of Object.entries(real)) {
    const [method, routePath] = route.split(' ');
    const example = exampleOf(method.toLowerCase(), routePath).response as Record<string, unknown>;
    for (const [key, value] of Object.entries(reply as object)) {
      if (typeof value === 'string' && typeof example[key] === 'string' && shape(example[key] as string) !== shape(value) && !['name', 'timezone'].includes(key)) {
        differs.push(`${route} ${key}: the example shows ${example[key]}, the code answers ${value}`);
      }
    }
  }
  assert.deepEqual(differs, [], differs.join('\n'));

  // Every run id any example shows (runs, task views, the campaign lock's holder) is one of the formats the code makes.
  const at = new Date();
  const formats = new Set([...Object.values(real).flatMap((reply) => Object.entries(reply as object).filter(([k]) => k === 'runId').map(([, v]) => shape(v as string))),
    shape(contactProcessWorkflowId('export', '3', at)), shape(contactProcessWorkflowId('delete', '3', at)), shape(contactProcessWorkflowId('status-change', '3', at)),
    shape(listImportWorkflowId('3', at)), shape(erasureWorkflowId('3', at)), shape(reportManualWorkflowId('3', at)), shape(jobManualWorkflowId('3', at)),
    shape(salesforceExportManualWorkflowId('3', at)), shape(exclusionsImportWorkflowId(at)),
    shape(resultsDownloadWorkflowId('3', at)), shape(resultsExportManualWorkflowId('3', at))]);
  const unknown: string[] = [];
  for (const { spec } of routes) {
    for (const [where, example] of [['body', spec.example?.body], ['response', spec.example?.response]] as const) {
      for (const [field, key, value] of fieldsOf(example, `${spec.method.toUpperCase()} ${spec.path} ${where}`)) {
        if (typeof value !== 'string') continue;
        if ((key === 'runId' || key === 'heldBy') && !formats.has(shape(value))) unknown.push(`${field}: ${value}`);
        if (key === 'temporalUiUrl' && ![...formats].some((f) => shape(decodeURIComponent(value.split('/workflows/')[1] ?? '')) === f)) unknown.push(`${field}: ${value}`);
      }
    }
  }
  assert.deepEqual(unknown, [], `run ids in examples the code never produces (formats it does: ${[...formats].join(', ')}):\n  ${unknown.join('\n  ')}`);
});

test('steps and lock types in examples are values the code writes', async () => {
  const literals = await productionStringLiterals();
  const wrong: string[] = [];
  for (const { spec } of routes) {
    for (const [field, key, value] of fieldsOf(spec.example?.response, `${spec.method.toUpperCase()} ${spec.path}`)) {
      if (key === 'step' && typeof value === 'string' && !literals.has(value)) wrong.push(`${field}: step ${JSON.stringify(value)} is written nowhere`);
      if (/\.lock\.type$/.test(field) && !(LOCK_TYPES as readonly unknown[]).includes(value)) wrong.push(`${field}: lock type ${JSON.stringify(value)} is not one of ${LOCK_TYPES.join(', ')}`);
    }
  }
  assert.deepEqual(wrong, [], wrong.join('\n'));
});

/** The string literals of the production code (workflows, activities, lib, api): a step is written as one of them. */
async function productionStringLiterals(): Promise<Set<string>> {
  const found = new Set<string>();
  for (const dir of ['contracts', 'shared', 'workflows', 'activities', 'lib', 'api']) {
    for (const file of await readdir(path.join(PROJECT_ROOT, dir), { recursive: true })) {
      if (!file.endsWith('.ts')) continue;
      const text = await readFile(path.join(PROJECT_ROOT, dir, file), 'utf8');
      for (const match of text.matchAll(/'([^'\\\n]{1,80})'/g)) found.add(match[1]);
    }
  }
  return found;
}
