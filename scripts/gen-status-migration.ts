// Writes db/migrations/0002_completion_statuses.sql from lib/domain/completion-statuses.ts.
// Run once when the table changes: `npx tsx scripts/gen-status-migration.ts`. Migrations are forward-only,
// so once 0002 has shipped a change to the table belongs in a new migration instead.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { COMPLETION_STATUS_MIGRATION, renderCompletionStatusMigration } from '../lib/domain/completion-status-migration.js';
import { PROJECT_ROOT } from '../lib/tools.js';

const file = path.join(PROJECT_ROOT, 'db', 'migrations', COMPLETION_STATUS_MIGRATION);
await writeFile(file, renderCompletionStatusMigration());
console.log(`wrote ${path.relative(PROJECT_ROOT, file)}`);
