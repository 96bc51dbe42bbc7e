// The statistics log of an import (seed 001: start and finish time, counts, problematic rows): plain text,
// streamed from the database so a list with many rejected rows never sits in memory.
import { Readable } from 'node:stream';
import type { Sql } from '../../db/sql.js';
import type { RuleCounts } from './rules.js';

export interface StatsHeader {
  runId: string; campaign: string; file: string; encoding: string; startedAt: string; finishedAt: string;
  rowsRead: number; counts: RuleCounts; rules: Record<string, unknown>;
}

export function statsLog(sql: Sql, header: StatsHeader): Readable {
  async function* lines() {
    yield [
      `Contact list import ${header.runId}`,
      `Campaign:   ${header.campaign}`,
      `File:       ${header.file} (${header.encoding})`,
      `Rules:      ${Object.entries(header.rules).map(([k, v]) => `${k}=${String(v)}`).join(', ')}`,
      `Started:    ${header.startedAt}`,
      `Finished:   ${header.finishedAt}`,
      `Rows read:  ${header.rowsRead}`,
      `Imported:   ${header.counts.imported}`,
      `Updated:    ${header.counts.updated}`,
      `Replaced:   ${header.counts.replaced}`,
      `Deleted:    ${header.counts.deleted}`,
      `Rejected:   ${header.counts.rejected}`,
      '',
      header.counts.rejected ? 'Rejected rows (line: reason):' : 'No rejected rows.',
      '',
    ].join('\n');
    const cursor = sql<{ line: number; reject_reason: string }[]>`
      select line, reject_reason from list_import_rows
      where run_id = ${header.runId} and reject_reason is not null order by line`.cursor(1000);
    for await (const rows of cursor) {
      yield rows.map((row) => `${row.line}: ${row.reject_reason}\n`).join('');
    }
  }
  return Readable.from(lines());
}
