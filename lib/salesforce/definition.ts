// A Salesforce export job definition as stored (job_definitions.config, kind 'salesforce-export') and as the API
// accepts it. The watermark lives in job_definitions.state (lib/salesforce/jobs.ts).
import { z } from 'zod';

const numericId = z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a numeric id, e.g. "42"');
const apiName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, 'must be a Salesforce API name, e.g. "Lead" or "Call_Result__c"');

/** `every` at least 15 minutes (seed: "The minimum interval is 15 minutes"); runs before `startAt` send nothing. */
export const salesforceScheduleSchema = z.object({
  startAt: z.iso.datetime({ offset: true }).optional().describe('no run sends anything before this time'),
  every: z.string().regex(/^[1-9]\d*(s|m|h|d)$/, 'must be a duration like "15m", "1h" or "1d"')
    .refine((every) => durationMs(every) >= 15 * 60_000, 'must be at least 15m'),
}).strict();

export const salesforceJobConfigSchema = z.object({
  format: z.enum(['simple', 'detailed']),
  listIds: z.array(numericId).min(1).max(500).optional(),
  dispositions: z.union([z.literal('all'), z.array(z.string().min(1).max(200)).min(1).max(500)]).default('all'),
  accountId: numericId,
  object: apiName,
  fieldMap: z.record(apiName, z.string().min(1).max(200)).refine((m) => Object.keys(m).length > 0, 'map at least one field').refine((m) => Object.keys(m).length <= 500, 'at most 500 fields'),
  externalIdField: apiName.optional(),
  // Stored as the Temporal schedule's own form ({ every }, what lib/schedules/definition-spec.ts reads) and the
  // start time beside it.
  schedule: z.object({ every: salesforceScheduleSchema.shape.every }).strict(),
  startAt: z.iso.datetime({ offset: true }).optional(),
});

export type SalesforceJobConfig = z.output<typeof salesforceJobConfigSchema>;

/** job_definitions.state.watermark: the floor the administrator set and how far the runs have come. */
export interface SalesforceWatermark {
  exportCreatedAfter: string;
  /** The end of the last collection-time window a run finished: the next run reads after it. */
  collectedThrough?: string | null;
}

export function durationMs(every: string): number {
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[every.slice(-1) as 's' | 'm' | 'h' | 'd'];
  return Number(every.slice(0, -1)) * unit;
}
