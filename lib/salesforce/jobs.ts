// Salesforce export job definitions in job_definitions (kind 'salesforce-export'): the settings in `config`, the
// watermark in `state`. Setting `exportCreatedAfter` (create, or an edit) resets the watermark to that time.
import type { Sql } from '../../db/sql.js';
import { SALESFORCE_EXPORT_KIND } from '../../contracts/salesforce-export.js';
import type { SalesforceJobConfig, SalesforceWatermark } from './definition.js';

export interface SalesforceJob {
  id: string; name: string; enabled: boolean; campaignId: string; campaignName: string; timezone: string;
  config: SalesforceJobConfig; watermark: SalesforceWatermark;
}

export const salesforceScheduleId = (definitionId: string) => `${SALESFORCE_EXPORT_KIND}/${definitionId}`;

export async function insertSalesforceJob(sql: Sql, input: {
  name: string; enabled: boolean; campaignId: string; exportCreatedAfter: string; config: SalesforceJobConfig; createdBy?: string | null;
}): Promise<string> {
  const watermark: SalesforceWatermark = { exportCreatedAfter: input.exportCreatedAfter, collectedThrough: null };
  const [row] = await sql<{ id: string }[]>`
    insert into job_definitions (kind, name, enabled, campaign_id, config, state, created_by)
    values (${SALESFORCE_EXPORT_KIND}, ${input.name}, ${input.enabled}, ${input.campaignId}, ${sql.json(input.config as never)},
            ${sql.json({ watermark } as never)}, ${input.createdBy ?? null})
    returning id`;
  await sql`update job_definitions set schedule_id = ${salesforceScheduleId(row.id)} where id = ${row.id}`;
  return row.id;
}

export async function loadSalesforceJob(sql: Sql, id: string): Promise<SalesforceJob | undefined> {
  const [row] = await sql<{ id: string; name: string; enabled: boolean; campaign_id: string; campaign_name: string; timezone: string; config: SalesforceJobConfig; watermark: SalesforceWatermark }[]>`
    select d.id, d.name, d.enabled, d.campaign_id, c.name as campaign_name, c.timezone, d.config, d.state -> 'watermark' as watermark
    from job_definitions d join campaigns c on c.id = d.campaign_id
    where d.id = ${id} and d.kind = ${SALESFORCE_EXPORT_KIND}`;
  if (!row) return undefined;
  return {
    id: row.id, name: row.name, enabled: row.enabled, campaignId: row.campaign_id, campaignName: row.campaign_name, timezone: row.timezone,
    config: row.config, watermark: row.watermark,
  };
}

/** What `exportCreatedAfter` shows: the floor, or how far finished runs have read since it was set. */
export function shownExportCreatedAfter(watermark: SalesforceWatermark): string {
  const floor = Date.parse(watermark.exportCreatedAfter);
  const through = watermark.collectedThrough ? Date.parse(watermark.collectedThrough) : NaN;
  return new Date(Number.isNaN(through) ? floor : Math.max(floor, through)).toISOString();
}

/** Where the job's next window starts: the end of the last finished one, never before the floor. */
export function windowStart(watermark: SalesforceWatermark): Date {
  return new Date(shownExportCreatedAfter(watermark));
}

/** A run read its whole window: the next one starts where it ended (never moved back). */
export async function finishWindow(sql: Sql, jobId: string, to: Date): Promise<void> {
  await sql`
    update job_definitions set state = jsonb_set(state, '{watermark,collectedThrough}', to_jsonb(greatest(
      ${to}::timestamptz, coalesce((state #>> '{watermark,collectedThrough}')::timestamptz, ${to}::timestamptz))))
    where id = ${jobId} and kind = ${SALESFORCE_EXPORT_KIND}`;
}

/** The campaign's custom field names (the result columns beyond the fixed ones). */
export async function customFieldNames(sql: Sql, campaignId: string, names: string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const rows = await sql<{ name: string }[]>`
    select n.name from unnest(${names}::text[]) as n(name)
    where exists (select 1 from contacts where campaign_id = ${campaignId} and custom_fields ? n.name)`;
  return new Set(rows.map((r) => r.name));
}
