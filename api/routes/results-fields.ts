// Request fields shared by the results routes (downloads and export jobs), and the list-id check.
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { isValidZone } from '../../lib/reports/timeframes.js';
import { badRequest, type FieldError } from '../problem.js';
import { id } from '../schemas.js';
import { RESULT_FORMATS } from '../../contracts/results.js';

export const resultsFormat = z.enum(RESULT_FORMATS)
  .describe('simple: the last result of each record completed in the range; detailed: every attempt of those records; detailed-in-timeframe: only the attempts made in the range');
export const listIdsField = z.array(id).max(200).describe('calling lists whose records count; omitted or empty: every list');
export const dispositionsField = z.union([z.literal('all'), z.array(z.string().min(1).max(100)).min(1).max(200)])
  .describe('"all", or the dispositions to keep (the record\'s last result; each attempt\'s own in detailed-in-timeframe)');
export const timezoneField = z.string().max(64).refine(isValidZone, { message: 'unknown time zone; use an IANA name such as America/Los_Angeles' });

/** 400 naming each list id that is not a list of the campaign. */
export async function checkListIds(sql: Sql, campaignId: string, listIds: string[] | undefined, path = 'listIds'): Promise<void> {
  if (!listIds?.length) return;
  const found = new Set((await sql<{ id: string }[]>`
    select id::text from calling_lists where campaign_id = ${campaignId} and id = any(${listIds}::bigint[])`).map((r) => r.id));
  const errors: FieldError[] = listIds.flatMap((l, i) => (found.has(l) ? [] : [{ path: `${path}.${i}`, message: `list ${l} is not a list of campaign ${campaignId}` }]));
  if (errors.length) throw badRequest('Some lists are not lists of this campaign; nothing was started.', errors);
}

