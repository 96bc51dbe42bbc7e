// Temporal connection settings from the environment (TEMPORAL_TLS_*, TEMPORAL_API_KEY): what the SDK gets for
// a plaintext self-hosted server, TLS, mTLS and Temporal Cloud's API key, and the config module refusing
// half-given or unreadable settings with a sentence naming the variable.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError, loadConfig } from '../lib/config.js';
import { temporalConnectionOptions } from '../lib/temporal/connection-options.js';

let dir: string;
let ca: string; let crt: string; let key: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ccj-temporal-tls-'));
  [ca, crt, key] = ['ca.pem', 'client.pem', 'client.key'].map((name) => path.join(dir, name));
  await Promise.all([writeFile(ca, 'CA'), writeFile(crt, 'CRT'), writeFile(key, 'KEY')]);
});
after(() => rm(dir, { recursive: true, force: true }));

test('a self-hosted server without settings is reached in plaintext, without a key', () => {
  assert.deepEqual(temporalConnectionOptions(loadConfig({})), {});
});

test('mTLS: the CA, the client certificate and key and the server name reach the SDK', () => {
  const options = temporalConnectionOptions(loadConfig({
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca, TEMPORAL_TLS_CLIENT_CERT_PATH: crt, TEMPORAL_TLS_CLIENT_KEY_PATH: key, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
  }));
  assert.deepEqual(options.tls, {
    serverNameOverride: 'temporal.internal', serverRootCACertificate: Buffer.from('CA'),
    clientCertPair: { crt: Buffer.from('CRT'), key: Buffer.from('KEY') },
  });
});

test('Temporal Cloud with an API key: TLS on (the system CAs), the key as the SDK apiKey', () => {
  assert.deepEqual(temporalConnectionOptions(loadConfig({ TEMPORAL_API_KEY: 'secret-key' })), { apiKey: 'secret-key', tls: {} });
  assert.deepEqual(temporalConnectionOptions(loadConfig({ TEMPORAL_TLS: 'true' })), { tls: {} });
});

const refused: [string, NodeJS.ProcessEnv, RegExp][] = [
  ['a certificate without its key', { TEMPORAL_TLS_CLIENT_CERT_PATH: 'CRT' }, /TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together/],
  ['an unreadable CA file', { TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/nonexistent/ca.pem' }, /TEMPORAL_TLS_SERVER_CA_CERT_PATH=\/nonexistent\/ca.pem cannot be read \(ENOENT\)/],
  ['TLS off with TLS files', { TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'CA' }, /TEMPORAL_TLS=false contradicts/],
  ['TEMPORAL_TLS neither true nor false', { TEMPORAL_TLS: 'yes' }, /TEMPORAL_TLS="yes"/],
];
for (const [name, env, message] of refused) {
  test(`the config module refuses ${name}, naming the variable`, () => {
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === 'CA' ? ca : v === 'CRT' ? crt : v]));
    assert.throws(() => loadConfig(resolved), (err: Error) => err instanceof ConfigError && message.test(err.message));
  });
}
