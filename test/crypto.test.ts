import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, test } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { deriveKey, keyringOf, loadKeyring, loadMasterKey, type Keyring, type MasterKey } from '../lib/crypto/keys.js';
import { createDataConverterOptions, createPayloadCodec } from '../lib/crypto/payload-codec.js';
import { decryptSecret, encryptSecret } from '../lib/crypto/secrets.js';
import { createDecryptStream, createEncryptStream, SEGMENT_BYTES } from '../lib/crypto/stream-cipher.js';

const tmpRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'cc-jobs-crypto-'));
after(() => fs.rm(tmpRoot, { recursive: true, force: true }));

const newKey = (id: string): MasterKey => ({ id, key: randomBytes(32) });
const keyA = newKey('key-a');
const keyB = newKey('key-b');
const keyring = keyringOf(keyA);

/** Streams `data` through the transform in chunks of `chunkBytes`, collecting the output. */
async function through(transform: Transform, data: Buffer, chunkBytes = 16 * 1024): Promise<Buffer> {
  const chunks = function* () {
    for (let at = 0; at < data.length; at += chunkBytes) yield data.subarray(at, at + chunkBytes);
  };
  const out: Buffer[] = [];
  transform.on('data', (chunk: Buffer) => out.push(chunk));
  await pipeline(Readable.from(chunks()), transform);
  return Buffer.concat(out);
}

const encrypt = (data: Buffer, ring: Keyring = keyring, chunkBytes?: number) => through(createEncryptStream(ring), data, chunkBytes);
const decrypt = (data: Buffer, ring: Keyring = keyring, chunkBytes?: number) => through(createDecryptStream(ring), data, chunkBytes);

describe('master key', () => {
  test('is generated once in <dataDir>/keys/master.key (0600 in a 0700 folder) and reused after', async () => {
    const dataDir = path.join(tmpRoot, 'generated');
    const first = await loadMasterKey({ dataDir });
    const again = await loadMasterKey({ dataDir });
    assert.equal(first.key.length, 32);
    assert.match(first.id, /^[0-9a-f]{8}$/);
    assert.deepEqual(again, first);
    assert.equal((await fs.stat(path.join(dataDir, 'keys', 'master.key'))).mode & 0o777, 0o600);
    assert.equal((await fs.stat(path.join(dataDir, 'keys'))).mode & 0o777, 0o700);
  });

  test('processes racing to create it all end up with the same key', async () => {
    const dataDir = path.join(tmpRoot, 'raced');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadMasterKey({ dataDir })));
    for (const key of keys) assert.deepEqual(key, keys[0]);
    const leftovers = (await fs.readdir(path.join(dataDir, 'keys'))).filter((name) => name !== 'master.key');
    assert.deepEqual(leftovers, []);
  });

  test('MASTER_KEY wins over the file; its id defaults to the first 8 hex chars of its sha256', async () => {
    const raw = randomBytes(32);
    const key = await loadMasterKey({ dataDir: path.join(tmpRoot, 'unused'), masterKey: raw.toString('base64') });
    assert.deepEqual(key, { id: createHash('sha256').update(raw).digest('hex').slice(0, 8), key: raw });
    const named = await loadMasterKey({ dataDir: tmpRoot, masterKey: raw.toString('base64'), masterKeyId: 'prod-2025' });
    assert.equal(named.id, 'prod-2025');
    await assert.rejects(loadMasterKey({ dataDir: tmpRoot, masterKey: 'c2hvcnQ=' }), /must be 32 bytes.*found 5 bytes/);
  });

  test('the keyring finds previous keys by id and derives distinct keys per purpose', async () => {
    const ring = await loadKeyring({
      dataDir: tmpRoot,
      masterKey: keyB.key.toString('base64'),
      masterKeyId: keyB.id,
      previousKeys: `${keyA.id}:${keyA.key.toString('base64')}`,
    });
    assert.equal(ring.current.id, 'key-b');
    assert.deepEqual(ring.byId('key-a')?.key, keyA.key);
    assert.equal(ring.byId('nope'), undefined);
    const derived = (['payload', 'content', 'secrets'] as const).map((purpose) => deriveKey(keyA, purpose).toString('hex'));
    assert.equal(new Set([...derived, keyA.key.toString('hex')]).size, 4);
  });
});

describe('payload codec', () => {
  const codec = createPayloadCodec(keyring);
  const plaintext = 'CARDHOLDER-4111-1111-1111-1111';
  const payload = (): Payload => defaultPayloadConverter.toPayload({ note: plaintext, n: 42 });

  test('round-trips payloads, hiding the data and the original metadata', async () => {
    const [encoded] = await codec.encode([payload()]);
    assert.equal(Buffer.from(encoded.metadata!.encoding!).toString(), 'binary/encrypted');
    assert.equal(Buffer.from(encoded.metadata!['encryption-key-id']!).toString(), 'key-a');
    assert.equal(Buffer.from(encoded.data!).includes(plaintext), false);
    assert.equal(Buffer.from(encoded.data!).includes('json/plain'), false);
    const [decoded] = await codec.decode([encoded]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded), { note: plaintext, n: 42 });
  });

  test('passes payloads that are not encrypted through unchanged', async () => {
    const plain = payload();
    assert.deepEqual(await codec.decode([plain]), [plain]);
  });

  test('a payload under an unknown key id fails naming that id', async () => {
    const [encoded] = await createPayloadCodec(keyringOf(keyB)).encode([payload()]);
    await assert.rejects(codec.decode([encoded]), /master key id "key-b".*MASTER_KEY_PREVIOUS/);
  });

  test('after rotation, payloads under the previous key still decode', async () => {
    const [old] = await codec.encode([payload()]);
    const { payloadCodecs } = createDataConverterOptions(keyringOf(keyB, [keyA]));
    const [decoded] = await payloadCodecs![0].decode([old]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded), { note: plaintext, n: 42 });
  });

  test('an altered payload fails authentication', async () => {
    const [encoded] = await codec.encode([payload()]);
    encoded.data![20] ^= 1;
    await assert.rejects(codec.decode([encoded]), /failed authentication/);
  });
});

describe('stream cipher', () => {
  const sizes = { 'empty': 0, '1 byte': 1, 'exactly one segment': SEGMENT_BYTES, 'one segment and a byte': SEGMENT_BYTES + 1, '5 MB': 5_000_000 };
  for (const [name, size] of Object.entries(sizes)) {
    test(`round-trips ${name}`, async () => {
      const data = randomBytes(size);
      const sealed = await encrypt(data);
      assert.deepEqual(await decrypt(sealed), data);
    });
  }

  test('decrypts whatever the chunking of the ciphertext (byte by byte)', async () => {
    const data = randomBytes(300);
    assert.deepEqual(await decrypt(await encrypt(data, keyring, 7), keyring, 1), data);
  });

  test('a flipped byte anywhere fails authentication', async () => {
    const sealed = await encrypt(randomBytes(3 * SEGMENT_BYTES));
    for (const at of [10, 60, sealed.length >> 1, sealed.length - 1]) {
      const tampered = Buffer.from(sealed);
      tampered[at] ^= 0x80;
      await assert.rejects(decrypt(tampered), /failed authentication|header|master key id/, `byte ${at}`);
    }
  });

  test('truncation at a segment boundary or inside a segment fails', async () => {
    const sealed = await encrypt(randomBytes(3 * SEGMENT_BYTES + 100));
    const headerBytes = sealed.length - 3 * (SEGMENT_BYTES + 16) - (100 + 16);
    for (const length of [headerBytes + 2 * (SEGMENT_BYTES + 16), sealed.length - 1, headerBytes, 5]) {
      await assert.rejects(decrypt(sealed.subarray(0, length)), /truncated/, `length ${length}`);
    }
  });

  test('reordered segments fail authentication', async () => {
    const sealed = await encrypt(randomBytes(3 * SEGMENT_BYTES + 10));
    const seg = SEGMENT_BYTES + 16;
    const headerBytes = sealed.length - 3 * seg - 26;
    const swapped = Buffer.concat([
      sealed.subarray(0, headerBytes),
      sealed.subarray(headerBytes + seg, headerBytes + 2 * seg),
      sealed.subarray(headerBytes, headerBytes + seg),
      sealed.subarray(headerBytes + 2 * seg),
    ]);
    await assert.rejects(decrypt(swapped), /failed authentication at segment 0/);
  });

  test('content under an unknown key names the key; a previous key still decrypts', async () => {
    const sealed = await encrypt(Buffer.from('hello'));
    await assert.rejects(decrypt(sealed, keyringOf(keyB)), /master key id "key-a"/);
    assert.equal((await decrypt(sealed, keyringOf(keyB, [keyA]))).toString(), 'hello');
  });

  test('a 200 MB stream passes encrypt → decrypt with bounded memory', async () => {
    const total = 200 * 1024 * 1024;
    const block = randomBytes(SEGMENT_BYTES);
    await encrypt(randomBytes(10)); // warm up the cipher before the baseline
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 10);
    let produced = 0;
    let received = 0;
    const source = new Readable({
      read() {
        if (produced >= total) return this.push(null);
        produced += block.length;
        this.push(block);
      },
    });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (!chunk.equals(block.subarray(received % SEGMENT_BYTES, received % SEGMENT_BYTES + chunk.length))) {
          return callback(new Error(`plaintext differs at byte ${received}`));
        }
        received += chunk.length;
        callback();
      },
    });
    try {
      await pipeline(source, createEncryptStream(keyring), createDecryptStream(keyring), sink);
    } finally {
      clearInterval(sampler);
    }
    assert.equal(received, total);
    const growthMb = (peak - baseline) / 2 ** 20;
    assert.ok(growthMb < 64, `RSS grew by ${growthMb.toFixed(1)} MB`);
  });
});

describe('secrets', () => {
  test('round-trip as v1:<keyId>:<base64> tokens, previous keys included', () => {
    const token = encryptSecret(keyring, 'sftp p4ss wörd');
    assert.match(token, /^v1:key-a:[A-Za-z0-9+/=]+$/);
    assert.equal(token.includes('p4ss'), false);
    assert.equal(decryptSecret(keyring, token), 'sftp p4ss wörd');
    assert.equal(decryptSecret(keyringOf(keyB, [keyA]), token), 'sftp p4ss wörd');
    assert.notEqual(encryptSecret(keyring, 'same'), encryptSecret(keyring, 'same'));
  });

  test('altered, relabelled, unknown-key and non-token values fail clearly', () => {
    const token = encryptSecret(keyring, 'secret');
    const body = token.split(':')[2];
    const flipped = Buffer.from(body, 'base64');
    flipped[14] ^= 1;
    assert.throws(() => decryptSecret(keyring, `v1:key-a:${flipped.toString('base64')}`), /failed authentication/);
    assert.throws(() => decryptSecret(keyringOf(keyB, [newKey('key-a')]), token), /failed authentication/);
    assert.throws(() => decryptSecret(keyringOf(keyB), token), /master key id "key-a"/);
    assert.throws(() => decryptSecret(keyring, 'hunter2'), /Not an encrypted secret token/);
  });
});
