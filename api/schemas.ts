// Schemas and helpers the route files share: ids, times, paging, the 202 reply of a started run.
import { z } from 'zod';
import { badRequest } from './problem.js';

/** Database ids travel as strings of digits. */
export const id = z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a numeric id, e.g. "42"');
export const idParams = z.object({ id });

/** ISO 8601 with an offset or Z. */
export const isoDateTime = z.iso.datetime({ offset: true });

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional().describe('nextCursor of the previous page'),
});

export const paged = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const runAccepted = z.object({ runId: z.string().describe('the Temporal workflow id of the run') }).meta({ id: 'RunAccepted' });

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

/** The id after which the page starts (0 for the first page); a cursor we did not hand out is 400. */
export function decodeCursor(cursor: string | undefined): string {
  if (!cursor) return '0';
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!id.safeParse(decoded).success) {
    throw badRequest('The cursor is not valid; pass the nextCursor of the previous page unchanged.', [{ path: 'query.cursor', message: 'not a cursor this API handed out' }]);
  }
  return decoded;
}

/** Rows fetched with `limit + 1`: the page and the cursor of the next one (null on the last page). */
export function pageOf<T extends { id: string }>(rows: T[], limit: number): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1].id) : null };
}

export function iso(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
