// A fresh PostgreSQL database per test file, cloned from a migrated template so each file starts from
// the current schema in milliseconds. The server is the suite's (CCJ_TEST_PG_URL, set by scripts/test.ts),
// DATABASE_URL's, or an embedded one started here when a file runs on its own.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { connect, type Sql } from '../../db/sql.js';
import { migrate } from '../../db/migrate.js';
import { startEmbeddedPostgres } from '../../lib/postgres/embedded.js';
import { testScratchDir } from './scratch.js';

export interface TestDatabase { url: string; sql: Sql; drop(): Promise<void> }

const TEMPLATE = 'ccj_template';

/** The admin URL of the server tests use (database `postgres`), starting an embedded one if needed. */
export async function testServerUrl(): Promise<{ url: string; stop(): Promise<void> }> {
  const given = process.env.CCJ_TEST_PG_URL;
  if (given) return { url: given, stop: async () => {} };
  const dir = path.join(testScratchDir(), `pg-${process.pid}-${randomBytes(3).toString('hex')}`);
  const db = await startEmbeddedPostgres({ dir, persistent: false, database: 'postgres' });
  process.env.CCJ_TEST_PG_URL = db.url;
  return { url: db.url, stop: db.stop };
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** (Re)creates the migrated template database. The test runner calls this once per suite run. */
export async function prepareTemplate(serverUrl: string): Promise<void> {
  const admin = connect(serverUrl, { max: 1 });
  try {
    await admin.unsafe(`drop database if exists ${TEMPLATE} with (force)`);
    await admin.unsafe(`create database ${TEMPLATE}`);
  } finally {
    await admin.end();
  }
  const tpl = connect(withDatabase(serverUrl, TEMPLATE), { max: 1 });
  try {
    await migrate(tpl);
  } finally {
    await tpl.end();
  }
}

let templateReady: Promise<void> | undefined;
const ownServerTemplates = new Map<string, Promise<void>>();

/** `idOffset`: where campaign and job definition ids start (random unless given, e.g. to compare two databases).
 *  `serverUrl`: a server of the test's own (admin URL) instead of the suite's, e.g. one the test restarts. */
export async function createTestDatabase(options: { idOffset?: number; serverUrl?: string } = {}): Promise<TestDatabase> {
  const server = options.serverUrl ? { url: options.serverUrl, stop: async () => {} } : await testServerUrl();
  if (options.serverUrl) {
    if (!ownServerTemplates.has(server.url)) ownServerTemplates.set(server.url, prepareTemplate(server.url));
    await ownServerTemplates.get(server.url);
  } else if (!process.env.CCJ_TEST_TEMPLATE_READY) {
    templateReady ??= prepareTemplate(server.url);
    await templateReady;
  }
  const name = `ccj_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = connect(server.url, { max: 1 });
  try {
    await admin.unsafe(`create database ${name} template ${TEMPLATE}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(server.url, name);
  const sql = connect(url, { max: 30 });
  // Every test database shares one Temporal server, where campaign-lock workflows and job schedules are
  // named by campaign and definition id (one Temporal namespace per installation): start each database's ids
  // at a random offset so two test files never share a lock workflow or a schedule.
  const offset = options.idOffset ?? 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
  await sql`select setval(pg_get_serial_sequence('campaigns', 'id'), ${offset})`;
  await sql`select setval(pg_get_serial_sequence('job_definitions', 'id'), ${offset})`;
  return {
    url,
    sql,
    drop: async () => {
      await sql.end({ timeout: 5 });
      const a = connect(server.url, { max: 1 });
      try {
        await a.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await a.end();
      }
      await server.stop();
    },
  };
}
