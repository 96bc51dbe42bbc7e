// A destination's secrets go only where an administrator sent them: repointing one needs the secret again,
// SFTP host keys are pinned (trust on first use, or configured), FTP can run over TLS (explicit and implicit)
// with the server's certificate verified, and a local folder gets files 0640 in folders 0750.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { FtpSrv } from 'ftp-srv';
import { bootstrapAdminKey } from '../api/admin-key.js';
import { createApp } from '../api/app.js';
import { openTransfer, TransferError, type DestinationSettings } from '../lib/transfer/index.js';
import { FILE_MODE, FOLDER_MODE } from '../lib/transfer/file.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { freePort, startSshd, type SshdServer } from './harness/servers/index.js';

const run = promisify(execFile);
let env: TestEnv;
let server: Server;
let base: string;
let adminKey: string;
let sshd: SshdServer;
let otherSshd: SshdServer;

before(async () => {
  env = await createTestEnv();
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  adminKey = (await bootstrapAdminKey({ sql: env.sql, config: env.config, print: () => {} }))!;
  [sshd, otherSshd] = await Promise.all([startSshd(), startSshd()]);
});

after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await Promise.all([sshd?.stop(), otherSshd?.stop()]);
  await env?.stop();
});

async function call(method: string, url: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method, headers: { authorization: `Bearer ${adminKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function createDestination(body: Record<string, unknown>): Promise<string> {
  const res = await call('POST', '/destinations', { name: `dest-${Math.random().toString(36).slice(2)}`, ...body });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return res.json.id;
}

/** A TCP listener that records every byte it is sent: where a leaked password would land. */
async function listener(): Promise<{ port: number; received: () => string; close(): Promise<void> }> {
  let received = '';
  const sockets = new Set<import('node:net').Socket>();
  const tcp: TcpServer = createServer((socket) => {
    sockets.add(socket);
    socket.write('220 listening\r\n');
    socket.on('data', (chunk) => { received += chunk.toString(); socket.write('331 go on\r\n'); });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  return {
    port: (tcp.address() as AddressInfo).port,
    received: () => received,
    close: () => new Promise((resolve) => { for (const socket of sockets) socket.destroy(); tcp.close(() => resolve()); }),
  };
}

/** The host key's fingerprint as OpenSSH's own tools compute it. */
async function fingerprintOf(ssh: SshdServer): Promise<string> {
  const { stdout: keys } = await run('ssh-keyscan', ['-t', 'ed25519', '-p', String(ssh.port), ssh.host]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ccj-keyscan-'));
  try {
    await writeFile(path.join(dir, 'key'), keys);
    const { stdout } = await run('ssh-keygen', ['-lf', path.join(dir, 'key')]);
    return stdout.split(/\s+/)[1];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('changing where a destination points needs its secret again', () => {
  test('an sftp destination repointed at another listener without the password is 400 naming password, and the listener gets nothing', async () => {
    const password = 'S3cretPartnerPw!';
    const id = await createDestination({ protocol: 'sftp', host: '127.0.0.1', port: 22, username: 'cc', password, path: '/incoming' });
    const trap = await listener();
    try {
      for (const change of [{ protocol: 'ftp', port: trap.port }, { host: 'localhost' }, { port: trap.port }, { username: 'other' }]) {
        const res = await call('PATCH', `/destinations/${id}`, change);
        assert.equal(res.status, 400, `${JSON.stringify(change)} → ${JSON.stringify(res.json)}`);
        assert.deepEqual(res.json.errors.map((e: { path: string }) => e.path), ['password']);
        assert.match(res.json.errors[0].message, /send the password again/);
      }
      const unchanged = await call('GET', `/destinations/${id}`);
      assert.equal(unchanged.json.protocol, 'sftp');
      assert.equal(unchanged.json.port, 22);
      await call('POST', `/destinations/${id}/test`);
      assert.ok(!trap.received().includes(password), 'the stored password reached the listener');

      const resent = await call('PATCH', `/destinations/${id}`, { protocol: 'ftp', port: trap.port, password: 'the-ftp-one' });
      assert.equal(resent.status, 200, JSON.stringify(resent.json));
      assert.equal(resent.json.protocol, 'ftp');
      const moved = await call('PATCH', `/destinations/${id}`, { path: '/elsewhere', name: 'renamed' });
      assert.equal(moved.status, 200, 'a change that keeps the server needs no secret');
    } finally {
      await trap.close();
    }
  });

  test('a stored private key must be sent again too, and an S3 endpoint change needs the secret key', async () => {
    const sftp = await createDestination({ protocol: 'sftp', host: '127.0.0.1', username: 'cc', privateKey: sshd.privateKey });
    const res = await call('PATCH', `/destinations/${sftp}`, { host: 'sftp.example.net' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json.errors.map((e: { path: string }) => e.path), ['privateKey']);
    const s3 = await createDestination({ protocol: 's3', bucket: 'archive', username: 'AKIAEXAMPLE', password: 'secret-key', endpoint: 'https://s3.example.com' });
    const s3res = await call('PATCH', `/destinations/${s3}`, { endpoint: 'https://attacker.example.com' });
    assert.equal(s3res.status, 400);
    assert.deepEqual(s3res.json.errors.map((e: { path: string }) => e.path), ['password']);
  });
});

describe('sftp host keys', () => {
  test('the first connection test pins the host key, GET shows it, and a different key at that address is refused', async () => {
    const id = await createDestination({ protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, path: sshd.rootDir });
    assert.equal((await call('GET', `/destinations/${id}`)).json.hostKeyFingerprint, undefined);
    assert.deepEqual((await call('POST', `/destinations/${id}/test`)).json, { ok: true });
    const expected = await fingerprintOf(sshd);
    assert.equal((await call('GET', `/destinations/${id}`)).json.hostKeyFingerprint, expected);

    // The server at that address now presents another key (simulated by moving the row to another sshd
    // without going through PATCH, which would forget the pin).
    await env.sql`update destinations set settings = settings || jsonb_build_object('port', ${otherSshd.port}::int) where id = ${id}`;
    const refused = await call('POST', `/destinations/${id}/test`);
    assert.equal(refused.status, 422);
    assert.equal(refused.json.stage, 'connect');
    assert.match(refused.json.detail, new RegExp(`host key of sftp://${otherSshd.host}:${otherSshd.port} is ${escape(await fingerprintOf(otherSshd))}, but this destination pins ${escape(expected)}`));
    assert.equal((await call('GET', `/destinations/${id}`)).json.hostKeyFingerprint, expected, 'a refused key never replaces the pinned one');

    const accepted = await call('PATCH', `/destinations/${id}`, { hostKeyFingerprint: await fingerprintOf(otherSshd), privateKey: otherSshd.privateKey });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.json));
    assert.deepEqual((await call('POST', `/destinations/${id}/test`)).json, { ok: true });
  });

  test('a configured fingerprint is checked from the first connection, and a malformed one is 400', async () => {
    const wrong = await fingerprintOf(otherSshd);
    const id = await createDestination({
      protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, path: sshd.rootDir, hostKeyFingerprint: wrong,
    });
    const refused = await call('POST', `/destinations/${id}/test`);
    assert.equal(refused.status, 422);
    assert.match(refused.json.detail, /pins .*nothing was sent/);
    const bad = await call('POST', '/destinations', { name: 'bad-fp', protocol: 'sftp', host: 'h', username: 'u', hostKeyFingerprint: 'md5:aa:bb' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.errors.map((e: { path: string }) => e.path), ['hostKeyFingerprint']);
  });

  test('repointing to another server forgets the pinned key, so the new one is pinned on its first use', async () => {
    const id = await createDestination({ protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, path: sshd.rootDir });
    await call('POST', `/destinations/${id}/test`);
    const moved = await call('PATCH', `/destinations/${id}`, { port: otherSshd.port, privateKey: otherSshd.privateKey });
    assert.equal(moved.status, 200);
    assert.equal(moved.json.hostKeyFingerprint, undefined);
  });
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A self-signed certificate for 127.0.0.1, made for this test. */
async function selfSignedCertificate(): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ccj-ftps-'));
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ]);
    return { key: await readFile(path.join(dir, 'key.pem'), 'utf8'), cert: await readFile(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function startFtps(mode: 'explicit' | 'implicit', certificate: { key: string; cert: string }, rootDir: string) {
  const port = await freePort();
  const pasvMin = 40_000 + Math.floor(Math.random() * 20_000);
  const ftps = new FtpSrv({
    url: `${mode === 'implicit' ? 'ftps' : 'ftp'}://127.0.0.1:${port}`, pasv_url: '127.0.0.1', pasv_min: pasvMin, pasv_max: pasvMin + 20,
    anonymous: false, tls: certificate, log: quietLogger(),
  });
  let sawClearLogin = false;
  ftps.on('login', ({ connection, username, password }, resolve, reject) => {
    if (!(connection as unknown as { secure?: boolean }).secure && mode === 'explicit') sawClearLogin = true;
    if (username === 'ftpsuser' && password === 'ftps-secret') resolve({ root: rootDir });
    else reject(new Error('invalid username or password'));
  });
  await ftps.listen();
  return { port, sawClearLogin: () => sawClearLogin, close: () => ftps.close() };
}

function quietLogger() {
  const logger = { child: () => logger, trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, fatal: () => {} };
  return logger as never;
}

describe('FTPS', () => {
  for (const mode of ['explicit', 'implicit'] as const) {
    test(`${mode} TLS: files go up and come back when the server's certificate is trusted, and an untrusted one is refused`, async () => {
      const certificate = await selfSignedCertificate();
      const rootDir = await mkdtemp(path.join(os.tmpdir(), 'ccj-ftps-root-'));
      const ftps = await startFtps(mode, certificate, rootDir);
      const settings: DestinationSettings = { protocol: 'ftp', host: '127.0.0.1', port: ftps.port, username: 'ftpsuser', path: '/', tls: mode, tlsCa: certificate.cert };
      try {
        const transfer = openTransfer(settings, { password: 'ftps-secret' });
        try {
          await transfer.test();
          const put = await transfer.put('calls/list.csv', Readable.from([Buffer.from('client_id,name\n1,Ann\n')]));
          assert.equal(put.location, `ftps://127.0.0.1:${ftps.port}/calls/list.csv`);
          const chunks: Buffer[] = [];
          for await (const chunk of await transfer.get('calls/list.csv')) chunks.push(chunk as Buffer);
          assert.equal(Buffer.concat(chunks).toString(), 'client_id,name\n1,Ann\n');
          assert.deepEqual((await transfer.list('calls')).map((f) => f.name), ['list.csv']);
        } finally {
          await transfer.close();
        }
        assert.equal(ftps.sawClearLogin(), false, 'the password went over the control connection before TLS');

        const untrusted = openTransfer({ ...settings, tlsCa: undefined }, { password: 'ftps-secret' });
        await assert.rejects(untrusted.test(), (err: unknown) => {
          assert.ok(err instanceof TransferError);
          assert.equal(err.stage, 'connect');
          assert.equal(err.permanent, true);
          assert.match(err.message, /TLS certificate of ftps:\/\/127\.0\.0\.1:\d+ is not trusted .*tlsCa/);
          return true;
        });
        await untrusted.close();
        const unchecked = openTransfer({ ...settings, tlsCa: undefined, tlsRejectUnauthorized: false }, { password: 'ftps-secret' });
        await unchecked.test();
        await unchecked.close();
      } finally {
        await ftps.close();
        await rm(rootDir, { recursive: true, force: true });
      }
    });
  }

  test('the API takes tls, tlsCa and tlsRejectUnauthorized for ftp only', async () => {
    const id = await createDestination({ protocol: 'ftp', host: 'ftp.example.com', tls: 'implicit', tlsRejectUnauthorized: true });
    const got = await call('GET', `/destinations/${id}`);
    assert.equal(got.json.tls, 'implicit');
    const bad = await call('POST', '/destinations', { name: 'tls-on-sftp', protocol: 'sftp', host: 'h', username: 'u', tls: 'explicit' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.errors.map((e: { path: string }) => e.path), ['tls']);
  });
});

describe('local folder destinations', () => {
  test('write files 0640 in folders 0750 where the umask would leave them world-readable', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'ccj-file-modes-'));
    const previous = process.umask(0o002);
    try {
      const transfer = openTransfer({ protocol: 'file', path: path.join(root, 'exports') });
      await transfer.put('recordings/2026-03-02/15/call.wav', Readable.from([Buffer.from('RIFF')]));
      await transfer.put('recordings/2026-03-02/15/call.wav', Readable.from([Buffer.from('RIFF again')]));
      assert.equal((await stat(path.join(root, 'exports/recordings/2026-03-02/15/call.wav'))).mode & 0o777, FILE_MODE);
      for (const dir of ['exports', 'exports/recordings', 'exports/recordings/2026-03-02', 'exports/recordings/2026-03-02/15']) {
        assert.equal((await stat(path.join(root, dir))).mode & 0o777, FOLDER_MODE, dir);
      }
      assert.equal(FILE_MODE, 0o640);
      assert.equal(FOLDER_MODE, 0o750);
    } finally {
      process.umask(previous);
      await rm(root, { recursive: true, force: true });
    }
  });
});
