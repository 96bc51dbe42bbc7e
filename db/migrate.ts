// Forward-only numbered migrations from db/migrations, each applied once, in its own transaction, in
// file-name order. An advisory lock keeps two processes starting together from applying the same file.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from './sql.js';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const LOCK_ID = 7233_0001;

export async function listMigrations(dir = MIGRATIONS_DIR): Promise<{ name: string; file: string }[]> {
  const names = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_-]+\.sql$/.test(f)).sort();
  return names.map((name) => ({ name, file: path.join(dir, name) }));
}

export async function migrate(sql: Sql, dir = MIGRATIONS_DIR): Promise<string[]> {
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_ID})`;
    await tx`create table if not exists schema_migrations (
      name text primary key, applied_at timestamptz not null default now())`;
  });
  for (const { name, file } of await listMigrations(dir)) {
    const text = await readFile(file, 'utf8');
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOCK_ID})`;
      const [done] = await tx`select 1 from schema_migrations where name = ${name}`;
      if (done) return;
      await tx.unsafe(text);
      await tx`insert into schema_migrations (name) values (${name})`;
      applied.push(name);
    });
  }
  return applied;
}
