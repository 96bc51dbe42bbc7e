// Temporal UI in docker-compose: the engineer's browser calls the codec through the API's port published on
// the host's loopback, so the call arrives from the Docker network's gateway, not from loopback. Such a peer,
// when named in KEYLESS_PEER_ADDRESSES, is served without a key like loopback — with the same Host and Origin
// checks — and any other non-loopback peer is still 401. 127.0.0.2 stands in for the gateway: a loopback
// interface address the API does not count as loopback.
import assert from 'node:assert/strict';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { createApp } from '../api/app.js';
import { createTestEnv, type TestEnv } from './harness/env.js';

let env: TestEnv;
const servers: Server[] = [];

before(async () => { env = await createTestEnv(); });
after(async () => {
  for (const s of servers) await new Promise((resolve) => s.close(resolve));
  await env?.stop();
});

async function api(keylessPeers: string[]): Promise<number> {
  const app = createApp({
    sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store,
    config: { ...env.config, KEYLESS_PEER_ADDRESSES: keylessPeers }, log: pino({ level: 'fatal' }),
  });
  const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '0.0.0.0', () => resolve(s)); });
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

function decodeFrom(port: number, headers: Record<string, string>): Promise<number> {
  const body = JSON.stringify({ payloads: [] });
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.2', localAddress: '127.0.0.2', port, method: 'POST', path: '/codec/decode',
      headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...headers },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); });
    req.on('error', reject);
    req.end(body);
  });
}

test('a keyless codec call from a configured peer (the compose gateway) is served, from Temporal UI\'s origin', async () => {
  const port = await api(['127.0.0.2']);
  const ui = env.config.TEMPORAL_UI_URL ? new URL(env.config.TEMPORAL_UI_URL).origin : `http://localhost:${env.config.TEMPORAL_UI_PORT}`;
  assert.equal(await decodeFrom(port, { host: `localhost:${port}`, origin: ui }), 200);
  // The Host/Origin checks still hold for that peer.
  assert.equal(await decodeFrom(port, { host: `localhost:${port}`, origin: 'http://evil.example' }), 401);
  assert.equal(await decodeFrom(port, { host: 'rebind.attacker.example' }), 401);
});

test('a keyless codec call from a peer not configured is 401', async () => {
  const port = await api([]);
  assert.equal(await decodeFrom(port, { host: `localhost:${port}` }), 401);
});
