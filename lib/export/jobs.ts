// Recording export job definitions in job_definitions (kind 'recording-export'): the settings in `config`,
// the watermark in `state`. Setting `completedAfter` (create, or an edit) resets the watermark to that time.
import type { Sql } from '../../db/sql.js';
import type { ExportJobConfig, ExportWatermark } from './definition.js';
import { RECORDING_EXPORT_KIND } from './queries.js';

export interface ExportJobInput { name: string; enabled: boolean; campaignId: string; completedAfter: string; config: ExportJobConfig; createdBy?: string | null }

export const exportScheduleId = (definitionId: string) => `${RECORDING_EXPORT_KIND}/${definitionId}`;

export function initialWatermark(completedAfter: string): ExportWatermark {
  return { completedAfter, afterContentId: null };
}

/**
 * The `completedAfter` a job shows: the floor the administrator set, or, once runs have passed recordings
 * completed after it, the newest such completion time (the watermark as the runs moved it).
 */
export function shownWatermark(watermark: ExportWatermark): string {
  const floor = Date.parse(watermark.completedAfter);
  const through = watermark.completedThrough ? Date.parse(watermark.completedThrough) : NaN;
  if (Number.isNaN(floor)) return watermark.completedThrough ?? watermark.completedAfter;
  return new Date(Number.isNaN(through) ? floor : Math.max(floor, through)).toISOString();
}

export async function insertExportJob(sql: Sql, input: ExportJobInput): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into job_definitions (kind, name, enabled, campaign_id, config, state, created_by)
    values (${RECORDING_EXPORT_KIND}, ${input.name}, ${input.enabled}, ${input.campaignId}, ${sql.json(input.config as never)},
            ${sql.json({ watermark: initialWatermark(input.completedAfter) } as never)}, ${input.createdBy ?? null})
    returning id`;
  await sql`update job_definitions set schedule_id = ${exportScheduleId(row.id)} where id = ${row.id}`;
  return row.id;
}

export async function readWatermark(sql: Sql, definitionId: string): Promise<ExportWatermark | undefined> {
  const [row] = await sql<{ watermark: ExportWatermark | null }[]>`
    select state -> 'watermark' as watermark from job_definitions where id = ${definitionId}`;
  return row?.watermark ?? undefined;
}
