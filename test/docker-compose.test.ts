// No Docker engine runs here, so docker-compose.yml is kept honest by reading it: it must be valid under the
// Compose Specification (dclint, errors fatal; Debian's docker-compose 1.29 predates the specification), every
// variable the app services receive must be one the config module reads, and the config must accept their
// values; the Dockerfile and .dockerignore keep what the issue-13 review found missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../lib/config.js';
import { PROJECT_ROOT } from '../lib/tools.js';

const compose = parse(readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
const APP_SERVICES = ['worker', 'api'];

test('docker-compose.yml is valid under the Compose Specification (dclint reports no error)', async () => {
  const dclint = path.join(path.dirname(createRequire(import.meta.url).resolve('dclint/package.json')), 'bin', 'dclint.cjs');
  const result = await promisify(execFile)(process.execPath, [dclint, '--quiet', '--color', 'false', path.join(PROJECT_ROOT, 'docker-compose.yml')])
    .then(() => ({ code: 0, output: '' }), (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }));
  assert.equal(result.code, 0, result.output);
});

test('the stack has postgres, temporal with postgres persistence set up by admin-tools, the UI with the codec, worker and api', () => {
  for (const name of ['postgres', 'temporal', 'temporal-schema', 'temporal-ui', 'worker', 'api']) assert.ok(compose.services[name], name);
  assert.equal(compose.services.temporal.environment.DB, 'postgres12');
  assert.match(compose.services.temporal.image, /^temporalio\/server:/);
  assert.match(compose.services['temporal-schema'].image, /^temporalio\/admin-tools:/);
  assert.ok(!JSON.stringify(compose).includes('auto-setup'), 'temporalio/auto-setup is deprecated upstream');
  assert.equal(compose.services.temporal.depends_on['temporal-schema'].condition, 'service_completed_successfully');
  assert.match(compose.services['temporal-ui'].environment.TEMPORAL_CODEC_ENDPOINT, /\/codec$/);
});

test('the app runs the built JavaScript on node directly, in production mode, after its dependencies are healthy', () => {
  assert.deepEqual(compose.services.worker.command, ['node', 'dist/worker/start.js']);
  assert.deepEqual(compose.services.api.command, ['node', 'dist/api/start.js']);
  for (const name of APP_SERVICES) {
    const service = compose.services[name];
    assert.equal(service.environment.NODE_ENV, 'production', name);
    assert.equal(service.depends_on.postgres.condition, 'service_healthy', name);
    assert.equal(service.restart, 'unless-stopped', name);
  }
  assert.ok(compose.services.worker.deploy.replicas >= 2, 'several workers');
  // A scraper on the Docker network reaches every worker replica's metrics.
  assert.equal(compose.services.worker.environment.METRICS_HOST, '0.0.0.0');
});

test('the codec accepts Temporal UI\'s keyless calls from the Docker gateway, with the UI\'s origin', () => {
  const gateway = compose.networks.default.ipam.config[0].gateway;
  assert.equal(compose.services.api.environment.KEYLESS_PEER_ADDRESSES, gateway);
  const ui = new URL(compose.services.api.environment.TEMPORAL_UI_URL);
  assert.ok(compose.services['temporal-ui'].ports.some((p: string) => p.endsWith(`:${ui.port}:8080`)), 'TEMPORAL_UI_URL is where the UI is published');
});

test('the image: multi-stage on Node 24, non-root, a /data volume, a HEALTHCHECK, tini, node as CMD; .dockerignore keeps host files out', () => {
  const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
  assert.match(dockerfile, /^FROM node:24-[a-z-]+$/m);
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /^VOLUME \/data$/m);
  assert.match(dockerfile, /chown node:node \/data/);
  assert.match(dockerfile, /^HEALTHCHECK .*CMD \["node", "dist\/lib\/healthcheck\.js"\]$/m);
  assert.match(dockerfile, /^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
  assert.match(dockerfile, /^CMD \["node", /m);
  const ignored = readFileSync(path.join(PROJECT_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const entry of ['node_modules', 'tools', '.data', '.git', '**/*.key']) assert.ok(ignored.includes(entry), entry);
});

for (const name of APP_SERVICES) {
  test(`every variable given to ${name} is read by the config module`, () => {
    const env: Record<string, string> = compose.services[name].environment;
    const unknown = Object.keys(env).filter((k) => !CONFIG_VARIABLES.includes(k));
    assert.deepEqual(unknown, [], `variables the config module does not read: ${unknown.join(', ')}`);
  });

  test(`the config module accepts ${name}'s environment once secrets are filled in`, () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(compose.services[name].environment)) {
      env[k] = String(v).replace(/\$\{([A-Z_]+)(:[?-][^}]*)?\}/g, (_, variable: string) =>
        ({ MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), ADMIN_API_KEY: 'a'.repeat(24), MASTER_KEY_ID: 'k1', CONTENT_STORE: 'local' } as Record<string, string>)[variable] ?? '');
    }
    // loadConfig reads an empty variable as unset, as a container receives ${X:-} for an unset X.
    assert.doesNotThrow(() => loadConfig(env));
  });
}

test('Temporal\'s gRPC port and UI are published on loopback only (they have no authentication)', () => {
  for (const name of ['temporal', 'temporal-ui']) {
    const ports: string[] = compose.services[name].ports ?? [];
    assert.ok(ports.length > 0, `${name} publishes no port`);
    for (const port of ports) assert.match(String(port), /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${port} beyond loopback`);
  }
});

test('every published port of the stack is on loopback unless the operator changes it', () => {
  for (const [name, service] of Object.entries<any>(compose.services)) {
    for (const port of service.ports ?? []) assert.match(String(port), /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${port} beyond loopback`);
  }
});
