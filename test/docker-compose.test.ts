// No Docker engine runs here, so docker-compose.yml is kept honest by reading it: every variable the app
// services receive must be one the config module reads, and the config must accept their values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../lib/config.js';
import { PROJECT_ROOT } from '../lib/tools.js';

const compose = parse(readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
const APP_SERVICES = ['worker', 'api'];

test('the stack has postgres, temporal with postgres persistence, the UI with the codec, worker and api', () => {
  for (const name of ['postgres', 'temporal', 'temporal-ui', 'worker', 'api']) assert.ok(compose.services[name], name);
  assert.equal(compose.services.temporal.environment.DB, 'postgres12');
  assert.match(compose.services['temporal-ui'].environment.TEMPORAL_CODEC_ENDPOINT, /\/codec$/);
  assert.deepEqual(compose.services.worker.command, ['npm', 'run', 'worker']);
  assert.deepEqual(compose.services.api.command, ['npm', 'run', 'api']);
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
    for (const [k, v] of Object.entries(env)) if (v === '') delete env[k];
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
