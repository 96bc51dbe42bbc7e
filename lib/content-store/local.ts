// Content in a local folder (the zero-setup default). Objects are encrypted while they stream in and
// appear under their key only once complete: written to a temp file, flushed, then renamed.
import { randomUUID } from 'node:crypto';
import { close, createWriteStream, fstat, open, read, unlink, type NoParamCallback } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Keyring } from '../crypto/keys.js';
import { createDecrypter, createEncryptStream, type Decrypter } from '../crypto/stream-cipher.js';
import { BULK_CONCURRENCY, eachLimit } from './bulk.js';
import { createMeter } from '../meter.js';
import { checkObjectKey, newObjectKey } from './objects.js';
import { ContentMissingError, type ContentStore, type StoredObject } from './types.js';

export interface LocalContentStoreOptions { dir: string; keyring: Keyring; now?: () => Date }

export function createLocalContentStore(options: LocalContentStoreOptions): ContentStore {
  const root = path.resolve(options.dir);
  const fileOf = (key: string) => path.join(root, ...checkObjectKey(key).split('/'));

  return {
    async put(body: Readable, putOptions: { prefix?: string; key?: string } = {}): Promise<StoredObject> {
      const key = putOptions.key ? checkObjectKey(putOptions.key) : newObjectKey(putOptions.prefix, options.now?.());
      const file = fileOf(key);
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      // A caller-chosen key is rewritten by the retry of a job whose process died mid-write: the dead
      // write's temp file goes now instead of staying forever.
      if (putOptions.key) await removeUnfinishedWrites(file);
      const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
      const meter = createMeter();
      try {
        await pipeline(
          body,
          meter,
          createEncryptStream(options.keyring),
          createWriteStream(temp, { flags: 'wx', mode: 0o600, flush: true }),
        );
        await fs.rename(temp, file);
      } catch (err) {
        await fs.rm(temp, { force: true });
        throw err;
      }
      return { key, sizeBytes: meter.sizeBytes(), sha256: meter.sha256() };
    },

    async get(key: string): Promise<Readable> {
      // Opened first so a missing object fails here; read errors and failed authentication reach the
      // caller as errors of the returned stream.
      const { fd, size } = await openForReading(fileOf(key)).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'ENOENT' ? new ContentMissingError(key) : err;
      });
      return new DecryptingFileReader(fd, size, createDecrypter(options.keyring));
    },

    async remove(key: string): Promise<void> {
      await unlinkIfPresent(fileOf(key));
    },

    async removeMany(keys: readonly string[]): Promise<void> {
      const files = keys.map(fileOf);
      await eachLimit(files, BULK_CONCURRENCY, unlinkIfPresent);
    },

    async stillHeld(keys: readonly string[]): Promise<string[]> {
      const held: string[] = [];
      await eachLimit(keys.map((key) => ({ key, file: fileOf(key) })), 2 * BULK_CONCURRENCY, async ({ key, file }) => {
        if (await openable(file)) held.push(key);
      });
      return held;
    },

    async exists(key: string): Promise<boolean> {
      try {
        await fs.access(fileOf(key));
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
    },
  };
}

/** Bytes read from an object file at a time: a recording of a few hundred KB in one read, larger ones in
 *  blocks of 16 segments. */
const READ_BLOCK_BYTES = 1024 * 1024;

function openForReading(file: string): Promise<{ fd: number; size: number }> {
  return new Promise((resolve, reject) => open(file, 'r', (err, fd) => {
    if (err) return reject(err);
    fstat(fd, (statErr, stats) => {
      if (!statErr) return resolve({ fd, size: stats.size });
      close(fd, () => reject(statErr));
    });
  }));
}

/**
 * The plaintext of an object file: reads it in blocks sized to what is left (one read for most recordings;
 * the callback API, which costs a fraction of a FileHandle stream per read) and decrypts each block's
 * segments straight out of it. One stream instead of a file stream piped into a decrypting transform.
 */
class DecryptingFileReader extends Readable {
  private position = 0;
  /** Set while a read is in flight; destroying then waits for it before closing the descriptor. */
  private afterRead: (() => void) | undefined;
  private reading = false;

  constructor(private readonly fd: number, private readonly size: number, private readonly decrypter: Decrypter) {
    super();
  }

  override _read(): void {
    const left = this.size - this.position;
    if (left <= 0) { this.finish(); return; }
    const block = Buffer.allocUnsafeSlow(Math.min(left, READ_BLOCK_BYTES));
    this.reading = true;
    read(this.fd, block, 0, block.length, this.position, (err, bytesRead) => {
      this.reading = false;
      if (this.afterRead) { this.afterRead(); return; }
      if (this.destroyed) return;
      if (err) { this.destroy(err); return; }
      // A file shorter than it was when opened ends here; the decrypter reports the truncation.
      if (bytesRead === 0) { this.finish(); return; }
      this.position += bytesRead;
      try {
        const segments = this.decrypter.write(bytesRead === block.length ? block : block.subarray(0, bytesRead));
        if (segments.length === 0) { this._read(); return; }
        for (const segment of segments) this.push(segment);
      } catch (decryptErr) {
        this.destroy(decryptErr as Error);
      }
    });
  }

  private finish(): void {
    this.position = this.size;
    try {
      this.push(this.decrypter.end());
      this.push(null);
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const closeFd = () => close(this.fd, () => callback(err));
    if (this.reading) this.afterRead = closeFd;
    else closeFd();
  }
}

// The callback forms: an absent file is the common case here (erasure retries, read-back), and the
// promise API builds a full stack trace for every ENOENT, which made a remove cost about three times an
// unlink (fs.rm also stats first).
function unlinkIfPresent(file: string): Promise<void> {
  return new Promise((resolve, reject) => unlink(file, ignoreMissing(resolve, reject)));
}

/** Whether the file can be opened for reading (false when it does not exist). */
function openable(file: string): Promise<boolean> {
  return new Promise((resolve, reject) => open(file, 'r', (err, fd) => {
    if (err) return err.code === 'ENOENT' ? resolve(false) : reject(err);
    close(fd, (closeErr) => (closeErr ? reject(closeErr) : resolve(true)));
  }));
}

function ignoreMissing(resolve: () => void, reject: (err: Error) => void): NoParamCallback {
  return (err) => (err && err.code !== 'ENOENT' ? reject(err) : resolve());
}

async function removeUnfinishedWrites(file: string): Promise<void> {
  const prefix = `.${path.basename(file)}.`;
  const names = await fs.readdir(path.dirname(file));
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) await fs.rm(path.join(path.dirname(file), name), { force: true });
  }
}
