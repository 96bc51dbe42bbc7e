// Content in an S3 bucket (or an S3-compatible server). Objects are encrypted while they stream in and
// uploaded with lib-storage's Upload, which switches to multipart for big objects and buffers at most
// queueSize × partSize bytes, so recordings of any length pass through bounded memory.
import { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { pipeline as pipe, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Keyring } from '../crypto/keys.js';
import { createDecryptStream, createEncryptStream } from '../crypto/stream-cipher.js';
import { BULK_CONCURRENCY, eachLimit } from './bulk.js';
import { createMeter } from '../meter.js';
import { checkObjectKey, newObjectKey } from './objects.js';
import { ContentMissingError, type ContentStore, type StoredObject } from './types.js';

export interface S3ContentStoreOptions {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  /** When absent, the AWS SDK's default chain (AWS_ACCESS_KEY_ID…, profiles, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  keyring: Keyring;
  /** A client to share; otherwise one is made from the options above. */
  client?: S3Client;
  now?: () => Date;
}

const DELETE_OBJECTS_MAX = 1000;

export function createS3ContentStore(options: S3ContentStoreOptions): ContentStore {
  const { bucket, keyring } = options;
  const client = options.client ?? new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials: options.credentials,
  });

  return {
    async put(body: Readable, putOptions: { prefix?: string; key?: string } = {}): Promise<StoredObject> {
      const key = putOptions.key ? checkObjectKey(putOptions.key) : newObjectKey(putOptions.prefix, options.now?.());
      const meter = createMeter();
      const encrypted = createEncryptStream(keyring);
      const upload = new Upload({ client, params: { Bucket: bucket, Key: key, Body: encrypted } });
      const feeding = pipeline(body, meter, encrypted);
      const uploading = upload.done();
      try {
        await Promise.all([feeding, uploading]);
      } catch (err) {
        // Whichever side failed first, stop the other: a failed upload stops reading the source,
        // and a failed source must not leave the upload waiting for bytes (Upload then aborts the
        // multipart upload so no parts are left behind).
        encrypted.destroy(err as Error);
        await upload.abort();
        await Promise.allSettled([feeding, uploading]);
        throw err;
      }
      return { key, sizeBytes: meter.sizeBytes(), sha256: meter.sha256() };
    },

    async get(key: string): Promise<Readable> {
      let response;
      try {
        response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: checkObjectKey(key) }));
      } catch (err) {
        if (isNotFound(err)) throw new ContentMissingError(key);
        throw err;
      }
      // Read errors and failed authentication reach the caller as errors of the returned stream.
      const decrypt = createDecryptStream(keyring);
      pipe(response.Body as Readable, decrypt, () => {});
      return decrypt;
    },

    async remove(key: string): Promise<void> {
      // S3 answers 204 for a key that is already gone, which is what erasure retries need.
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: checkObjectKey(key) }));
    },

    async removeMany(keys: readonly string[]): Promise<void> {
      // DeleteObjects takes up to 1000 keys a request and, like DeleteObject, counts a missing key as deleted.
      const checked = keys.map(checkObjectKey);
      const chunks: string[][] = [];
      for (let i = 0; i < checked.length; i += DELETE_OBJECTS_MAX) chunks.push(checked.slice(i, i + DELETE_OBJECTS_MAX));
      await eachLimit(chunks, 4, async (chunk) => {
        const out = await client.send(new DeleteObjectsCommand({
          Bucket: bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
        }));
        const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (failed.length) {
          throw new Error(`S3 could not delete ${failed.length} of ${chunk.length} object(s) in bucket ${bucket}: ${failed[0].Code ?? '?'} ${failed[0].Message ?? ''}`.trim());
        }
      });
    },

    async stillHeld(keys: readonly string[]): Promise<string[]> {
      const held: string[] = [];
      await eachLimit(keys, BULK_CONCURRENCY, async (key) => {
        try {
          const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: checkObjectKey(key) }));
          (response.Body as Readable).destroy();
          held.push(key);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      });
      return held;
    },

    async exists(key: string): Promise<boolean> {
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: checkObjectKey(key) }));
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
  };
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
