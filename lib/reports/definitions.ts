// Report definitions and saved report files in the database.
import type { Sql } from '../../db/sql.js';
import type { ContentStore } from '../content-store/types.js';
import type { ReportConfig, ReportDefinition } from './definition.js';

export const REPORT_KIND = 'report';

export async function loadReportDefinition(sql: Sql, id: string): Promise<ReportDefinition | undefined> {
  const [row] = await sql<{ id: string; name: string; enabled: boolean; campaign_id: string; campaign_name: string; campaign_created_at: Date; config: ReportConfig }[]>`
    select d.id, d.name, d.enabled, d.campaign_id, c.name as campaign_name, c.created_at as campaign_created_at, d.config
    from job_definitions d join campaigns c on c.id = d.campaign_id
    where d.id = ${id} and d.kind = ${REPORT_KIND}`;
  if (!row) return undefined;
  return {
    id: row.id, name: row.name, enabled: row.enabled, campaignId: row.campaign_id, campaignName: row.campaign_name,
    campaignCreatedAt: row.campaign_created_at, config: row.config,
  };
}

export async function loadPgpKey(sql: Sql, id: string): Promise<string | undefined> {
  const [row] = await sql<{ armored: string }[]>`select armored from pgp_keys where id = ${id}`;
  return row?.armored;
}

export interface SavedReport {
  id: string; definitionId: string | null; runId: string; kind: 'report' | 'delivery'; fileName: string; storeKey: string;
  sizeBytes: number; sha256: string; rows: number;
  /** Attempts and contacts in the report's range; null on files saved before migration 0009. */
  attempts: number | null; contacts: number | null; rangeStart: Date | null; rangeEnd: Date | null; createdAt: Date; expiresAt: Date;
}

interface SavedRow {
  id: string; definition_id: string | null; run_id: string; kind: 'report' | 'delivery'; file_name: string; store_key: string;
  size_bytes: string; sha256: string; row_count: string; attempt_count: string | null; contact_count: string | null; range_start: Date | null; range_end: Date | null; created_at: Date; expires_at: Date;
}

const toSaved = (r: SavedRow): SavedReport => ({
  id: r.id, definitionId: r.definition_id, runId: r.run_id, kind: r.kind, fileName: r.file_name, storeKey: r.store_key,
  sizeBytes: Number(r.size_bytes), sha256: r.sha256, rows: Number(r.row_count),
  attempts: r.attempt_count === null ? null : Number(r.attempt_count), contacts: r.contact_count === null ? null : Number(r.contact_count), rangeStart: r.range_start, rangeEnd: r.range_end,
  createdAt: r.created_at, expiresAt: r.expires_at,
});

export async function getSavedReport(sql: Sql, id: string): Promise<SavedReport | undefined> {
  const [row] = await sql<SavedRow[]>`select * from saved_reports where id = ${id}`;
  return row ? toSaved(row) : undefined;
}

export async function savedReportOfRun(sql: Sql, runId: string, kind: 'report' | 'delivery'): Promise<SavedReport | undefined> {
  const [row] = await sql<SavedRow[]>`select * from saved_reports where run_id = ${runId} and kind = ${kind}`;
  return row ? toSaved(row) : undefined;
}

/** Saved files of a definition that have not expired, newest first, after the id `afterId` (paging). */
export async function listSavedReports(sql: Sql, definitionId: string, now: Date, limit: number, beforeId?: string): Promise<SavedReport[]> {
  const rows = await sql<SavedRow[]>`
    select * from saved_reports
    where definition_id = ${definitionId} and expires_at > ${now} ${beforeId ? sql`and id < ${beforeId}` : sql``}
    order by id desc limit ${limit}`;
  return rows.map(toSaved);
}

export async function insertSavedReport(sql: Sql, file: Omit<SavedReport, 'id'>): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into saved_reports (definition_id, run_id, kind, file_name, store_key, size_bytes, sha256, row_count, range_start, range_end,
                               created_at, expires_at, attempt_count, contact_count)
    values (${file.definitionId}, ${file.runId}, ${file.kind}, ${file.fileName}, ${file.storeKey}, ${file.sizeBytes}, ${file.sha256},
            ${file.rows}, ${file.rangeStart}, ${file.rangeEnd}, ${file.createdAt}, ${file.expiresAt}, ${file.attempts}, ${file.contacts})
    on conflict (run_id, kind) do update set run_id = excluded.run_id
    returning id`;
  return row.id;
}

/** Deletes saved reports past their 30 days: the object first, then the row, so a crash leaves a row to retry. */
export async function removeExpiredSavedReports(sql: Sql, store: ContentStore, now: Date, batch = 500): Promise<number> {
  let removed = 0;
  for (;;) {
    const rows = await sql<{ id: string; store_key: string }[]>`
      select id, store_key from saved_reports where expires_at <= ${now} order by expires_at limit ${batch}`;
    if (rows.length === 0) return removed;
    for (const row of rows) await store.remove(row.store_key);
    const deleted = await sql`delete from saved_reports where id = any(${rows.map((r) => r.id)}::bigint[])`;
    removed += deleted.count;
  }
}
