// SFTP destinations (OpenSSH and compatible servers), password or private-key authentication. The server's
// host key is checked before any credential is sent: against the destination's pinned fingerprint, or, when
// none is pinned yet, it is pinned through the owner's hook (trust on first use).
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client as Ssh2Client, SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { errorMessage } from '../../shared/error-message.js';
import { classifyFailure } from '../failures.js';
import { isTemporaryName, joinBase, normalizeRelativePath, oneWriterPer, sourceFailure, temporaryNameFor, testServerWrite } from './paths.js';
import { TransferError, type DestinationSecrets, type DestinationSettings, type ListedFile, type PutResult, type Transfer, type TransferHooks } from './types.js';

const CONNECT_TIMEOUT_MS = 10_000;

interface Session { client: SftpClient; sftp: SFTPWrapper; base: string }

function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 2 || code === 'ENOENT' || /no such file/i.test(errorMessage(err));
}

/** Waits for a stream's 'close', destroying it if that takes longer than `timeoutMs`. */
function closedOrDestroyed(stream: Readable, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { stream.destroy(); resolve(); }, timeoutMs);
    stream.once('close', () => { clearTimeout(timer); resolve(); });
  });
}

/** WRITE requests a file may have in flight at once: OpenSSH's `sftp` keeps up to 64 outstanding; a file
 *  here waits for none of its writes until it closes, up to this many (× the source's chunk, 64 KiB for
 *  decrypted content), instead of one round trip per chunk. */
const WRITES_IN_FLIGHT = 16;
/** Smaller chunks (a CSV stream yields one per row) are gathered up to this size into one WRITE. */
const MIN_WRITE_BYTES = 32 * 1024;

/**
 * Writes a stream to an open remote handle at increasing offsets without waiting for each WRITE's status
 * (the status of every write is still checked: the first failure fails the stream, and 'finish' comes only
 * after the server has acknowledged every byte). The handle is the caller's to close.
 */
class PipelinedWrite extends Writable {
  bytes = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private onAck: (() => void) | undefined;
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;

  constructor(private readonly sftp: SFTPWrapper, private readonly handle: Buffer) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.failure) { callback(this.failure); return; }
    this.gathered.push(chunk);
    this.gatheredBytes += chunk.length;
    if (this.gatheredBytes < MIN_WRITE_BYTES) { callback(); return; }
    this.send();
    if (this.inFlight < WRITES_IN_FLIGHT) { callback(); return; }
    this.onAck = () => { this.onAck = undefined; callback(this.failure); };
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.gatheredBytes > 0 && !this.failure) this.send();
    const settle = () => {
      if (this.inFlight > 0 && !this.failure) { this.onAck = settle; return; }
      this.onAck = undefined;
      callback(this.failure);
    };
    settle();
  }

  private send(): void {
    const data = this.gathered.length === 1 ? this.gathered[0] : Buffer.concat(this.gathered, this.gatheredBytes);
    this.gathered = [];
    this.gatheredBytes = 0;
    const at = this.bytes;
    this.bytes += data.length;
    this.inFlight++;
    this.sftp.write(this.handle, data, 0, data.length, at, (err) => {
      this.inFlight--;
      if (err) this.failure ??= err;
      this.onAck?.();
    });
  }
}

/** A host key's fingerprint as OpenSSH prints it (`ssh-keygen -lf`): "SHA256:" and unpadded base64. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export function openSftpTransfer(settings: DestinationSettings, secrets: DestinationSecrets, hooks: TransferHooks = {}): Transfer {
  const host = settings.host ?? '';
  const port = settings.port ?? 22;
  const username = settings.username ?? '';
  const server = `sftp://${host}:${port}`;
  let session: Promise<Session> | undefined;
  let liveClient: SftpClient | undefined;
  /** Download streams still open; close() lets them release their remote handles before ending the session. */
  const reading = new Set<Readable>();

  let pinned = settings.hostKeyFingerprint;
  /** Set when the server presented a key other than the pinned one. */
  let refusedKey: { presented: string; pinned: string } | undefined;

  /** ssh2 calls this before authenticating; false ends the connection with nothing sent. */
  function verifyHostKey(key: Buffer, verify: (ok: boolean) => void): void {
    const presented = hostKeyFingerprint(key);
    const decide = (expected: string) => {
      pinned = expected;
      if (expected !== presented) refusedKey = { presented, pinned: expected };
      verify(expected === presented);
    };
    if (pinned) decide(pinned);
    else if (hooks.pinHostKey) hooks.pinHostKey(presented).then(decide, () => verify(false));
    else verify(true);  // a transfer opened without an owner (tests, one-off tools) pins nothing
  }

  function connectError(err: unknown): TransferError {
    if (refusedKey) {
      return new TransferError(
        `the host key of ${server} is ${refusedKey.presented}, but this destination pins ${refusedKey.pinned}; nothing was sent. ` +
          'If the server\'s key was replaced on purpose, confirm the new fingerprint with its administrator and set hostKeyFingerprint ' +
          'to it (PATCH /destinations/{id}, with the password or private key); otherwise someone may be posing as the server',
        'connect', true, { cause: err });
    }
    const message = errorMessage(err);
    const permanent = classifyFailure('sftp', err) === 'permanent';
    if (permanent && /authentication methods failed|cannot parse privateKey|no .*authentication method/i.test(message)) {
      return new TransferError(
        `authentication to ${server} as ${username} failed: check the username and password/key (${message})`, 'auth', true, { cause: err });
    }
    return new TransferError(
      `cannot connect to ${server}: ${message}; check the host and port and that the server accepts connections from here`,
      'connect', permanent, { cause: err });
  }

  async function establish(): Promise<Session> {
    if (!host || !username) {
      throw new TransferError(`the sftp destination needs a host and a username (found host "${host}", username "${username}")`, 'connect', true);
    }
    // A dropped connection is forgotten so the next call reconnects instead of failing forever; a late event
    // from an older connection must not forget its replacement.
    const forget = () => { if (liveClient === client) { session = undefined; liveClient = undefined; } };
    const client: SftpClient = new SftpClient('transfer', { error: forget, end: forget, close: forget });
    // Nagle's algorithm holds each small packet back until the server's delayed ACK (~40 ms on Linux): that
    // cost ~0.35 s per connection (the handshake is a dozen small exchanges) and several round trips per
    // file. Packets go out at once instead.
    const ssh = (client as unknown as { client: Ssh2Client }).client;
    ssh.on('connect', () => ssh.setNoDelay(true));
    let sftp: SFTPWrapper;
    refusedKey = undefined;
    try {
      sftp = await client.connect({
        host, port, username,
        password: secrets.password,
        privateKey: secrets.privateKey,
        readyTimeout: CONNECT_TIMEOUT_MS,
        hostVerifier: verifyHostKey,
      });
    } catch (err) {
      await client.end().catch(() => {});
      throw connectError(err);
    }
    liveClient = client;
    const configured = settings.path || '.';
    const base = posix.isAbsolute(configured) ? posix.normalize(configured) : posix.join(await client.cwd(), configured);
    return { client, sftp, base };
  }

  function connect(): Promise<Session> {
    session ??= establish().catch((err) => { session = undefined; throw err; });
    return session;
  }

  function operationError(err: unknown, what: string, stage: TransferError['stage']): TransferError {
    if (err instanceof TransferError) return err;
    return new TransferError(`${what} on ${server} failed: ${errorMessage(err)}`, stage, classifyFailure('sftp', err) === 'permanent', { cause: err });
  }

  /** mkdir -p that tolerates a concurrent writer creating the same folder first — at every level, since
   *  parallel puts race on the shared parents too (the library's recursive mkdir gives up on the first). */
  async function ensureDir(client: SftpClient, dir: string): Promise<void> {
    if ((await client.exists(dir)) === 'd') return;
    const parent = posix.dirname(dir);
    if (parent !== dir) await ensureDir(client, parent);
    try {
      await client.mkdir(dir, false);
    } catch (err) {
      if ((await client.exists(dir)) !== 'd') throw err;
    }
  }

  /** Opens `remotePath` for writing (created or truncated). The folder is created only when the open says it
   *  is missing, so a put into an existing folder costs no extra round trip. */
  async function openForWrite({ client, sftp }: Session, remotePath: string): Promise<Buffer> {
    const open = () => new Promise<Buffer>((resolve, reject) => sftp.open(remotePath, 'w', (err, handle) => (err ? reject(err) : resolve(handle))));
    try {
      return await open();
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    await ensureDir(client, posix.dirname(remotePath));
    return open();
  }

  async function put(relative: string, body: Readable): Promise<PutResult> {
    const rel = normalizeRelativePath(relative);
    const current = await connect();
    const { client, sftp, base } = current;
    const finalPath = joinBase(base, rel);
    const temporary = joinBase(base, temporaryNameFor(rel));
    return oneWriterPer(`${server}${finalPath}`, async () => {
      let handle: Buffer | undefined;
      try {
        handle = await openForWrite(current, temporary);
        const output = new PipelinedWrite(sftp, handle);
        await pipeline(body, output);
        const closing = handle;
        handle = undefined;
        await new Promise<void>((resolve, reject) => sftp.close(closing, (err) => (err ? reject(err) : resolve())));
        // posix-rename@openssh.com replaces an existing file atomically; plain SFTP rename refuses to. (The raw
        // SFTP calls of a put add no per-call listeners to the client, so many puts may run at once.)
        await new Promise<void>((resolve, reject) => sftp.ext_openssh_rename(temporary, finalPath, (err) => (err ? reject(err) : resolve())));
        return { path: rel, location: `${server}${finalPath}`, sizeBytes: output.bytes };
      } catch (err) {
        if (handle) { const open = handle; await new Promise<void>((resolve) => sftp.close(open, () => resolve())); }
        await client.delete(temporary, true).catch(() => {});
        throw sourceFailure(body) ?? operationError(err, `writing ${finalPath}`, 'write');
      }
    });
  }

  async function get(relative: string): Promise<Readable> {
    const rel = normalizeRelativePath(relative);
    const { client, base } = await connect();
    const remotePath = joinBase(base, rel);
    try {
      await client.stat(remotePath);
    } catch (err) {
      if (isMissing(err)) throw new TransferError(`file ${server}${remotePath} does not exist: check the path`, 'read', true, { cause: err });
      throw operationError(err, `reading ${remotePath}`, 'read');
    }
    const stream = client.createReadStream(remotePath);
    reading.add(stream);
    stream.once('close', () => reading.delete(stream));
    // The remote handle is closed after 'end'; a failure there cannot hurt a reader that has all the bytes.
    stream.once('end', () => stream.on('error', () => {}));
    return stream;
  }

  async function list(dir: string): Promise<ListedFile[]> {
    const rel = normalizeRelativePath(dir, { allowEmpty: true });
    const { client, base } = await connect();
    const folder = joinBase(base, rel);
    try {
      const entries = await client.list(folder);
      return entries
        .filter((entry) => entry.type === '-' && !isTemporaryName(entry.name))
        .map((entry) => ({
          name: entry.name,
          path: rel ? `${rel}/${entry.name}` : entry.name,
          sizeBytes: entry.size,
          modifiedAt: new Date(entry.modifyTime),
        }));
    } catch (err) {
      if (isMissing(err)) return [];
      throw operationError(err, `listing ${folder}`, 'list');
    }
  }

  async function remove(relative: string): Promise<void> {
    const rel = normalizeRelativePath(relative);
    const { client, base } = await connect();
    const remotePath = joinBase(base, rel);
    try {
      await client.delete(remotePath, true);
    } catch (err) {
      throw operationError(err, `removing ${remotePath}`, 'remove');
    }
  }

  async function test(): Promise<void> {
    const { base } = await connect();
    await testServerWrite({ put, remove }, `${server}${base}`, username);
  }


  async function close(): Promise<void> {
    const pending = session;
    session = undefined;
    liveClient = undefined;
    if (!pending) return;
    const opened = await pending.catch(() => undefined);
    await Promise.all([...reading].map((stream) => closedOrDestroyed(stream, 2000)));
    await opened?.client.end().catch(() => {});
  }

  return { put, get, list, remove, test, close };
}
