// The schedule forms a periodic definition accepts (API.md "Wave 2 — Schedules"): `{ cron }`, a seed crontab
// string (lib/schedules/cron.ts), or `{ every }`, a duration like "15m". One schema for every job kind, and
// one translation into the Temporal Schedule spec.
import { z } from 'zod';
import { CronError, seedCronToTemporal, temporalCronExpressions } from './cron.js';

export const cronString = z.string().max(200).superRefine((value, ctx) => {
  try { seedCronToTemporal(value); } catch (err) { ctx.addIssue({ code: 'custom', message: (err as CronError).message }); }
}).describe('crontab string, GMT: minute hour day-of-month month day-of-week (1-7, Monday = 1), e.g. "0 2 * * 7" for Sundays at 02:00');

export const everyString = z.string().regex(/^[1-9]\d*(s|m|h|d)$/, 'must be a duration like "15m", "1h" or "1d"');

export const scheduleSchema = z.union([
  z.object({ every: everyString }).strict(),
  z.object({ cron: cronString }).strict(),
]);

export type JobSchedule = z.output<typeof scheduleSchema>;

/** What lib/temporal/schedules.ts puts in the Temporal Schedule: intervals, or Temporal cron expressions. */
export function temporalSpecOf(schedule: JobSchedule): { every?: string; cron?: string[] } {
  if ('cron' in schedule) return { cron: temporalCronExpressions(seedCronToTemporal(schedule.cron)) };
  return { every: schedule.every };
}
