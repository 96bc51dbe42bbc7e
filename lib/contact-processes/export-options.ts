// The options of a list export (fields, filter, separator, header, encoding, destination and folder): one
// schema for POST /campaigns/{id}/exports and for a job's `list-export` step (lib/jobs/definition.ts).
import { z } from 'zod';
import { DEFAULT_EXPORT_FIELDS } from './export.js';
import { EXPORT_ENCODINGS, STANDARD_EXPORT_FIELDS } from '../../contracts/contact-process.js';
import { contactFilterSchema, customFieldName } from '../../contracts/contact-filter.js';
import { SEPARATORS, type Separator } from '../../contracts/list-import.js';

const exportField = z.union([z.enum(STANDARD_EXPORT_FIELDS), customFieldName]);
const folder = z.string().max(1000).refine((f) => !f.replaceAll('\\', '/').split('/').some((s) => s.trim() === '..'), 'must not contain a ".." segment')
  .refine((f) => ![...f].some((ch) => ch.charCodeAt(0) < 32), 'must not contain control characters');

export const exportOptionsShape = {
  filter: contactFilterSchema.default({}),
  fields: z.array(exportField).min(1).max(200).default(DEFAULT_EXPORT_FIELDS)
    .refine((fields) => new Set(fields).size === fields.length, 'names a field twice')
    .describe('columns in this order: client_id, name, phone, phone2, phone3, email, status, or a custom field by name'),
  separator: z.enum(Object.keys(SEPARATORS) as [Separator, ...Separator[]]).default(','),
  hasHeader: z.boolean().default(true),
  encoding: z.enum(EXPORT_ENCODINGS).default('utf8'),
  destinationId: z.string().regex(/^[1-9][0-9]{0,17}$/).optional().describe('also send the file to this destination'),
  folder: folder.optional().describe('folder on the destination; the file is <folder>/<campaign id>.export.<yyyyMMddHHmmss>'),
};

/** `folder` only with `destinationId` (a refinement both users apply: `.refine(...folderNeedsDestination)`). */
export const folderNeedsDestination: [(body: { folder?: string; destinationId?: string }) => boolean, { path: string[]; message: string }] = [
  (body) => body.folder === undefined || body.destinationId !== undefined,
  { path: ['folder'], message: 'needs destinationId' },
];
