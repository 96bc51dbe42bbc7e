// Every endpoint × every kind of caller (no key, viewer, operator, admin, admin with erase, operator with
// erase): the answer is what the OpenAPI document says (`x-role`, `x-privilege`) — 401 without a key, 403
// without the role or privilege, something else with them. The table is generated from the app's route
// registry, and every route Express would serve must be in it, so a new route cannot skip the check.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { roleAtLeast, ROLES, type Role } from '../../api/auth.js';
import type { RegisteredRoute } from '../../api/openapi.js';
import { createTestEnv, type TestEnv } from '../harness/env.js';
import { startSecurityApi, type Keys, type SecurityApi } from './api-client.js';

let env: TestEnv;
let api: SecurityApi;
let documented: Record<string, Record<string, { 'x-role'?: string; 'x-privilege'?: string; security: unknown[] }>>;

before(async () => {
  env = await createTestEnv();
  api = await startSecurityApi(env);
  documented = (await api.call('GET', '/openapi.json', { key: null })).json.paths;
});

after(async () => {
  await api?.close();
  await env?.stop();
});

/** Deliberate exceptions to "needs a key": adding one means adding it here, on purpose. */
const PUBLIC = ['get /healthz', 'get /openapi.json'];
/** Served without a key to callers on this machine that address it by a loopback name (Temporal UI, Prometheus). */
const KEYLESS_FROM_THIS_MACHINE = ['get /metrics', 'post /codec/decode', 'post /codec/encode'];

const CALLERS: { name: string; key: (keys: Keys) => string; role: Role; erase: boolean }[] = [
  { name: 'viewer', key: (k) => k.viewer, role: 'viewer', erase: false },
  { name: 'operator', key: (k) => k.operator, role: 'operator', erase: false },
  { name: 'operator with erase', key: (k) => k.operatorWithErase, role: 'operator', erase: true },
  { name: 'admin', key: (k) => k.admin, role: 'admin', erase: false },
  { name: 'admin with erase', key: (k) => k.eraseAdmin, role: 'admin', erase: true },
];

/** Parameter values that name nothing, so an allowed call changes nothing (404 or 400 at most). */
const PARAM_VALUES: Record<string, string> = { runId: 'security-matrix-no-such-run', n: '0', kind: 'voice-transcript' };

const routeKey = (spec: RegisteredRoute['spec']) => `${spec.method} ${spec.path}`;

function urlOf(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => encodeURIComponent(PARAM_VALUES[name] ?? '987654321'));
}

function callOf(spec: RegisteredRoute['spec']) {
  const raw = spec.body && (spec.body as { raw?: boolean }).raw;
  return { url: urlOf(spec.path), body: raw ? { raw: 'x' } : spec.body ? { json: {} } : {} };
}

/** The console's router (mounted at /console, the one holding /sign-in): a client of the registry's routes with
 *  its own session guard, checked by the test below rather than by the registry. */
const isConsoleRouter = (layer: any): boolean => !!layer.handle?.stack?.some((inner: any) => inner.route?.path === '/sign-in');

/** Every (method, Express path) the app serves, from its router stacks (the keyless guard's copies and the
 *  console's router aside). */
function servedRoutes(stack: any[], { withConsole = false } = {}): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) return Object.keys(layer.route.methods).filter((m) => m !== '_all').map((m) => `${m} ${layer.route.path}`);
    if (!withConsole && isConsoleRouter(layer)) return [];
    return layer.handle?.stack ? servedRoutes(layer.handle.stack, { withConsole }) : [];
  });
}

describe('the route table covers every endpoint', () => {
  test('every route Express serves is declared in the registry and documented with its role', () => {
    const declared = new Set(api.app.registry.routes.map(({ spec }) => `${spec.method} ${spec.path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1')}`));
    const served = servedRoutes((api.app as any).router.stack);
    assert.ok(served.length >= declared.size, 'the router stack was read');
    assert.deepEqual(served.filter((route) => !declared.has(route)), [], 'routes registered outside defineRoute bypass the role check');
    for (const { spec } of api.app.registry.routes) {
      const operation = documented[spec.path]?.[spec.method];
      assert.ok(operation, `${routeKey(spec)} is in /openapi.json`);
      if (spec.role === 'public') {
        assert.deepEqual(operation.security, [], `${routeKey(spec)} is documented as public`);
      } else {
        assert.equal(operation['x-role'], spec.role, `${routeKey(spec)} documents its role`);
        assert.equal(operation['x-privilege'], spec.privilege, `${routeKey(spec)} documents its privilege`);
      }
    }
  });

  test('every console route but its assets and sign-in needs a session: a page redirects to sign-in, an action is 401', async () => {
    const consoleRouter = (api.app as any).router.stack.find(isConsoleRouter);
    assert.ok(consoleRouter, 'the console is mounted');
    const routes = servedRoutes(consoleRouter.handle.stack, { withConsole: true });
    const open = ['get /assets/htmx.min.js', 'get /assets/console.css', 'get /sign-in', 'post /sign-in'];
    assert.deepEqual(open.filter((route) => !routes.includes(route)), [], 'the open routes are the console\'s');
    const guarded = routes.filter((route) => !open.includes(route));
    assert.ok(guarded.length >= 10, `the console's routes were read: ${guarded.join(', ')}`);
    for (const route of guarded) {
      const [method, path] = route.split(' ');
      const url = `http://127.0.0.1:${api.port}/console${path.replace(/:([A-Za-z0-9_]+)/g, '987654321')}`;
      const res = await fetch(url, {
        method: method.toUpperCase(), redirect: 'manual',
        headers: { authorization: `Bearer ${api.keys.eraseAdmin}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: method === 'get' ? undefined : 'confirm=1',
      });
      await res.arrayBuffer();
      if (method === 'get') {
        assert.equal(res.status, 303, `${route} without a session (an API key is no session)`);
        assert.equal(res.headers.get('location'), '/console/sign-in', route);
      } else {
        assert.equal(res.status, 401, `${route} without a session (an API key is no session)`);
      }
    }
  });

  test('only the deliberate exceptions are public or keyless', () => {
    const routes = api.app.registry.routes.map(({ spec }) => spec);
    assert.deepEqual(routes.filter((s) => s.role === 'public').map(routeKey).sort(), [...PUBLIC].sort());
    assert.deepEqual(routes.filter((s) => s.loopbackWithoutKey).map(routeKey).sort(), [...KEYLESS_FROM_THIS_MACHINE].sort());
  });
});

describe('every endpoint answers each caller as documented', () => {
  test('no key: 401, except the public routes and the keyless ones from this machine', async () => {
    for (const { spec } of api.app.registry.routes) {
      const { url, body } = callOf(spec);
      const res = await api.call(spec.method.toUpperCase(), url, { key: null, ...body });
      const open = spec.role === 'public' || spec.loopbackWithoutKey;
      if (open) assert.ok(![401, 403].includes(res.status) && res.status < 500, `${routeKey(spec)} without a key: ${res.status} ${res.text}`);
      else assert.equal(res.status, 401, `${routeKey(spec)} without a key: ${res.text}`);
    }
  });

  for (const caller of CALLERS) {
    test(`${caller.name}: 403 exactly where the documented role or privilege is missing`, async () => {
      for (const { spec } of api.app.registry.routes) {
        const operation = documented[spec.path][spec.method];
        const role = operation['x-role'] as Role | undefined;
        const allowed = !role || (roleAtLeast(caller.role, role) && (!operation['x-privilege'] || caller.erase));
        const { url, body } = callOf(spec);
        const res = await api.call(spec.method.toUpperCase(), url, { key: caller.key(api.keys), ...body });
        const what = `${routeKey(spec)} as ${caller.name}: ${res.status} ${res.text}`;
        if (allowed) assert.ok(![401, 403].includes(res.status) && res.status < 500, what);
        else assert.equal(res.status, 403, what);
      }
    });
  }

  test('the roles are the documented three, each including the one below', () => {
    assert.deepEqual([...ROLES], ['viewer', 'operator', 'admin']);
  });
});
