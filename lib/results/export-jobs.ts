// Periodic results export jobs (seed 000 "Periodic Export Jobs"): rows of job_definitions (kind
// 'results-export') with their settings in `config`. The file a run sends is `path` with the date and time of
// the run's window end (in the job's zone) inserted before the extension: `results.csv` →
// `results_20250301_100000.csv`.
import { DateTime } from 'luxon';
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { RESULTS_EXPORT_KIND, RESULT_FORMATS } from '../../contracts/results.js';
import { everyString } from '../schedules/schedule.js';
import type { WrittenSpec } from '../schedules/spec.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
export const everySeconds = (every: string) => Number(every.slice(0, -1)) * UNIT_SECONDS[every.slice(-1)];

/** The seed's minimum export interval: 15 minutes for detailed-in-timeframe, 1 hour otherwise. */
export const minimumEverySeconds = (format: string) => (format === 'detailed-in-timeframe' ? 15 * 60 : 3600);

export const resultsExportScheduleSchema = z.object({
  startAt: z.iso.datetime({ offset: true }).describe('the first run; then every `every`'),
  every: everyString.describe('at least 1h (15m for detailed-in-timeframe)'),
}).strict();

export const resultsExportConfigSchema = z.object({
  format: z.enum(RESULT_FORMATS),
  listIds: z.array(z.string()).default([]),
  dispositions: z.union([z.literal('all'), z.array(z.string())]).default('all'),
  schedule: resultsExportScheduleSchema,
  destinationId: z.string(),
  path: z.string(),
  timezone: z.string().optional(),
});
export type ResultsExportConfig = z.output<typeof resultsExportConfigSchema>;

export interface ResultsExportJob {
  id: string; name: string; enabled: boolean; campaignId: string; campaignName: string; campaignTimezone: string;
  config: ResultsExportConfig; createdAt: Date;
}

export async function loadResultsExportJob(sql: Sql, id: string): Promise<ResultsExportJob | undefined> {
  const [row] = await sql<{ id: string; name: string; enabled: boolean; campaign_id: string; campaign_name: string; timezone: string; config: unknown; created_at: Date }[]>`
    select d.id::text, d.name, d.enabled, d.campaign_id::text, c.name as campaign_name, c.timezone, d.config, d.created_at
    from job_definitions d join campaigns c on c.id = d.campaign_id
    where d.id = ${id} and d.kind = ${RESULTS_EXPORT_KIND}`;
  if (!row) return undefined;
  return {
    id: row.id, name: row.name, enabled: row.enabled, campaignId: row.campaign_id, campaignName: row.campaign_name,
    campaignTimezone: row.timezone, config: resultsExportConfigSchema.parse(row.config), createdAt: row.created_at,
  };
}

/** `path` with `_<yyyyMMdd_HHmmss>` of `at` (in `zone`) inserted before its extension (or appended). */
export function exportFilePath(path: string, at: Date, zone: string): string {
  const stamp = DateTime.fromJSDate(at, { zone }).toFormat('yyyyMMdd_HHmmss');
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? `${path.slice(0, dot)}_${stamp}${path.slice(dot)}` : `${path}_${stamp}`;
}

/** The Temporal interval of `{ startAt, every }`: every `every`, offset so that a run falls on startAt. */
export function intervalOf(schedule: { startAt: string; every: string }): { every: string; offset: string; startAt: string } {
  const every = everySeconds(schedule.every);
  const start = Math.floor(Date.parse(schedule.startAt) / 1000);
  return { every: schedule.every, offset: `${((start % every) + every) % every}s`, startAt: new Date(start * 1000).toISOString() };
}

/** The spec a results export job's schedule has (also what the schedule sync compares and restores). */
export function resultsExportSpec(config: Pick<ResultsExportConfig, 'schedule'> | null | undefined): WrittenSpec | undefined {
  if (!config?.schedule?.startAt || !config.schedule.every) return undefined;
  return intervalOf(config.schedule);
}
