// Interaction content at rest: a local folder (default) or an S3 bucket, always encrypted with the
// streaming cipher of lib/crypto/stream-cipher.ts. Size and SHA-256 are of the plaintext.
import type { Readable } from 'node:stream';

export interface StoredObject { key: string; sizeBytes: number; sha256: string }

export interface ContentStore {
  /**
   * Encrypts and stores the stream under a new key; resolves with the plaintext size and SHA-256. With
   * `key` (a key this store could hand out), the object is stored under it, replacing any object there
   * only once complete: a job retried after a crash rewrites the same key instead of orphaning an object.
   */
  put(body: Readable, options?: { prefix?: string; key?: string }): Promise<StoredObject>;
  /** A stream of the decrypted plaintext; fails (ContentMissingError) if the object is gone. */
  get(key: string): Promise<Readable>;
  /** Deletes the object; deleting a missing object is not an error (erasure retries). */
  remove(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Deletes many objects (missing ones are not an error); the stores do it in bulk. Optional: without
   *  it, removeAll() removes one key at a time. */
  removeMany?(keys: readonly string[]): Promise<void>;
  /** Of these keys, the ones whose object can still be opened for reading (erasure's read-back).
   *  Optional: without it, stillHeld() calls get() per key. */
  stillHeld?(keys: readonly string[]): Promise<string[]>;
}

export class ContentMissingError extends Error {
  constructor(readonly key: string) {
    super(`content object ${key} is missing from the content store`);
    this.name = 'ContentMissingError';
  }
}
