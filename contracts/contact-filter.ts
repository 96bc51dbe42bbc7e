// The contact filter of the list processes (export, bulk delete, bulk status change) and the contact search:
// its request schema, part of the contact processes' contract (contracts/contact-process.ts). Its translation
// into SQL is lib/contacts/filter.ts. Depends on zod only.
import { z } from 'zod';

/** The record statuses a contact can be in (the contacts table's check). */
export const CONTACT_RECORD_STATUSES = ['Remaining', 'Processing', 'Callback', 'Closed', 'Inactive', 'Postponed'] as const;
export type ContactRecordStatus = (typeof CONTACT_RECORD_STATUSES)[number];

const listId = z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a numeric list id, e.g. "42"');
const NO_NUL = /^[^\0]*$/;
const text = z.string().min(1).max(200).regex(NO_NUL, 'must not contain a NUL character');
/** A custom field's name as imports store it (a header of the import file). */
export const customFieldName = z.string().min(1).max(100).regex(/^[^\s"',;:=+@\0-][^\s"',;:\0]*$/, 'must be a custom field name without spaces, quotes or separators, not starting with = + - @');

export const contactFilterSchema = z.object({
  listIds: z.array(listId).min(1).max(1000).optional().describe('contacts of any of these lists (GET /campaigns/{id}/lists)'),
  statuses: z.array(z.enum(CONTACT_RECORD_STATUSES)).min(1).max(CONTACT_RECORD_STATUSES.length).optional(),
  majorReasons: z.array(text).min(1).max(100).optional(),
  minorReasons: z.array(text).min(1).max(100).optional(),
  name: text.optional().describe('case-insensitive substring of the name'),
  phone: z.string().trim().min(3).max(30).regex(NO_NUL).optional().describe("any of the contact's phone numbers, compared on their digits (as the contact search and the blacklist do)"),
  email: z.string().trim().min(3).max(320).regex(NO_NUL).optional().describe('the e-mail address, case-insensitive'),
  fields: z.record(customFieldName, z.string().max(1000).regex(NO_NUL, 'must not contain a NUL character')).optional()
    .refine((fields) => !fields || Object.keys(fields).length <= 50, 'at most 50 custom fields')
    .describe('custom field name → exact value'),
}).strict().meta({ id: 'ContactFilter' });

export type ContactFilter = z.output<typeof contactFilterSchema>;
