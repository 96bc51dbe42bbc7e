// FTP and FTPS destinations (basic-ftp). One control connection serves one command at a time, so calls are
// queued; downloads get a connection of their own so a caller may read a file while writing another. With
// `tls` the control and data connections are TLS ("explicit": AUTH TLS on the plain port; "implicit": TLS
// from the first byte) and the server's certificate is verified (against `tlsCa` when given).
import { posix } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Client, FTPError } from 'basic-ftp';
import { errorMessage } from '../../shared/error-message.js';
import { classifyFailure, isCertificateFailure } from '../failures.js';
import { isTemporaryName, joinBase, normalizeRelativePath, oneWriterPer, sourceFailure, temporaryNameFor, testServerWrite } from './paths.js';
import { TransferError, type DestinationSecrets, type DestinationSettings, type ListedFile, type PutResult, type Transfer } from './types.js';

const TIMEOUT_MS = 10_000;
const IMPLICIT_TLS_PORT = 990;

interface Session { client: Client; base: string }

/** 5xx replies (550 no such file, 553 bad name) and untrusted certificates; 4xx and dropped connections are transient. */
function isPermanentReply(err: unknown): boolean {
  return classifyFailure('ftp', err) === 'permanent';
}

function isMissing(err: unknown): boolean {
  if (!(err instanceof FTPError)) return false;
  return err.code === 550 || err.code === 450 || (err.code === 451 && /ENOENT|no such/i.test(err.message));
}

export function openFtpTransfer(settings: DestinationSettings, secrets: DestinationSecrets): Transfer {
  const host = settings.host ?? '';
  const port = settings.port ?? (settings.tls === 'implicit' ? IMPLICIT_TLS_PORT : 21);
  const username = settings.username || 'anonymous';
  const server = `${settings.tls ? 'ftps' : 'ftp'}://${host}:${port}`;
  const secure = settings.tls === 'implicit' ? 'implicit' as const : settings.tls === 'explicit';
  // basic-ftp checks the certificate against `host` and resumes the TLS session on data connections.
  const secureOptions = () => (settings.tls
    ? { ca: settings.tlsCa || undefined, rejectUnauthorized: settings.tlsRejectUnauthorized ?? true }
    : undefined);
  let session: Promise<Session> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  function connectError(err: unknown): TransferError {
    if (err instanceof FTPError && err.code === 530) {
      return new TransferError(`authentication to ${server} as ${username} failed: check the username and password (${err.message})`, 'auth', true, { cause: err });
    }
    if (isCertificateFailure(err)) {
      return new TransferError(
        `the TLS certificate of ${server} is not trusted (${errorMessage(err)}); nothing was sent. Give the server's certificate or ` +
          'its CA in tlsCa (PEM), or check that host is the name the certificate is issued for', 'connect', true, { cause: err });
    }
    return new TransferError(
      `cannot connect to ${server}: ${errorMessage(err)}; check the host and port and that the server accepts connections from here`,
      'connect', isPermanentReply(err), { cause: err });
  }

  async function login(): Promise<Session> {
    if (!host) throw new TransferError('the ftp destination needs a host', 'connect', true);
    const client = new Client(TIMEOUT_MS);
    try {
      await client.access({ host, port, user: username, password: secrets.password, secure, secureOptions: secureOptions() });
      const configured = settings.path || '.';
      const base = posix.isAbsolute(configured) ? posix.normalize(configured) : posix.join(await client.pwd(), configured);
      return { client, base };
    } catch (err) {
      client.close();
      throw connectError(err);
    }
  }

  /** Runs `task` on the shared connection after every earlier task, reconnecting if the last one dropped. */
  function exclusive<T>(task: (current: Session) => Promise<T>): Promise<T> {
    const run = queue.then(async () => {
      if (!session || (await session.catch(() => undefined))?.client.closed) {
        session = login();
        session.catch(() => { session = undefined; });
      }
      return task(await session);
    });
    queue = run.catch(() => {});
    return run;
  }

  function operationError(err: unknown, what: string, stage: TransferError['stage']): TransferError {
    if (err instanceof TransferError) return err;
    return new TransferError(`${what} on ${server} failed: ${errorMessage(err)}`, stage, isPermanentReply(err), { cause: err });
  }

  async function renameOver(client: Client, from: string, to: string): Promise<void> {
    try {
      await client.rename(from, to);
    } catch (err) {
      // Some servers refuse to rename onto an existing file; replace it then.
      if (!isPermanentReply(err)) throw err;
      await client.remove(to, true);
      await client.rename(from, to);
    }
  }

  /** Removes a half-written temporary file. basic-ftp closes the connection when an upload's source fails,
   *  so this may need a fresh one; it then becomes the shared session (we run inside `exclusive`). */
  async function removeLeftover(client: Client, remotePath: string): Promise<void> {
    try {
      if (client.closed) {
        const fresh = await login();
        session = Promise.resolve(fresh);
        client = fresh.client;
      }
      await client.remove(remotePath, true);
    } catch {
      // Best effort: the leftover has a dot-name that listings skip.
    }
  }

  async function put(relative: string, body: Readable): Promise<PutResult> {
    const rel = normalizeRelativePath(relative);
    return exclusive(async ({ client, base }) => {
      const finalPath = joinBase(base, rel);
      const temporary = joinBase(base, temporaryNameFor(rel));
      return oneWriterPer(`${server}${finalPath}`, async () => {
        try {
          await client.ensureDir(posix.dirname(finalPath));
          await client.uploadFrom(body, temporary);
          await renameOver(client, temporary, finalPath);
          const sizeBytes = await client.size(finalPath);
          return { path: rel, location: `${server}${finalPath}`, sizeBytes };
        } catch (err) {
          await removeLeftover(client, temporary);
          throw sourceFailure(body) ?? operationError(err, `writing ${finalPath}`, 'write');
        }
      });
    });
  }

  async function get(relative: string): Promise<Readable> {
    const rel = normalizeRelativePath(relative);
    const { client, base } = await login();
    const remotePath = joinBase(base, rel);
    try {
      await client.size(remotePath);
    } catch (err) {
      client.close();
      if (isMissing(err)) throw new TransferError(`file ${server}${remotePath} does not exist: check the path`, 'read', true, { cause: err });
      throw operationError(err, `reading ${remotePath}`, 'read');
    }
    const output = new PassThrough();
    client.downloadTo(output, remotePath)
      .catch((err) => output.destroy(operationError(err, `reading ${remotePath}`, 'read')))
      .finally(() => client.close());
    return output;
  }

  async function list(dir: string): Promise<ListedFile[]> {
    const rel = normalizeRelativePath(dir, { allowEmpty: true });
    return exclusive(async ({ client, base }) => {
      const folder = joinBase(base, rel);
      try {
        const files = (await client.list(folder)).filter((entry) => entry.isFile && !isTemporaryName(entry.name));
        const listed: ListedFile[] = [];
        for (const entry of files) {
          const modifiedAt = entry.modifiedAt ?? await modificationTime(client, posix.join(folder, entry.name));
          listed.push({ name: entry.name, path: rel ? `${rel}/${entry.name}` : entry.name, sizeBytes: entry.size, modifiedAt });
        }
        return listed;
      } catch (err) {
        if (isMissing(err)) return [];
        throw operationError(err, `listing ${folder}`, 'list');
      }
    });
  }

  /** Plain LIST output has no parseable timestamp (only MLSD does); MDTM gives it per file, where supported. */
  async function modificationTime(client: Client, remotePath: string): Promise<Date | undefined> {
    try {
      return await client.lastMod(remotePath);
    } catch (err) {
      if (client.closed) throw err;
      return undefined;
    }
  }

  async function remove(relative: string): Promise<void> {
    const rel = normalizeRelativePath(relative);
    return exclusive(async ({ client, base }) => {
      const remotePath = joinBase(base, rel);
      try {
        await client.remove(remotePath, true);
      } catch (err) {
        throw operationError(err, `removing ${remotePath}`, 'remove');
      }
    });
  }

  async function test(): Promise<void> {
    const { base } = await exclusive(async (current) => current);
    await testServerWrite({ put, remove }, `${server}${base}`, username);
  }


  async function close(): Promise<void> {
    const pending = session;
    session = undefined;
    const opened = await pending?.catch(() => undefined);
    opened?.client.close();
  }

  return { put, get, list, remove, test, close };
}
