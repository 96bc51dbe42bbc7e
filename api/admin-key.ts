// The first admin key. With ADMIN_API_KEY set nothing is created (that key is accepted as admin + erase).
// Otherwise, when no key exists yet, one is created, printed once and kept in <DATA_DIR>/admin-api-key
// (mode 0600) so the dev script can show it again.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../lib/config.js';
import type { Sql } from '../db/sql.js';
import { generateApiKey, hashApiKey } from './auth.js';

export const ADMIN_KEY_FILE = 'admin-api-key';

export async function bootstrapAdminKey(options: {
  sql: Sql;
  config: Pick<Config, 'ADMIN_API_KEY' | 'dataDir'>;
  print?: (line: string) => void;
}): Promise<string | undefined> {
  if (options.config.ADMIN_API_KEY) return undefined;
  const key = generateApiKey();
  // The advisory lock makes two API processes starting together create one key, not two.
  const created = await options.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('ccj:bootstrap-admin-key'))`;
    const [{ count }] = await tx<{ count: number }[]>`select count(*)::int as count from api_keys`;
    if (count > 0) return false;
    await tx`insert into api_keys (name, role, erase, key_hash) values ('bootstrap-admin', 'admin', true, ${hashApiKey(key)})`;
    return true;
  });
  if (!created) return undefined;
  await mkdir(options.config.dataDir, { recursive: true });
  const file = path.join(options.config.dataDir, ADMIN_KEY_FILE);
  await writeFile(file, key + '\n', { mode: 0o600 });
  await chmod(file, 0o600); // a file left by an earlier database keeps its old mode otherwise
  (options.print ?? console.log)(`Admin API key: ${key}`);
  return key;
}
