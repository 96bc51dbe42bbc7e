// Content in a local folder (the zero-setup default). Objects are encrypted while they stream in and
// appear under their key only once complete: written to a temp file, flushed, then renamed.
import { randomUUID } from 'node:crypto';
import { close, createWriteStream, open, unlink, type NoParamCallback } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pipeline as pipe, type Readable } from 'node:stream';
import type { Keyring } from '../crypto/keys.js';
import { createDecryptStream, createEncryptStream } from '../crypto/stream-cipher.js';
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
      let handle: fs.FileHandle;
      try {
        handle = await fs.open(fileOf(key), 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ContentMissingError(key);
        throw err;
      }
      // Opened first so a missing object fails here; read errors and failed authentication reach the
      // caller as errors of the returned stream (pipeline destroys every stream with the first error).
      const decrypt = createDecryptStream(options.keyring);
      pipe(handle.createReadStream({ highWaterMark: 64 * 1024 }), decrypt, () => {});
      return decrypt;
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
