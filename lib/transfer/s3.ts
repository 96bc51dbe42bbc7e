// Amazon S3 and S3-compatible destinations (MinIO, Ceph, …). Objects appear whole when the upload completes,
// so no temporary name is needed; large bodies go up in parts without being held in memory.
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable, Transform } from 'node:stream';
import { errorMessage } from '../../shared/error-message.js';
import { classifyFailure, isNetworkFailure } from '../failures.js';
import { normalizeRelativePath, probeFileName, sourceFailure } from './paths.js';
import { TransferError, type DestinationSecrets, type DestinationSettings, type ListedFile, type PutOptions, type PutResult, type Transfer } from './types.js';

const CONNECT_TIMEOUT_MS = 10_000;
const PART_SIZE_BYTES = 5 * 1024 * 1024; // S3's minimum part size; with queueSize 2 at most ~3 parts are in memory
/** A body that ends within this many bytes goes up as one PutObject (one request, as a plain upload loop
 *  makes); a longer one in parts of PART_SIZE_BYTES. */
const SINGLE_PUT_MAX_BYTES = 8 * 1024 * 1024;
const AUTH_ERROR_NAMES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidClientTokenId', 'AccessDenied', 'ExpiredToken', 'InvalidToken']);

/** Counts bytes as they stream past, so put can report the size without buffering or a second request. */
function byteCounter(): Transform & { bytes: number } {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counter.bytes += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { bytes: number };
  counter.bytes = 0;
  return counter;
}

/** The start of a stream, read until it ends or passes `max` bytes (then paused, the rest left in it). */
function readStart(body: Readable, max: number): Promise<{ chunks: Buffer[]; bytes: number; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const settle = (outcome: () => void) => {
      body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes > max) { body.pause(); settle(() => resolve({ chunks, bytes, ended: false })); }
    };
    const onEnd = () => settle(() => resolve({ chunks, bytes, ended: true }));
    const onError = (err: Error) => settle(() => reject(err));
    const onClose = () => settle(() => reject(sourceFailure(body) ?? new Error('the source stream closed before its end')));
    body.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

export function openS3Transfer(settings: DestinationSettings, secrets: DestinationSecrets): Transfer {
  const bucket = settings.bucket ?? '';
  const prefix = (settings.path ?? '').split('/').filter(Boolean).join('/');
  const accessKeyId = secrets.accessKeyId || settings.username || '';
  const server = settings.endpoint ? `${settings.endpoint} bucket ${bucket}` : `s3://${bucket}`;
  const client = new S3Client({
    region: settings.region || 'us-east-1',
    endpoint: settings.endpoint || undefined,
    forcePathStyle: settings.forcePathStyle ?? Boolean(settings.endpoint),
    credentials: accessKeyId ? { accessKeyId, secretAccessKey: secrets.password ?? '' } : undefined,
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: 60_000 },
    // Checksums only where S3 requires them: many S3-compatible servers reject the newer default trailers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

  // A body whose SHA-256 the caller gave (put's `sha256`) is signed with it instead of being hashed again, and
  // S3 refuses the object if the bytes it received do not match it.
  const payloadHashes = new WeakMap<object, string>();
  client.middlewareStack.add((next) => async (args) => {
    const request = args.request as { body?: unknown; headers?: Record<string, string> };
    const sha256 = request.body && typeof request.body === 'object' ? payloadHashes.get(request.body) : undefined;
    if (sha256 && request.headers) request.headers['x-amz-content-sha256'] = sha256;
    return next(args);
  }, { step: 'build', name: 'callerPayloadHash' });

  const keyOf = (rel: string) => (prefix && rel ? `${prefix}/${rel}` : prefix || rel);

  function s3Error(err: unknown, what: string, stage: TransferError['stage']): TransferError {
    if (err instanceof TransferError) return err;
    const name = (err as { name?: string }).name ?? '';
    if (AUTH_ERROR_NAMES.has(name)) {
      return new TransferError(
        `authentication to ${server} as ${accessKeyId} failed (${name}): check the access key id, the secret and that the key may use this bucket`,
        'auth', true, { cause: err });
    }
    if (name === 'CredentialsProviderError') {
      return new TransferError(
        `no credentials for ${server}: set the access key id and secret on the destination (or give this process an AWS role)`,
        'auth', true, { cause: err });
    }
    if (name === 'NoSuchBucket') {
      return new TransferError(`bucket ${bucket} does not exist at ${settings.endpoint ?? 'AWS'}: check the bucket name and region`, stage, true, { cause: err });
    }
    if (!(err instanceof S3ServiceException) && (isNetworkFailure(err) || name === 'TimeoutError')) {
      return new TransferError(
        `cannot connect to ${server}: ${errorMessage(err)}; check the endpoint and that the server accepts connections from here`,
        'connect', false, { cause: err });
    }
    return new TransferError(`${what} on ${server} failed: ${name} ${errorMessage(err)}`, stage, classifyFailure('s3', err) === 'permanent', { cause: err });
  }

  async function put(relative: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const rel = normalizeRelativePath(relative);
    const key = keyOf(rel);
    const location = `s3://${bucket}/${key}`;
    try {
      const start = await readStart(body, SINGLE_PUT_MAX_BYTES);
      if (start.ended) {
        const data = start.chunks.length === 1 ? start.chunks[0] : Buffer.concat(start.chunks, start.bytes);
        const sha256 = options.sha256?.();
        if (sha256) payloadHashes.set(data, sha256);
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data, ContentLength: data.length, ContentType: options.contentType }));
        return { path: rel, location, sizeBytes: data.length };
      }
      // Longer: in parts, from the bytes read so far and then the rest of the stream.
      const counter = byteCounter();
      const whole = Readable.from((async function* () {
        yield* start.chunks;
        yield* body;
      })());
      whole.on('error', (err) => counter.destroy(err));
      try {
        await new Upload({
          client,
          params: { Bucket: bucket, Key: key, Body: whole.pipe(counter), ContentType: options.contentType },
          partSize: PART_SIZE_BYTES,
          queueSize: 2,
        }).done();
      } finally {
        whole.destroy();
      }
      return { path: rel, location, sizeBytes: counter.bytes };
    } catch (err) {
      throw sourceFailure(body) ?? s3Error(err, `writing ${key}`, 'write');
    }
  }

  async function get(relative: string): Promise<Readable> {
    const key = keyOf(normalizeRelativePath(relative));
    try {
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Body as Readable;
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') {
        throw new TransferError(`object s3://${bucket}/${key} does not exist: check the path`, 'read', true, { cause: err });
      }
      throw s3Error(err, `reading ${key}`, 'read');
    }
  }

  async function list(dir: string): Promise<ListedFile[]> {
    const rel = normalizeRelativePath(dir, { allowEmpty: true });
    const folderKey = keyOf(rel);
    const listPrefix = folderKey ? `${folderKey}/` : '';
    const files: ListedFile[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: listPrefix, Delimiter: '/', ContinuationToken: token }));
        for (const object of page.Contents ?? []) {
          const name = object.Key!.slice(listPrefix.length);
          if (!name) continue; // a "folder marker" object
          files.push({ name, path: rel ? `${rel}/${name}` : name, sizeBytes: object.Size ?? 0, modifiedAt: object.LastModified });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw s3Error(err, `listing ${listPrefix}`, 'list');
    }
    return files;
  }

  async function remove(relative: string): Promise<void> {
    const key = keyOf(normalizeRelativePath(relative));
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      throw s3Error(err, `removing ${key}`, 'remove');
    }
  }

  async function test(): Promise<void> {
    if (!bucket) throw new TransferError('the s3 destination needs a bucket', 'connect', true);
    try {
      // Listing one key proves the endpoint answers and the credentials are accepted, without writing.
      await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
    } catch (err) {
      throw s3Error(err, `listing bucket ${bucket}`, 'connect');
    }
    const probe = probeFileName();
    try {
      await put(probe, Readable.from([Buffer.from('connection test\n')]), { contentType: 'text/plain' });
      await remove(probe);
    } catch (err) {
      const cause = err instanceof TransferError ? err.cause ?? err : err;
      throw new TransferError(
        `cannot write to s3://${bucket}/${prefix} as ${accessKeyId}: ${errorMessage(err)}; check that the key may put and delete objects in this bucket`,
        'write', !(err instanceof TransferError) || err.permanent, { cause });
    }
  }

  async function close(): Promise<void> {
    client.destroy();
  }

  return { put, get, list, remove, test, close };
}
