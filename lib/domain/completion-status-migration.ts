// Renders db/migrations/0002_completion_statuses.sql from COMPLETION_STATUSES, so the table in the
// database and the one the code ranks with come from one source (scripts/gen-status-migration.ts).
import { COMPLETION_STATUSES, type CompletionStatus } from './completion-statuses.js';

export const COMPLETION_STATUS_MIGRATION = '0002_completion_statuses.sql';

/** A standard SQL string literal (standard_conforming_strings is on since PostgreSQL 9.1). */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function valuesRow(row: CompletionStatus): string {
  const channels = `array[${row.channels.map(literal).join(', ')}]`;
  return `  (${literal(row.status)}, ${channels}, ${row.rank},\n   ${literal(row.description)})`;
}

export function renderCompletionStatusMigration(rows: readonly CompletionStatus[] = COMPLETION_STATUSES): string {
  return [
    '-- The completion-status table of seed 003 (status, channels, rank, description).',
    '-- Generated from lib/domain/completion-statuses.ts by scripts/gen-status-migration.ts: do not edit by hand.',
    'insert into completion_statuses (status, channels, rank, description) values',
    rows.map(valuesRow).join(',\n') + ';',
    '',
  ].join('\n');
}
