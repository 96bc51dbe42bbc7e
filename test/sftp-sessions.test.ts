// SFTP sessions shared by the transfers of a process (lib/transfer/sftp.ts): a worker's batches and runs to one
// destination reuse one SSH connection; a connection that pins the host key, another credential, and the
// connection test each get their own; a dropped connection is replaced on the next call. Connections are
// counted by a loopback proxy in front of a real OpenSSH server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { openTransfer, TransferError, type DestinationSecrets, type DestinationSettings } from '../lib/transfer/index.js';
import { startSshd, type SshdServer } from './harness/servers/index.js';

interface CountingProxy { port: number; connections: number; cut(): void; close(): Promise<void> }

/** A proxy to the server that counts the connections made through it; `cut` drops the open ones. */
async function countingProxy(host: string, port: number): Promise<CountingProxy> {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    proxy.connections++;
    const upstream = net.connect(port, host);
    for (const socket of [client, upstream]) { open.add(socket); socket.once('close', () => open.delete(socket)); }
    client.pipe(upstream).pipe(client);
    const drop = () => { client.destroy(); upstream.destroy(); };
    client.on('error', drop);
    upstream.on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: CountingProxy = {
    port: (server.address() as net.AddressInfo).port,
    connections: 0,
    cut: () => { for (const socket of open) socket.destroy(); },
    close: async () => { proxy.cut(); await new Promise((resolve) => server.close(resolve)); },
  };
  return proxy;
}

let sshd: SshdServer;
let proxy: CountingProxy;

before(async () => {
  sshd = await startSshd();
  proxy = await countingProxy(sshd.host, sshd.port);
});

after(async () => {
  await proxy?.close();
  await sshd?.stop();
});

/** Settings of a destination of its own (its own folder), so each test starts without a shared session. */
function destination(): DestinationSettings {
  return { protocol: 'sftp', host: '127.0.0.1', port: proxy.port, username: sshd.username, path: path.join(sshd.rootDir, randomBytes(4).toString('hex')) };
}

const secrets = (): DestinationSecrets => ({ privateKey: sshd.privateKey });

async function putOnce(settings: DestinationSettings, name: string, hooks = {}, keys = secrets()): Promise<void> {
  const transfer = openTransfer(settings, keys, hooks);
  try {
    await transfer.put(name, Readable.from([Buffer.from(`${name}\n`)]));
  } finally {
    await transfer.close();
  }
}

describe('shared sftp sessions', () => {
  it('transfers opened one after another and side by side use one connection, and every file lands whole', async () => {
    const settings = destination();
    const before = proxy.connections;
    await putOnce(settings, 'a.txt');
    await putOnce(settings, 'b.txt');
    // Eight transfers at once (batches of runs on one worker), 10 files each, some over 256 KiB (several WRITEs).
    const bodies = new Map<string, Buffer>();
    await Promise.all(Array.from({ length: 8 }, async (_, t) => {
      const transfer = openTransfer(settings, secrets());
      try {
        for (let f = 0; f < 10; f++) {
          const name = `t${t}/f${f}.bin`;
          const body = randomBytes(f % 3 === 0 ? 700_000 : 20_000);
          bodies.set(name, body);
          await transfer.put(name, Readable.from([body.subarray(0, 5000), body.subarray(5000)]));
        }
      } finally {
        await transfer.close();
      }
    }));
    assert.equal(proxy.connections - before, 1, 'one SSH connection for all of them');
    for (const [name, body] of bodies) assert.ok((await readFile(path.join(settings.path!, name))).equals(body), name);
  });

  it('another credential, a first connection that pins the host key, and the connection test get connections of their own', async () => {
    const settings = destination();
    await putOnce(settings, 'shared.txt');
    let count = proxy.connections;

    // A key the server refuses is refused, though a session with the right key is open.
    await assert.rejects(putOnce(settings, 'refused.txt', {}, { privateKey: sshd.unauthorizedPrivateKey }),
      (err: unknown) => err instanceof TransferError && err.stage === 'auth');
    assert.equal(proxy.connections - count, 1);
    count = proxy.connections;

    // Trust on first use: the host key is pinned through the hook on a connection of this transfer's own.
    const pinned: string[] = [];
    await putOnce(settings, 'pinning.txt', { pinHostKey: async (fingerprint: string) => { pinned.push(fingerprint); return fingerprint; } });
    assert.equal(pinned.length, 1);
    assert.equal(proxy.connections - count, 1);
    count = proxy.connections;

    // Once pinned, the destination's transfers share a session checked against the pinned key.
    const withPin = { ...settings, hostKeyFingerprint: pinned[0] };
    await putOnce(withPin, 'p1.txt', { pinHostKey: async () => assert.fail('already pinned') });
    await putOnce(withPin, 'p2.txt', { pinHostKey: async () => assert.fail('already pinned') });
    assert.equal(proxy.connections - count, 1);
    count = proxy.connections;

    // A pinned key the server does not have is refused, never served by another session.
    const otherKey = `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    await assert.rejects(putOnce({ ...settings, hostKeyFingerprint: otherKey }, 'wrong-key.txt'),
      (err: unknown) => err instanceof TransferError && /host key/.test(err.message));
    count = proxy.connections;

    // The connection test proves a fresh connection even while a session to the destination is open.
    const transfer = openTransfer(settings, secrets());
    try {
      await transfer.put('open.txt', Readable.from([Buffer.from('x')]));
      const during = proxy.connections;
      await transfer.test();
      assert.equal(proxy.connections - during, 1);
    } finally {
      await transfer.close();
    }
  });

  it('a connection dropped by the network is replaced on the next call, while a transfer is open and after', async () => {
    const settings = destination();
    const transfer = openTransfer(settings, secrets());
    try {
      await transfer.put('before.txt', Readable.from([Buffer.from('1')]));
      const count = proxy.connections;
      proxy.cut();
      // The drop is noticed (the session marked closed) before or during the next call; a call that was
      // already on its way may fail as a network failure and is retried by its job.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await transfer.put('after.txt', Readable.from([Buffer.from('2')]));
      assert.equal(proxy.connections - count, 1);
    } finally {
      await transfer.close();
    }
    const count = proxy.connections;
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await putOnce(settings, 'later.txt');
    assert.equal(proxy.connections - count, 1);
    assert.deepEqual((await Promise.all(['before.txt', 'after.txt', 'later.txt'].map((f) => readFile(path.join(settings.path!, f), 'utf8')))), ['1', '2', 'later.txt\n']);
  });
});
