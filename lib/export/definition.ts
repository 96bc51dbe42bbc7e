// A recording export job definition as stored (job_definitions.config) and as the API accepts it. One
// schema validates both, so a saved job can always be run: templates are checked here, at save time.
import { z } from 'zod';
import {
  DEFAULT_FILE_NAME_TEMPLATE, DEFAULT_MANIFEST_TEMPLATE, MANIFEST_PLACEHOLDERS, RECORDING_PLACEHOLDERS, validateTemplate,
} from './file-names.js';

const template = (allowed: readonly string[]) => z.string().max(1024).superRefine((value, ctx) => {
  for (const message of validateTemplate(value, allowed)) ctx.addIssue({ code: 'custom', message: `template ${message}` });
});

export const scheduleSchema = z.union([
  z.object({ every: z.string().regex(/^\d+(s|m|h|d)$/, 'must be a duration like "15m", "1h" or "1d"') }).strict(),
  z.object({ cron: z.string().max(200).superRefine((value, ctx) => {
    for (const message of cronProblems(value)) ctx.addIssue({ code: 'custom', message });
  }) }).strict(),
]);

const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 }, { name: 'hour', min: 0, max: 23 }, { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 }, { name: 'day-of-week', min: 0, max: 6 },
] as const;

/**
 * Problems of a five-field cron string (Temporal's convention: UTC, day-of-week 0-6 with 0 = Sunday), checked
 * when the job is saved so Temporal never refuses the schedule later. Fields: `*`, `n`, `a-b`, each with an
 * optional `/step`, comma-separated.
 */
export function cronProblems(cron: string): string[] {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) return [`cron ${JSON.stringify(cron)} must have five fields: minute hour day-of-month month day-of-week (UTC), e.g. "30 2 * * 1-5"`];
  const problems: string[] = [];
  fields.forEach((field, i) => {
    const { name, min, max } = CRON_FIELDS[i];
    for (const item of field.split(',')) {
      const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
      const numbers = match ? [match[2], match[3]].filter((n) => n !== undefined).map(Number) : [];
      const bad = !match || numbers.some((n) => n < min || n > max) || (numbers.length === 2 && numbers[0] > numbers[1]) || match[4] === '0';
      if (bad) problems.push(`cron ${name} field ${JSON.stringify(item)} is not *, n, a-b or */step with values ${min}-${max}`);
    }
  });
  return problems;
}

export const exportJobConfigSchema = z.object({
  contentType: z.enum(['complete', 'agentSegments']).default('complete'),
  voiceSignatureOnly: z.boolean().default(false),
  dispositions: z.union([z.literal('all'), z.array(z.string().min(1).max(200)).min(1).max(500)]).default('all'),
  destinationId: z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a numeric id, e.g. "42"'),
  fileNameTemplate: template(RECORDING_PLACEHOLDERS).default(DEFAULT_FILE_NAME_TEMPLATE),
  manifestTemplate: template(MANIFEST_PLACEHOLDERS).default(DEFAULT_MANIFEST_TEMPLATE),
  useForPlayback: z.boolean().default(false),
  schedule: scheduleSchema.default({ every: '1h' }),
});

export type ExportJobConfig = z.output<typeof exportJobConfigSchema>;

/**
 * The job's progress in job_definitions.state.watermark. `completedAfter` is the floor the administrator set:
 * only recordings completed strictly after it are exported. The cursor is the ingestion order
 * (interaction_content.ingested_at, id), strictly after (ingestedAfter, afterContentId): each batch moves it
 * to its last recording, so a recording that arrives late (its call ended before ones already exported) is
 * still ahead of it. A new job or a reset has no cursor yet (afterContentId null).
 */
export interface ExportWatermark {
  completedAfter: string;
  afterContentId: string | null;
  ingestedAfter?: string;
  /**
   * The newest completion time among the recordings this job has exported or recorded failed since
   * completedAfter was last set: what `GET /recording-export-jobs/{id}` shows as the current `completedAfter`
   * watermark (never before the floor). Display only; the selection follows the ingestion cursor.
   */
  completedThrough?: string;
  /** Only on watermarks saved before migration 0011 (a completion-order cursor, now the floor): its tie-break id. */
  floorAfterContentId?: string | null;
}
