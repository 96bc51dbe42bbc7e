// Content in a local folder (the zero-setup default). Objects are encrypted while they stream in and
// appear under their key only once complete: written to a temp file, flushed, then renamed.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pipeline as pipe, type Readable } from 'node:stream';
import type { Keyring } from '../crypto/keys.js';
import { createDecryptStream, createEncryptStream } from '../crypto/stream-cipher.js';
import { checkObjectKey, createMeter, newObjectKey } from './objects.js';
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
      await fs.rm(fileOf(key), { force: true });
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

async function removeUnfinishedWrites(file: string): Promise<void> {
  const prefix = `.${path.basename(file)}.`;
  const names = await fs.readdir(path.dirname(file));
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) await fs.rm(path.join(path.dirname(file), name), { force: true });
  }
}
