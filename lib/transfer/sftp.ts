// SFTP destinations (OpenSSH and compatible servers), password or private-key authentication. The server's
// host key is checked before any credential is sent: against the destination's pinned fingerprint, or, when
// none is pinned yet, it is pinned through the owner's hook (trust on first use).
import { createHash } from 'node:crypto';
import { Socket } from 'node:net';
import { posix } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { errorMessage } from '../../shared/error-message.js';
import { classifyFailure } from '../failures.js';
import { isTemporaryName, joinBase, normalizeRelativePath, oneWriterPer, sourceFailure, temporaryNameFor, testServerWrite } from './paths.js';
import { TransferError, type DestinationSecrets, type DestinationSettings, type ListedFile, type PutResult, type Transfer, type TransferHooks } from './types.js';

const CONNECT_TIMEOUT_MS = 10_000;

interface Session { client: SftpClient; sftp: SFTPWrapper; base: string; socket: Socket; /** set once the connection ended */ closed: boolean }

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
 *  here waits for none of its writes until it closes, up to this many, instead of one round trip per chunk. */
const WRITES_IN_FLIGHT = 16;
/** Chunks (64 KiB of decrypted content, a CSV row) are gathered into WRITEs of up to this size, or the
 *  server's limit if lower: a 200 KB recording goes in one WRITE, so one status comes back instead of four. */
const MAX_WRITE_BYTES = 256 * 1024;
/** What ssh2 assumes of a server that does not state its limits (no limits@openssh.com). */
const DEFAULT_WRITE_BYTES = 32 * 1024;

/** The largest WRITE the server takes (ssh2 learns it from limits@openssh.com, 255 KiB for OpenSSH); ssh2
 *  splits a larger one into WRITEs sent one after another, which would undo the pipelining. */
function writeSize(sftp: SFTPWrapper): number {
  const limit = (sftp as unknown as { _maxWriteLen?: unknown })._maxWriteLen;
  return Math.min(MAX_WRITE_BYTES, typeof limit === 'number' && limit > 0 ? limit : DEFAULT_WRITE_BYTES);
}

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
  private readonly writeBytes: number;

  constructor(private readonly sftp: SFTPWrapper, private readonly handle: Buffer) {
    super();
    this.writeBytes = writeSize(sftp);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.failure) { callback(this.failure); return; }
    this.gathered.push(chunk);
    this.gatheredBytes += chunk.length;
    if (this.gatheredBytes < this.writeBytes) { callback(); return; }
    while (this.gatheredBytes >= this.writeBytes) this.send(this.writeBytes);
    if (this.inFlight < WRITES_IN_FLIGHT) { callback(); return; }
    this.onAck = () => { this.onAck = undefined; callback(this.failure); };
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.gatheredBytes > 0 && !this.failure) this.send(this.gatheredBytes);
    const settle = () => {
      if (this.inFlight > 0 && !this.failure) { this.onAck = settle; return; }
      this.onAck = undefined;
      callback(this.failure);
    };
    settle();
  }

  /** Sends the first `size` bytes gathered as one WRITE. */
  private send(size: number): void {
    const all = this.gathered.length === 1 ? this.gathered[0] : Buffer.concat(this.gathered, this.gatheredBytes);
    const data = all.length === size ? all : all.subarray(0, size);
    this.gathered = all.length === size ? [] : [all.subarray(size)];
    this.gatheredBytes -= size;
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

/**
 * The socket under an SSH connection, connecting. Nagle's algorithm is off: it held each small packet back
 * until the server's delayed ACK (~40 ms on Linux), which cost ~0.35 s per handshake (a dozen small
 * exchanges) and several round trips per file. And ssh2 writes every SSH packet as three or four separate
 * socket writes (length, ciphertext, tag), each its own syscall and TCP segment once Nagle is off: the writes
 * made in one turn of the event loop are corked and leave together, as one writev, when it ends.
 */
function connectSocket(host: string, port: number): Socket {
  const socket = new Socket();
  socket.setNoDelay(true);
  socket.connect({ host, port });
  // Installed after connect(), which puts the prototype's write back on a socket that has its own.
  const write = socket.write;
  let flushQueued = false;
  socket.write = function coalescingWrite(this: Socket, ...args: unknown[]): boolean {
    if (!flushQueued) {
      flushQueued = true;
      socket.cork();
      process.nextTick(() => { flushQueued = false; socket.uncork(); });
    }
    return (write as (...forwarded: unknown[]) => boolean).apply(socket, args);
  } as Socket['write'];
  return socket;
}

/** How long a worker keeps an unused session to a destination open for the next batch or run to reuse. */
const IDLE_SESSION_MS = 10_000;

/** One session to a server, shared by the transfers open on it (`users`); ended once unused for a while. */
interface SharedSession { session: Promise<Session>; users: number; idle?: NodeJS.Timeout }

/**
 * Sessions by destination (server, user, base folder, pinned host key and credentials, hashed): a worker's
 * batches, manifests and runs to one destination reuse one SSH connection instead of a handshake each
 * (~90 ms and sshd's fork per batch). Only sessions whose host key was checked against a pinned one, or that
 * pin nothing, are shared; a first connection that pins the key (trust on first use) is the transfer's own.
 */
const sharedSessions = new Map<string, SharedSession>();

function sessionKey(settings: DestinationSettings, secrets: DestinationSecrets): string {
  return createHash('sha256').update(JSON.stringify([
    settings.host, settings.port ?? 22, settings.username, settings.path ?? '', settings.hostKeyFingerprint ?? null,
    secrets.password ?? null, secrets.privateKey ?? null,
  ])).digest('hex');
}

/** A hold on a session. `release` gives it back (a shared one is ended after IDLE_SESSION_MS unused);
 *  `discard` gives back one that has ended, so that the next lease connects again. */
interface Lease { session: Promise<Session>; release(): Promise<void>; discard(): Promise<void> }

function leaseSession(key: string | undefined, establish: () => Promise<Session>): Lease {
  const end = (session: Promise<Session>) => session.then((s) => s.client.end()).catch(() => {});
  if (key === undefined) {
    const session = establish();
    let released = false;
    const release = async () => { if (!released) { released = true; await end(session); } };
    return { session, release, discard: release };
  }
  let entry = sharedSessions.get(key);
  if (!entry) {
    const created: SharedSession = { users: 0, session: establish() };
    // One that failed to open is dropped at once.
    created.session.catch(() => { if (sharedSessions.get(key) === created) sharedSessions.delete(key); });
    sharedSessions.set(key, created);
    entry = created;
  }
  const held = entry;
  held.users++;
  clearTimeout(held.idle);
  // An idle session does not keep the process alive; one in use does.
  held.session.then((s) => s.socket.ref(), () => {});
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    if (--held.users > 0) return;
    held.idle = setTimeout(() => {
      if (held.users > 0) return;
      if (sharedSessions.get(key) === held) sharedSessions.delete(key);
      void end(held.session);
    }, IDLE_SESSION_MS);
    held.idle.unref();
    held.session.then((s) => { if (held.users === 0) s.socket.unref(); }, () => {});
  };
  return {
    session: held.session,
    release,
    async discard() {
      if (sharedSessions.get(key) === held) sharedSessions.delete(key);
      await release();
    },
  };
}

/** `shared: false` gives the transfer a session of its own (the connection test proves a fresh connection). */
export function openSftpTransfer(
  settings: DestinationSettings, secrets: DestinationSecrets, hooks: TransferHooks = {}, { shared = true }: { shared?: boolean } = {},
): Transfer {
  const host = settings.host ?? '';
  const port = settings.port ?? 22;
  const username = settings.username ?? '';
  const server = `sftp://${host}:${port}`;
  const key = shared && (settings.hostKeyFingerprint || !hooks.pinHostKey) ? sessionKey(settings, secrets) : undefined;
  let lease: Lease | undefined;
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
    // A dropped connection marks its session closed, so the next call connects again instead of failing forever.
    let current: Session | undefined;
    const forget = () => { if (current) current.closed = true; };
    const client: SftpClient = new SftpClient('transfer', { error: forget, end: forget, close: forget });
    const sock = connectSocket(host, port);
    let sftp: SFTPWrapper;
    refusedKey = undefined;
    try {
      sftp = await client.connect({
        sock,
        host, port, username,
        password: secrets.password,
        privateKey: secrets.privateKey,
        readyTimeout: CONNECT_TIMEOUT_MS,
        hostVerifier: verifyHostKey,
      });
    } catch (err) {
      await client.end().catch(() => {});
      sock.destroy();
      throw connectError(err);
    }
    const configured = settings.path || '.';
    try {
      const base = posix.isAbsolute(configured) ? posix.normalize(configured) : posix.join(await client.cwd(), configured);
      current = { client, sftp, base, socket: sock, closed: false };
      return current;
    } catch (err) {
      await client.end().catch(() => {});
      throw operationError(err, 'resolving the base folder', 'connect');
    }
  }

  /** The transfer's session; a lease on a session that has since ended is given back and a new one taken. */
  async function connect(): Promise<Session> {
    for (;;) {
      const current = lease ??= leaseSession(key, establish);
      let opened: Session;
      try {
        opened = await current.session;
      } catch (err) {
        if (lease === current) { lease = undefined; await current.discard(); }
        throw err;
      }
      if (!opened.closed) return opened;
      if (lease === current) { lease = undefined; await current.discard(); }
    }
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
    if (key !== undefined) {
      // On a connection of its own: a session kept from earlier proves nothing about connecting now.
      const own = openSftpTransfer(settings, secrets, hooks, { shared: false });
      try {
        await own.test();
      } finally {
        await own.close();
      }
      return;
    }
    const { base } = await connect();
    await testServerWrite({ put, remove }, `${server}${base}`, username);
  }


  async function close(): Promise<void> {
    const held = lease;
    lease = undefined;
    if (!held) return;
    await Promise.all([...reading].map((stream) => closedOrDestroyed(stream, 2000)));
    await held.release();
  }

  return { put, get, list, remove, test, close };
}
