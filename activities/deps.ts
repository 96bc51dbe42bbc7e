// What every activity factory receives. Tests build their own (a test database, a temporary content
// store, a fixed clock) and can swap one dependency at a time.
import type { Config } from '../lib/config.js';
import type { ContentStore } from '../lib/content-store/types.js';
import type { Keyring } from '../lib/crypto/keys.js';
import type { Sql } from '../db/sql.js';

export interface ActivityDeps {
  sql: Sql;
  /** A connection URL for work that needs its own connection (COPY). */
  databaseUrl: string;
  store: ContentStore;
  keyring: Keyring;
  config: Config;
  clock: () => Date;
}
