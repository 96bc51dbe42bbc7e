// Streaming authenticated encryption for content at rest (recordings, screen recordings, attachments).
// The STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015) over AES-256-GCM, laid out like
// Tink's AES-GCM-HKDF streaming AEAD:
//
//   header   = "CCJ1" | version (1 byte, = 1) | key id length (1 byte) | key id (ASCII)
//              | salt (16 random bytes) | nonce prefix (7 random bytes)
//   segments = ciphertext | tag (16 bytes), each of SEGMENT_BYTES (64 KiB) of plaintext except the
//              last, which holds 0..64 KiB and is always present (an empty stream has one empty segment)
//
// Segment key = HKDF-SHA256(the master key's 'content' key, salt, "cc-jobs:content-stream"), fresh per
// stream, so random nonces never repeat under one key. Segment nonce = prefix | segment number (uint32
// BE) | last flag (1 byte, 1 on the final segment only); the header is each segment's associated data.
// Reordered, dropped or truncated segments and an altered header therefore fail authentication, and the
// decrypter emits a segment only after its tag verifies: no unauthenticated plaintext ever leaves it.
// Memory stays at about one segment per stream whatever the content size.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ByteQueue } from './byte-queue.js';
import { deriveKey, type Keyring, type MasterKey } from './keys.js';

export const SEGMENT_BYTES = 64 * 1024;
const MAGIC = Buffer.from('CCJ1');
const VERSION = 1;
const SALT_BYTES = 16;
const PREFIX_BYTES = 7;
const TAG_BYTES = 16;
const SEALED_SEGMENT_BYTES = SEGMENT_BYTES + TAG_BYTES;
const MAX_SEGMENTS = 2 ** 32;

export class StreamCipherError extends Error {
  override name = 'StreamCipherError';
}

interface StreamState { key: Buffer; prefix: Buffer; header: Buffer; segment: number }

export function createEncryptStream(keyring: Keyring): Transform {
  const master = keyring.current;
  const salt = randomBytes(SALT_BYTES);
  const prefix = randomBytes(PREFIX_BYTES);
  const id = Buffer.from(master.id, 'ascii');
  if (id.length === 0 || id.length > 255) throw new StreamCipherError(`Master key id "${master.id}" must be 1-255 ASCII characters.`);
  const header = Buffer.concat([MAGIC, Buffer.from([VERSION, id.length]), id, salt, prefix]);
  const state: StreamState = { key: segmentKey(master, salt), prefix, header, segment: 0 };
  const pending = new ByteQueue();
  let headerSent = false;
  const sendHeader = (stream: Transform) => {
    if (!headerSent) stream.push(header);
    headerSent = true;
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        sendHeader(this);
        pending.push(chunk);
        // Strictly more than a segment: the final segment must be the last one, so hold a full one back.
        while (pending.length > SEGMENT_BYTES) this.push(seal(state, pending.take(SEGMENT_BYTES), false));
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        sendHeader(this);
        callback(null, seal(state, pending.take(pending.length), true));
      } catch (err) {
        callback(err as Error);
      }
    },
  });
}

/**
 * The decrypting core without a stream around it, for readers that have the ciphertext in hand (the local
 * content store reads a file in large blocks): `write` takes ciphertext in chunks of any size and returns the
 * plaintext of every segment that is complete and authenticated; `end` returns the final segment, or throws
 * if the content is truncated. Segments are decrypted straight out of the chunks given (no copy unless a
 * segment spans two chunks). Throws StreamCipherError on anything that does not authenticate.
 */
export interface Decrypter {
  write(chunk: Buffer): Buffer[];
  end(): Buffer;
}

export function createDecrypter(keyring: Keyring): Decrypter {
  const pending = new ByteQueue();
  let state: StreamState | undefined;
  return {
    write(chunk) {
      pending.push(chunk);
      state ??= readHeader(pending, keyring);
      const out: Buffer[] = [];
      if (state) {
        while (pending.length > SEALED_SEGMENT_BYTES) out.push(open(state, pending.take(SEALED_SEGMENT_BYTES), false));
      }
      return out;
    },
    end() {
      if (!state) throw new StreamCipherError('Encrypted content ends inside its header: the object is truncated.');
      if (pending.length < TAG_BYTES) throw new StreamCipherError('Encrypted content ends inside a segment: the object is truncated.');
      return open(state, pending.take(pending.length), true);
    },
  };
}

export function createDecryptStream(keyring: Keyring): Transform {
  const decrypter = createDecrypter(keyring);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        for (const plain of decrypter.write(chunk)) this.push(plain);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        callback(null, decrypter.end());
      } catch (err) {
        callback(err as Error);
      }
    },
  });
}

function segmentKey(master: MasterKey, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', deriveKey(master, 'content'), salt, 'cc-jobs:content-stream', 32));
}

function nextNonce(state: StreamState, last: boolean): Buffer {
  if (state.segment >= MAX_SEGMENTS) throw new StreamCipherError('Content is too large for one encrypted stream (2^32 segments).');
  const nonce = Buffer.alloc(PREFIX_BYTES + 5);
  state.prefix.copy(nonce, 0);
  nonce.writeUInt32BE(state.segment, PREFIX_BYTES);
  nonce[PREFIX_BYTES + 4] = last ? 1 : 0;
  state.segment += 1;
  return nonce;
}

function seal(state: StreamState, plain: Buffer, last: boolean): Buffer {
  const cipher = createCipheriv('aes-256-gcm', state.key, nextNonce(state, last));
  cipher.setAAD(state.header);
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function open(state: StreamState, sealed: Buffer, last: boolean): Buffer {
  const segment = state.segment;
  const decipher = createDecipheriv('aes-256-gcm', state.key, nextNonce(state, last));
  decipher.setAAD(state.header);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    const plain = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    // GCM's final() only checks the tag (it returns no bytes): no copy to join them.
    const rest = decipher.final();
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch {
    throw new StreamCipherError(
      `Encrypted content failed authentication at segment ${segment}: it was truncated, reordered or altered.`,
    );
  }
}

/** The stream state once the whole header is buffered; undefined while more bytes are needed. */
function readHeader(pending: ByteQueue, keyring: Keyring): StreamState | undefined {
  const fixed = MAGIC.length + 2;
  if (pending.length < fixed) return undefined;
  const start = pending.peek(fixed);
  if (!start.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new StreamCipherError('Content does not start with the CCJ1 header: it is not encrypted content of this platform.');
  }
  const version = start[MAGIC.length];
  if (version !== VERSION) throw new StreamCipherError(`Encrypted content has format version ${version}; this build reads version ${VERSION}.`);
  const idLength = start[MAGIC.length + 1];
  const total = fixed + idLength + SALT_BYTES + PREFIX_BYTES;
  if (pending.length < total) return undefined;
  // A copy: the stream keeps it (each segment's associated data), not the block it was read in.
  const header = Buffer.from(pending.take(total));
  const id = header.subarray(fixed, fixed + idLength).toString('ascii');
  const master = keyring.byId(id);
  if (!master) {
    throw new StreamCipherError(
      `Encrypted content uses master key id "${id}", which this process does not have; ` +
        `add it to MASTER_KEY_PREVIOUS as "${id}:<base64 key>" (current key id is "${keyring.current.id}").`,
    );
  }
  const salt = header.subarray(fixed + idLength, fixed + idLength + SALT_BYTES);
  const prefix = header.subarray(total - PREFIX_BYTES);
  return { key: segmentKey(master, salt), prefix, header, segment: 0 };
}
