// A recording export job definition as stored (job_definitions.config) and as the API accepts it. One
// schema validates both, so a saved job can always be run: templates are checked here, at save time.
import { z } from 'zod';
import {
  DEFAULT_CHAT_FILE_NAME_TEMPLATE, DEFAULT_CHAT_MANIFEST_TEMPLATE, DEFAULT_FILE_NAME_TEMPLATE, DEFAULT_MANIFEST_TEMPLATE, defaultTemplates,
  EXPORT_CONTENT_TYPES, MANIFEST_PLACEHOLDERS, RECORDING_PLACEHOLDERS, validateTemplate,
} from './file-names.js';
import { scheduleSchema } from '../schedules/schedule.js';

const template = (allowed: readonly string[]) => z.string().max(1024).superRefine((value, ctx) => {
  for (const message of validateTemplate(value, allowed)) ctx.addIssue({ code: 'custom', message: `template ${message}` });
});

const VOICE_DEFAULTS = [DEFAULT_FILE_NAME_TEMPLATE, DEFAULT_MANIFEST_TEMPLATE];
const CHAT_DEFAULTS = [DEFAULT_CHAT_FILE_NAME_TEMPLATE, DEFAULT_CHAT_MANIFEST_TEMPLATE];

// `chatTranscripts` (issue 19) exports the chat transcripts of a chat campaign's interactions; the templates
// default per content type, and a default of the other kind is replaced by this kind's when the type changes.
export const exportJobConfigSchema = z.object({
  contentType: z.enum(EXPORT_CONTENT_TYPES).default('complete'),
  voiceSignatureOnly: z.boolean().default(false),
  dispositions: z.union([z.literal('all'), z.array(z.string().min(1).max(200)).min(1).max(500)]).default('all'),
  destinationId: z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a numeric id, e.g. "42"'),
  fileNameTemplate: template(RECORDING_PLACEHOLDERS).optional(),
  manifestTemplate: template(MANIFEST_PLACEHOLDERS).optional(),
  useForPlayback: z.boolean().default(false),
  // The API's one crontab convention (seed: GMT, day-of-week 1-7, Monday = 1); saved before migration 0021 in
  // Temporal's (0 = Sunday), which that migration converted.
  schedule: scheduleSchema.default({ every: '1h' }),
}).transform((config) => {
  const defaults = defaultTemplates(config.contentType);
  const otherDefaults = config.contentType === 'chatTranscripts' ? VOICE_DEFAULTS : CHAT_DEFAULTS;
  const pick = (value: string | undefined, fallback: string) => (value === undefined || otherDefaults.includes(value) ? fallback : value);
  return { ...config, fileNameTemplate: pick(config.fileNameTemplate, defaults.fileName), manifestTemplate: pick(config.manifestTemplate, defaults.manifest) };
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
