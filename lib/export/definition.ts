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
  z.object({ cron: z.string().regex(/^\S+(\s+\S+){4}$/, 'must have five fields: minute hour day-of-month month day-of-week (UTC)') }).strict(),
]);

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

/** The watermark kept in job_definitions.state: strictly after (completedAfter, afterContentId). */
export interface ExportWatermark { completedAfter: string; afterContentId: string | null }
