// Relative-path rules shared by every protocol: a job's path can never climb out of the destination's base.
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { errorMessage } from '../../shared/error-message.js';
import { isNetworkFailure } from '../failures.js';
import { TransferError, type Transfer } from './types.js';

/**
 * Normalizes a destination-relative path ('a//b/./c' → 'a/b/c') and rejects absolute paths and '..' segments,
 * which would let a file-name template write outside the base folder. Empty means the base folder itself.
 */
export function normalizeRelativePath(relative: string, { allowEmpty = false } = {}): string {
  const unified = relative.replaceAll('\\', '/');
  if (unified.startsWith('/') || /^[A-Za-z]:/.test(unified)) {
    throw new TransferError(`path "${relative}" is absolute: give a path relative to the destination's base folder`, 'write', true);
  }
  const segments = unified.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) {
    throw new TransferError(`path "${relative}" contains a ".." segment: paths must stay inside the destination's base folder`, 'write', true);
  }
  if (segments.length === 0 && !allowEmpty) {
    throw new TransferError(`path "${relative}" names no file: give a file name relative to the destination's base folder`, 'write', true);
  }
  return segments.join('/');
}

/** The base folder joined with a normalized relative path, in '/' form. */
export function joinBase(base: string, relative: string): string {
  if (!relative) return base || '.';
  return base ? posix.join(base, relative) : relative;
}

/**
 * The sibling name in the same folder for the write-then-rename step; dot-prefixed so listings skip it.
 * Deterministic per target, so a put retried after a crash (a worker killed mid-write) overwrites the
 * leftover of the failed attempt and renames it away instead of leaving a stale `.part` file behind.
 * Puts to one target in this process take turns (`oneWriterPer`), since they share this name.
 */
export function temporaryNameFor(finalPath: string): string {
  const dir = posix.dirname(finalPath);
  const name = `.${posix.basename(finalPath)}.part`;
  return dir === '.' ? name : posix.join(dir, name);
}

/** True for names made by `temporaryNameFor` (and the older `.<name>.<pid>-<random>.part`): half-written files. */
export function isTemporaryName(name: string): boolean {
  return /^\..+\.part$/.test(name);
}

const writers = new Map<string, Promise<unknown>>();

/** Runs `write` after any earlier write to the same target (a full location: server and path) in this process. */
export async function oneWriterPer<T>(target: string, write: () => Promise<T>): Promise<T> {
  const current = (writers.get(target) ?? Promise.resolve()).then(write);
  const settled = current.catch(() => undefined);
  writers.set(target, settled);
  try {
    return await current;
  } finally {
    if (writers.get(target) === settled) writers.delete(target);
  }
}

/** The error a source stream failed with, if it did: a put then rethrows it unchanged, because the fault is
 *  the source's (a decryption failure, say) and the caller classifies it, not the destination. */
export function sourceFailure(body: NodeJS.ReadableStream): Error | undefined {
  return (body as { errored?: Error | null }).errored ?? undefined;
}

/** Name for the connection-test probe file written and removed by `test()`. */
export function probeFileName(): string {
  return `.cc-jobs-connection-test-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The write half of a connection test: put a small probe file, then remove it. */
export async function writeProbe(transfer: Pick<Transfer, 'put' | 'remove'>): Promise<void> {
  const probe = probeFileName();
  await transfer.put(probe, Readable.from([Buffer.from('connection test\n')]));
  await transfer.remove(probe);
}

/** `test()` of a server reached with a username (FTP, SFTP): the probe, its failure explained to an admin. */
export async function testServerWrite(transfer: Pick<Transfer, 'put' | 'remove'>, folder: string, username: string): Promise<void> {
  try {
    await writeProbe(transfer);
  } catch (err) {
    throw new TransferError(
      `cannot write to ${folder} as ${username}: ${errorMessage(err)}; check that the folder exists or may be created and that the user may write to it`,
      'write', err instanceof TransferError ? err.permanent : !isNetworkFailure(err), { cause: err });
  }
}
