// The foundation's own promises: configuration that names what is wrong, forward-only migrations,
// tool resolution in the documented order, and an embedded PostgreSQL that never takes port 5432.
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../lib/config.js';
import { listMigrations, migrate } from '../db/migrate.js';
import { resolveTemporalCli } from '../lib/tools.js';
import { createTestDatabase, type TestDatabase } from './harness/db.js';

describe('configuration', () => {
  test('defaults match the documented ports and data directory', () => {
    const cfg = loadConfig({});
    assert.equal(cfg.API_PORT, 8080);
    assert.equal(cfg.TEMPORAL_PORT, 7233);
    assert.equal(cfg.TEMPORAL_UI_PORT, 8233);
    assert.equal(cfg.dataDir, path.resolve('./.data'));
  });

  test('a bad value stops the start with the variable name and the value found', () => {
    assert.throws(() => loadConfig({ API_PORT: 'eighty' }), (err: Error) =>
      err instanceof ConfigError && /API_PORT="eighty"/.test(err.message));
  });

  test('secrets are never echoed back in the error', () => {
    assert.throws(() => loadConfig({ MASTER_KEY: 'not-32-bytes-secret' }), (err: Error) =>
      /MASTER_KEY=\(hidden\)/.test(err.message) && !err.message.includes('not-32-bytes-secret'));
  });

  test('an empty variable is an unset one (compose passes ${X:-} as X=)', () => {
    const cfg = loadConfig({ RECORDING_STORAGE_DAYS: '', API_PORT: '', DATABASE_URL: '' });
    assert.equal(cfg.RECORDING_STORAGE_DAYS, undefined);
    assert.equal(cfg.API_PORT, 8080);
    assert.equal(cfg.DATABASE_URL, undefined);
  });

  test('an S3 content store without a bucket is refused', () => {
    assert.throws(() => loadConfig({ CONTENT_STORE: 's3' }), /CONTENT_S3_BUCKET/);
  });
});

describe('migrations', () => {
  let db: TestDatabase;
  before(async () => { db = await createTestDatabase(); });
  after(async () => { await db?.drop(); });

  test('are numbered, applied once, and a second run applies nothing', async () => {
    const files = await listMigrations();
    assert.ok(files.length >= 2);
    files.forEach((f, i) => assert.match(f.name, /^\d{4}_/, `migration ${i}`));
    assert.deepEqual(await migrate(db.sql), []);
    const rows = await db.sql<{ name: string }[]>`select name from schema_migrations order by name`;
    assert.deepEqual(rows.map((r) => r.name), files.map((f) => f.name));
  });

  test('the domain schema has every table the jobs build on', async () => {
    const rows = await db.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public'`;
    const names = new Set(rows.map((r) => r.table_name));
    for (const t of ['campaigns', 'campaign_locks', 'calling_lists', 'contacts', 'contact_phones', 'call_attempts',
      'completion_statuses', 'interactions', 'interaction_segments', 'interaction_content', 'destinations',
      'api_keys', 'job_definitions', 'runs', 'audit_log']) {
      assert.ok(names.has(t), `missing table ${t}`);
    }
  });

  test('the test database is served on a port other than 5432', () => {
    assert.notEqual(new URL(db.url).port, '5432');
  });
});

describe('Temporal CLI resolution', () => {
  test('TEMPORAL_CLI wins when it names an existing file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ccj-cli-'));
    const fake = path.join(dir, 'temporal');
    await writeFile(fake, '#!/bin/sh\n');
    await chmod(fake, 0o755);
    assert.equal(await resolveTemporalCli({ TEMPORAL_CLI: fake }), fake);
  });

  test('a TEMPORAL_CLI that does not exist is an error naming it', async () => {
    await assert.rejects(resolveTemporalCli({ TEMPORAL_CLI: '/nope/temporal' }), /TEMPORAL_CLI=\/nope\/temporal/);
  });

  test('without TEMPORAL_CLI a working binary is found on PATH or in tools/', async () => {
    const found = await resolveTemporalCli({});
    assert.ok(found && path.basename(found) === 'temporal');
  });
});
