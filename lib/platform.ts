// The shared resources of a process (API or worker), opened from the configuration in one place.
import path from 'node:path';
import type { Config } from './config.js';
import { createContentStore } from './content-store/index.js';
import type { ContentStore } from './content-store/types.js';
import { loadKeyring, type Keyring } from './crypto/keys.js';
import { connect, type Sql } from '../db/sql.js';
import { migrate } from '../db/migrate.js';

export interface Platform { config: Config; sql: Sql; databaseUrl: string; keyring: Keyring; store: ContentStore; close(): Promise<void> }

export async function openPlatform(config: Config, options: { migrate?: boolean } = {}): Promise<Platform> {
  if (!config.DATABASE_URL) {
    throw new Error('DATABASE_URL is not set: point it at PostgreSQL (npm run dev starts an embedded one and sets it).');
  }
  const keyring = await loadKeyring({
    dataDir: config.dataDir,
    masterKey: config.MASTER_KEY,
    masterKeyId: config.MASTER_KEY_ID,
    previousKeys: config.MASTER_KEY_PREVIOUS,
  });
  // An activity may hold a transaction while it also reads through the pool (reports do): with fewer
  // connections than twice the concurrent activities, a full worker could wait on itself forever.
  const sql = connect(config.DATABASE_URL, { max: Math.max(10, 2 * config.WORKER_MAX_ACTIVITIES + 4) });
  if (options.migrate) await migrate(sql);
  const store = openContentStore(config, keyring);
  return {
    config, sql, keyring, store, databaseUrl: config.DATABASE_URL,
    close: async () => { await sql.end({ timeout: 5 }); },
  };
}

export function openContentStore(config: Config, keyring: Keyring): ContentStore {
  return config.CONTENT_STORE === 's3'
    ? createContentStore({
        kind: 's3', keyring, bucket: config.CONTENT_S3_BUCKET!, endpoint: config.CONTENT_S3_ENDPOINT,
        region: config.CONTENT_S3_REGION, forcePathStyle: config.CONTENT_S3_FORCE_PATH_STYLE,
      })
    : createContentStore({ kind: 'local', keyring, dir: path.join(config.dataDir, 'content') });
}
