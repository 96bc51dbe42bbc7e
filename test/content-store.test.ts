import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { keyringOf } from '../lib/crypto/keys.js';
import { createContentStore } from '../lib/content-store/index.js';
import { ContentMissingError, type ContentStore } from '../lib/content-store/types.js';
import { startS3, type S3Server } from './harness/servers/s3.js';

const tmpRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'cc-jobs-content-'));
after(() => fs.rm(tmpRoot, { recursive: true, force: true }));

const keyring = keyringOf({ id: 'content-test', key: randomBytes(32) });
// A recognizable plaintext: if any stretch of it reached the disk in clear, the search below finds it.
const MARKER = 'PLAINTEXT-MARKER-0123456789-';
const plaintext = Buffer.from(MARKER.repeat(40_000)); // ~1.1 MB: several segments

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const chunked = (data: Buffer, size = 100_000) =>
  Readable.from((function* () { for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size); })());

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The behaviours every content store shares, whatever the backend. */
function behavesLikeAContentStore(open: () => ContentStore | Promise<ContentStore>) {
  test('put then get round-trips the plaintext; size and sha256 are of the plaintext', async () => {
    const store = await open();
    const stored = await store.put(chunked(plaintext), { prefix: 'recordings' });
    assert.equal(stored.sizeBytes, plaintext.length);
    assert.equal(stored.sha256, sha256(plaintext));
    assert.match(stored.key, /^recordings\/\d{4}\/\d{2}\/[0-9a-f-]{36}\.enc$/);
    assert.equal(await store.exists(stored.key), true);
    assert.deepEqual(await readAll(await store.get(stored.key)), plaintext);
  });

  test('an empty body is stored and read back as empty', async () => {
    const store = await open();
    const stored = await store.put(Readable.from([]));
    assert.deepEqual([stored.sizeBytes, stored.sha256], [0, sha256(Buffer.alloc(0))]);
    assert.equal((await readAll(await store.get(stored.key))).length, 0);
  });

  test('a removed object is gone: get fails with ContentMissingError, and removing it again is fine', async () => {
    const store = await open();
    const { key } = await store.put(chunked(Buffer.from('short-lived')));
    await store.remove(key);
    assert.equal(await store.exists(key), false);
    await assert.rejects(store.get(key), (err: unknown) => err instanceof ContentMissingError && err.key === key);
    await store.remove(key);
  });

  test('a failing source stores nothing and rejects put', async () => {
    const store = await open();
    const failing = Readable.from((async function* () {
      yield Buffer.from(MARKER);
      throw new Error('source broke');
    })());
    await assert.rejects(store.put(failing), /source broke/);
  });
}

describe('local content store', () => {
  const dir = path.join(tmpRoot, 'local');
  const open = () => createContentStore({ kind: 'local', dir, keyring });
  behavesLikeAContentStore(open);

  test('files on disk hold only ciphertext, and no temp files are left behind', async () => {
    const { key } = await open().put(chunked(plaintext), { prefix: 'screens' });
    const onDisk = await fs.readFile(path.join(dir, ...key.split('/')));
    assert.equal(onDisk.subarray(0, 4).toString(), 'CCJ1');
    assert.equal(onDisk.includes(MARKER.slice(0, 16)), false);
    const files = await fs.readdir(dir, { recursive: true });
    assert.deepEqual(files.filter((name) => name.endsWith('.tmp')), []);
  });

  test('a tampered file fails on read instead of returning altered content', async () => {
    const store = open();
    const { key } = await store.put(chunked(plaintext));
    const file = path.join(dir, ...key.split('/'));
    const bytes = await fs.readFile(file);
    bytes[bytes.length >> 1] ^= 1;
    await fs.writeFile(file, bytes);
    await assert.rejects(readAll(await store.get(key)), /failed authentication/);
  });

  test('keys that could escape the store folder are refused', async () => {
    await assert.rejects(open().get('../outside.enc'), /not a key this store hands out/);
    await assert.rejects(open().put(chunked(plaintext), { prefix: '../up' }), /prefix/);
  });
});

describe('s3 content store', () => {
  const bucket = `content-${randomBytes(4).toString('hex')}`;
  let server: S3Server;
  let client: S3Client;
  before(async () => {
    server = await startS3();
    await server.createBucket(bucket);
    client = new S3Client({
      endpoint: server.endpoint, region: server.region, forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
  });
  const open = () => createContentStore({ kind: 's3', bucket, region: server.region, keyring, client });
  behavesLikeAContentStore(open);

  test('objects in the bucket hold only ciphertext, uploaded in parts when large', async () => {
    const big = Buffer.concat([plaintext, plaintext, plaintext, plaintext, plaintext, plaintext]); // ~6.7 MB > one 5 MB part
    const stored = await open().put(chunked(big), { prefix: 'recordings' });
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: stored.key }));
    const raw = Buffer.from(await object.Body!.transformToByteArray());
    assert.equal(raw.subarray(0, 4).toString(), 'CCJ1');
    assert.equal(raw.includes(MARKER.slice(0, 16)), false);
    assert.equal(stored.sha256, sha256(big));
    assert.deepEqual(await readAll(await open().get(stored.key)), big);
  });
});
