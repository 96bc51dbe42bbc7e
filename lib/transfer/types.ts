// One small interface over every transfer protocol. Jobs never branch on the protocol: they get a
// Transfer from `openTransfer(destination)` and use these five verbs. Paths are relative to the
// destination's base path and always use '/'.
import type { Readable } from 'node:stream';

export type Protocol = 'file' | 'sftp' | 'ftp' | 's3';

export interface DestinationSettings {
  protocol: Protocol;
  host?: string;
  port?: number;
  path?: string;            // base folder (or key prefix for s3)
  username?: string;
  bucket?: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  /** ftp: TLS ("explicit": AUTH TLS on the plain port, "implicit": TLS from the first byte, port 990 by default);
   *  unset: plain FTP, password in clear. */
  tls?: 'explicit' | 'implicit';
  /** ftp with tls: PEM certificate(s) trusted for the server (a private CA or the server's self-signed certificate). */
  tlsCa?: string;
  /** ftp with tls: false accepts any certificate (encrypts, but anyone on the path can pose as the server). */
  tlsRejectUnauthorized?: boolean;
  /** sftp: the server's host key, "SHA256:<base64>" as `ssh-keygen -lf` prints it. Unset: learned (and stored)
   *  on the first connection; a different key afterwards is refused. */
  hostKeyFingerprint?: string;
}

/** What a transfer's owner (lib/destinations.ts) gives it: where a file destination is confined, and a hook for
 *  what it learns while it works. */
export interface TransferHooks {
  /** sftp, trust on first use: called with the host key met on a connection to a destination with no pinned
   *  key, before authenticating; stores it unless another is pinned by then, and returns the pinned one. */
  pinHostKey?(fingerprint: string): Promise<string>;
  /** file: the folder every file must really lie in (FILE_DESTINATION_ROOT); unset: unconfined (tests, tools). */
  fileRoot?: string;
}

export interface DestinationSecrets {
  password?: string;        // sftp/ftp password, or the S3 secret access key
  privateKey?: string;      // sftp private key (PEM / OpenSSH)
  accessKeyId?: string;     // s3 (username is accepted as the access key id too)
}

export interface PutResult {
  path: string;             // the relative path written
  location: string;         // a URL-ish location (s3://bucket/key, sftp://host/path, file:///abs)
  sizeBytes: number;
}

export interface ListedFile { name: string; path: string; sizeBytes: number; modifiedAt?: Date }

/** Which step of a connection test failed: connect, auth, or write. */
export type TestStage = 'connect' | 'auth' | 'write';

export class TransferError extends Error {
  constructor(message: string, readonly stage: TestStage | 'read' | 'list' | 'remove', readonly permanent: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransferError';
  }
}

export interface PutOptions {
  sizeBytes?: number;
  contentType?: string;
  /** The body's SHA-256 (hex), for a caller that hashes the body as it streams: called once the body has
   *  ended. S3 signs the upload with it instead of hashing the bytes again (and refuses them if they differ). */
  sha256?: () => string;
}

export interface Transfer {
  /** Streams `body` to `path` (parent folders created). Writes to a temporary name and renames where the
   *  protocol allows, so a reader never sees a half-written file under the final name. */
  put(path: string, body: Readable, options?: PutOptions): Promise<PutResult>;
  get(path: string): Promise<Readable>;
  list(dir: string): Promise<ListedFile[]>;
  remove(path: string): Promise<void>;
  /** Checks connection, authentication and write access (writes and removes a small probe file). */
  test(): Promise<void>;
  close(): Promise<void>;
}
