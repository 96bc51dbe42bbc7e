// Every transfer protocol against a real server: OpenSSH for sftp, ftp-srv for ftp, moto for s3, a temp folder
// for file. The same behaviours are checked for each; credential and reachability failures per protocol.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { openTransfer, TransferError, type DestinationSecrets, type DestinationSettings, type Transfer } from '../lib/transfer/index.js';
import { freePort, startFtp, startS3, startSshd, type FtpServer, type S3Server, type SshdServer } from './harness/servers/index.js';

const MB = 1024 * 1024;
const BUCKET = `transfer-test-${process.pid}`;

/** A deterministic pseudo-random body of `size` bytes, generated chunk by chunk, and its sha256. */
function generatedBody(size: number, seed = 1): { stream: Readable; sha256: string } {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let state = seed;
  for (let offset = 0; offset < size; offset += 64 * 1024) {
    const chunk = Buffer.alloc(Math.min(64 * 1024, size - offset));
    for (let i = 0; i < chunk.length; i += 4) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      chunk.writeUInt32LE(state, i);
    }
    hash.update(chunk);
    chunks.push(chunk);
  }
  // Handed out lazily so the transfer sees a stream, not one buffer.
  return { stream: Readable.from((function* () { yield* chunks; })()), sha256: hash.digest('hex') };
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function rejectsWith(promise: Promise<unknown>, expected: { stage: string; permanent?: boolean; message?: RegExp }) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof TransferError, `expected a TransferError, got ${String(err)}`);
    assert.equal(err.stage, expected.stage, err.message);
    if (expected.permanent !== undefined) assert.equal(err.permanent, expected.permanent, err.message);
    if (expected.message) assert.match(err.message, expected.message);
    return true;
  });
}

interface ProtocolCase {
  protocol: DestinationSettings['protocol'];
  settings(): DestinationSettings;
  secrets(): DestinationSecrets;
  /** The local folder behind the destination's base path, when the test can look at it. */
  baseDir?(): string;
  locationOf(relative: string): string;
}

let sshd: SshdServer;
let ftp: FtpServer;
let s3: S3Server;
let fileRoot: string;

const cases: ProtocolCase[] = [
  {
    protocol: 'file',
    settings: () => ({ protocol: 'file', path: path.join(fileRoot, 'base') }),
    secrets: () => ({}),
    baseDir: () => path.join(fileRoot, 'base'),
    locationOf: (relative) => `file://${path.join(fileRoot, 'base', relative)}`,
  },
  {
    protocol: 'sftp',
    settings: () => ({ protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, path: path.join(sshd.rootDir, 'base') }),
    secrets: () => ({ privateKey: sshd.privateKey }),
    baseDir: () => path.join(sshd.rootDir, 'base'),
    locationOf: (relative) => `sftp://${sshd.host}:${sshd.port}${path.join(sshd.rootDir, 'base', relative)}`,
  },
  {
    protocol: 'ftp',
    settings: () => ({ protocol: 'ftp', host: ftp.host, port: ftp.port, username: ftp.username, path: 'base' }),
    secrets: () => ({ password: ftp.password }),
    baseDir: () => path.join(ftp.rootDir, 'base'),
    locationOf: (relative) => `ftp://${ftp.host}:${ftp.port}/base/${relative}`,
  },
  {
    protocol: 's3',
    settings: () => ({ protocol: 's3', bucket: BUCKET, endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, path: 'base' }),
    secrets: () => ({ accessKeyId: s3.accessKeyId, password: s3.secretAccessKey }),
    locationOf: (relative) => `s3://${BUCKET}/base/${relative}`,
  },
];

async function withTransfer<T>(settings: DestinationSettings, secrets: DestinationSecrets, use: (transfer: Transfer) => Promise<T>): Promise<T> {
  const transfer = openTransfer(settings, secrets);
  try {
    return await use(transfer);
  } finally {
    await transfer.close();
  }
}

before(async () => {
  fileRoot = await mkdtemp(path.join(os.tmpdir(), 'cc-jobs-transfer-'));
  [sshd, ftp, s3] = await Promise.all([startSshd(), startFtp(), startS3()]);
  await s3.createBucket(BUCKET);
});

after(async () => {
  await Promise.all([sshd?.stop(), ftp?.stop(), s3?.stop(), fileRoot && rm(fileRoot, { recursive: true, force: true })]);
});

for (const protocol of cases) {
  describe(`${protocol.protocol} transfer`, () => {
    const open = <T>(use: (transfer: Transfer) => Promise<T>) => withTransfer(protocol.settings(), protocol.secrets(), use);

    it('streams a 3 MB body into folders it creates, and get returns the same bytes', async () => {
      const body = generatedBody(3 * MB);
      await open(async (transfer) => {
        const result = await transfer.put('exports/2024/06/call-1.wav', body.stream, { contentType: 'audio/wav' });
        assert.deepEqual(result, { path: 'exports/2024/06/call-1.wav', location: protocol.locationOf('exports/2024/06/call-1.wav'), sizeBytes: 3 * MB });
        assert.equal(await sha256Of(await transfer.get('exports/2024/06/call-1.wav')), body.sha256);
      });
      const baseDir = protocol.baseDir?.();
      if (baseDir) {
        const onDisk = path.join(baseDir, 'exports/2024/06/call-1.wav');
        assert.equal(await sha256Of(createReadStream(onDisk)), body.sha256);
        assert.deepEqual(await readdir(path.dirname(onDisk)), ['call-1.wav'], 'no temporary file is left beside the final one');
      }
    });

    it('put replaces an existing file', async () => {
      await open(async (transfer) => {
        await transfer.put('replace/same.csv', Readable.from([Buffer.from('first version, longer\n')]));
        const result = await transfer.put('replace/same.csv', Readable.from([Buffer.from('second\n')]));
        assert.equal(result.sizeBytes, 7);
        assert.equal(await sha256Of(await transfer.get('replace/same.csv')), createHash('sha256').update('second\n').digest('hex'));
      });
    });

    it('a source that fails mid-stream rejects put with its own error and leaves no file behind', async () => {
      const failing = Readable.from((async function* () {
        yield Buffer.alloc(256 * 1024, 1);
        throw new Error('source broke: decryption failed');
      })());
      await open(async (transfer) => {
        await assert.rejects(transfer.put('failing/partial.wav', failing), /source broke/);
        assert.deepEqual(await transfer.list('failing'), []);
        // The same transfer keeps working after the failure.
        await transfer.put('failing/after.txt', Readable.from([Buffer.from('ok\n')]));
      });
      const baseDir = protocol.baseDir?.();
      if (baseDir) assert.deepEqual(await readdir(path.join(baseDir, 'failing')), ['after.txt']);
    });

    it('parallel puts into one new folder all land whole, and a folder removed between puts is created again', async () => {
      const sizes = Array.from({ length: 16 }, (_, i) => (i % 4) * 300 * 1024 + i * 1000 + 4); // generatedBody needs multiples of 4
      const bodies = sizes.map((size, i) => generatedBody(size, i + 7));
      await open(async (transfer) => {
        const results = await Promise.all(bodies.map((body, i) => transfer.put(`parallel/a/b/${i}.wav`, body.stream)));
        assert.deepEqual(results.map((r) => r.sizeBytes), sizes);
        for (const [i, body] of bodies.entries()) assert.equal(await sha256Of(await transfer.get(`parallel/a/b/${i}.wav`)), body.sha256, `file ${i}`);
        const baseDir = protocol.baseDir?.();
        if (baseDir) {
          assert.equal((await readdir(path.join(baseDir, 'parallel/a/b'))).length, sizes.length, 'no temporary file is left');
          // Removed behind the open session's back (by an operator, say): the next put makes it again.
          await rm(path.join(baseDir, 'parallel'), { recursive: true });
          const again = generatedBody(100 * 1024, 99);
          await transfer.put('parallel/a/b/again.wav', again.stream);
          assert.equal(await sha256Of(await transfer.get('parallel/a/b/again.wav')), again.sha256);
        }
      });
    });

    it('a body of many small chunks (a CSV streamed one row at a time) arrives whole and in order', async () => {
      const rows = Array.from({ length: 3000 }, (_, i) => Buffer.from(`${i},row number ${i},${'x'.repeat(i % 50)}\n`));
      const expected = createHash('sha256').update(Buffer.concat(rows)).digest('hex');
      await open(async (transfer) => {
        const result = await transfer.put('small-chunks/rows.csv', Readable.from(rows));
        assert.equal(result.sizeBytes, rows.reduce((n, r) => n + r.length, 0));
        assert.equal(await sha256Of(await transfer.get('small-chunks/rows.csv')), expected);
      });
    });

    it('list returns the files of a folder with size and time, without sub-folders; a missing folder lists empty', async () => {
      await open(async (transfer) => {
        await transfer.put('listing/a.csv', Readable.from([Buffer.from('a,b\n')]));
        await transfer.put('listing/b.csv', Readable.from([Buffer.from('a,b,c\n')]));
        await transfer.put('listing/nested/c.csv', Readable.from([Buffer.from('x\n')]));
        const listed = (await transfer.list('listing')).sort((x, y) => x.name.localeCompare(y.name));
        assert.deepEqual(listed.map(({ name, path, sizeBytes }) => ({ name, path, sizeBytes })), [
          { name: 'a.csv', path: 'listing/a.csv', sizeBytes: 4 },
          { name: 'b.csv', path: 'listing/b.csv', sizeBytes: 6 },
        ]);
        for (const file of listed) {
          assert.ok(file.modifiedAt instanceof Date && Math.abs(file.modifiedAt.getTime() - Date.now()) < 5 * 60_000, `modifiedAt of ${file.name}: ${String(file.modifiedAt)}`);
        }
        assert.deepEqual(await transfer.list('no/such/folder'), []);
      });
    });

    it('remove deletes a file, and removing it again is not an error', async () => {
      await open(async (transfer) => {
        await transfer.put('removing/gone.txt', Readable.from([Buffer.from('bye\n')]));
        await transfer.remove('removing/gone.txt');
        assert.deepEqual(await transfer.list('removing'), []);
        await transfer.remove('removing/gone.txt');
      });
    });

    it('get of a missing file fails permanently at the read stage', async () => {
      await open((transfer) => rejectsWith(transfer.get('missing/nothing.wav'), { stage: 'read', permanent: true, message: /does not exist/ }));
    });

    it('paths that climb out of the base folder or are absolute are rejected', async () => {
      await open(async (transfer) => {
        for (const bad of ['../outside.txt', 'a/../../outside.txt', '/etc/passwd']) {
          await rejectsWith(transfer.put(bad, Readable.from([Buffer.from('x')])), { stage: 'write', permanent: true });
          await rejectsWith(transfer.get(bad), { stage: 'write', permanent: true });
        }
      });
    });

    it('test() passes with working settings and leaves no probe file behind', async () => {
      await open(async (transfer) => {
        await transfer.test();
        assert.deepEqual((await transfer.list('')).filter((file) => file.name.includes('connection-test')), []);
      });
    });
  });
}

describe('connection failures are reported by stage', () => {
  const testWith = (settings: DestinationSettings, secrets: DestinationSecrets) =>
    withTransfer(settings, secrets, (transfer) => transfer.test());

  it('sftp with a key the server does not know fails at auth, naming the server and user', async () => {
    await rejectsWith(testWith(cases[1].settings(), { privateKey: sshd.unauthorizedPrivateKey }), {
      stage: 'auth', permanent: true, message: new RegExp(`sftp://${sshd.host}:${sshd.port} as ${sshd.username} failed`),
    });
  });

  it('sftp with an unknown user fails at auth', async () => {
    await rejectsWith(testWith({ ...cases[1].settings(), username: 'nobody-here' }, cases[1].secrets()), { stage: 'auth', permanent: true });
  });

  it('ftp with a wrong password fails at auth', async () => {
    await rejectsWith(testWith(cases[2].settings(), { password: 'wrong' }), { stage: 'auth', permanent: true, message: /check the username and password/ });
  });

  it('s3 with a wrong secret fails at auth', async () => {
    await rejectsWith(testWith(cases[3].settings(), { accessKeyId: s3.accessKeyId, password: 'wrong-secret' }), { stage: 'auth', permanent: true });
  });

  it('an unreachable port fails at connect and may be retried', async () => {
    const port = await freePort();
    const unreachable: Array<[DestinationSettings, DestinationSecrets]> = [
      [{ ...cases[1].settings(), port }, cases[1].secrets()],
      [{ ...cases[2].settings(), port }, cases[2].secrets()],
      [{ ...cases[3].settings(), endpoint: `http://127.0.0.1:${port}` }, cases[3].secrets()],
    ];
    for (const [settings, secrets] of unreachable) {
      await rejectsWith(testWith(settings, secrets), { stage: 'connect', permanent: false, message: /cannot connect to/ });
    }
  });

  it('a file destination whose base is not a folder fails at write', async () => {
    const notAFolder = path.join(fileRoot, 'plain-file');
    await writeFile(notAFolder, 'x');
    await rejectsWith(testWith({ protocol: 'file', path: notAFolder }, {}), { stage: 'write', permanent: true });
  });
});

describe('s3 large uploads', () => {
  it('a 12 MB body goes up in parts and reads back unchanged', async () => {
    const body = generatedBody(12 * MB, 7);
    await withTransfer(cases[3].settings(), cases[3].secrets(), async (transfer) => {
      const result = await transfer.put('large/recording.wav', body.stream);
      assert.equal(result.sizeBytes, 12 * MB);
      assert.equal(await sha256Of(await transfer.get('large/recording.wav')), body.sha256);
    });
  });
});
