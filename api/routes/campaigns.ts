// Campaigns: created by admins; every read shows the campaign lock (who holds it, what kind, since when).
import { IANAZone } from 'luxon';
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { reapCampaignLock } from '../../lib/campaign-lock/index.js';
import { LOCK_TYPES, type LockType } from '../../contracts/campaign-lock.js';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { conflict, notFound } from '../problem.js';
import { decodeCursor, idParams, iso, pageOf, pageQuery, paged } from '../schemas.js';

export const campaignLock = z.object({ heldBy: z.string(), type: z.enum(LOCK_TYPES), since: z.string() }).nullable();

const campaign = z.object({
  id: z.string(), name: z.string(), timezone: z.string(), state: z.enum(['running', 'stopped', 'completed']), lock: campaignLock, createdAt: z.string(),
}).meta({ id: 'Campaign' });

interface CampaignRow { id: string; name: string; timezone: string; state: 'running' | 'stopped' | 'completed'; created_at: Date; held_by: string | null; lock_type: LockType | null; since: Date | null }

const toCampaign = (row: CampaignRow): z.input<typeof campaign> => ({
  id: row.id, name: row.name, timezone: row.timezone, state: row.state, createdAt: iso(row.created_at)!,
  lock: row.held_by ? { heldBy: row.held_by, type: row.lock_type!, since: iso(row.since)! } : null,
});

function selectCampaigns(sql: Sql) {
  return sql`
    select c.id, c.name, c.timezone, c.state, c.created_at, l.held_by, l.type as lock_type, l.since
    from campaigns c left join campaign_locks l on l.campaign_id = c.id`;
}

export function register(r: RouteRegistry, { sql, client }: AppDeps) {
  defineRoute(r, {
    method: 'post', path: '/campaigns', role: 'admin', status: 201, errors: [409],
    body: z.object({
      name: z.string().trim().min(1).max(200),
      timezone: z.string().refine((tz) => IANAZone.isValidZone(tz), 'must be an IANA time zone, e.g. "America/New_York"'),
    }),
    response: campaign,
    summary: 'Create a campaign',
    example: { body: { name: 'Spring renewals', timezone: 'America/Chicago' }, response: { id: '1', name: 'Spring renewals', timezone: 'America/Chicago', state: 'running', lock: null, createdAt: '2025-03-01T09:00:00.000Z' } },
  }, async ({ body }) => {
    try {
      const [row] = await sql<CampaignRow[]>`
        insert into campaigns (name, timezone) values (${body.name}, ${body.timezone})
        returning id, name, timezone, state, created_at, null as held_by, null as lock_type, null as since`;
      return toCampaign(row);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw conflict(`A campaign named ${JSON.stringify(body.name)} already exists; pick another name.`);
      throw err;
    }
  });

  defineRoute(r, {
    method: 'get', path: '/campaigns', role: 'viewer', query: pageQuery, response: paged(campaign),
    summary: 'List campaigns',
    example: { response: { items: [{ id: '1', name: 'Spring renewals', timezone: 'America/Chicago', state: 'running', lock: null, createdAt: '2025-03-01T09:00:00.000Z' }], nextCursor: 'MQ' } },
  }, async ({ query }) => {
    const rows = await sql<CampaignRow[]>`
      ${selectCampaigns(sql)} where c.id > ${decodeCursor(query.cursor)} order by c.id limit ${query.limit + 1}`;
    const page = pageOf(rows, query.limit);
    return { items: page.items.map(toCampaign), nextCursor: page.nextCursor };
  });

  defineRoute(r, {
    method: 'get', path: '/campaigns/{id}', role: 'viewer', params: idParams, response: campaign,
    summary: 'A campaign with its lock (null when no process holds it)',
    example: {
      response: {
        id: '1', name: 'Spring renewals', timezone: 'America/Chicago', state: 'running', createdAt: '2025-03-01T09:00:00.000Z',
        lock: { heldBy: 'list-import/1/2025-03-01T10:15:00.000Z', type: 'import', since: '2025-03-01T10:15:02.000Z' },
      },
    },
  }, async ({ params }) => {
    let [row] = await sql<CampaignRow[]>`${selectCampaigns(sql)} where c.id = ${params.id}`;
    if (!row) throw notFound(`Campaign ${params.id} does not exist.`);
    // A lock whose holder has closed (terminated with its lock workflow) is freed, never shown as held.
    if (row.held_by && await reapCampaignLock(sql, client, params.id)) [row] = await sql<CampaignRow[]>`${selectCampaigns(sql)} where c.id = ${params.id}`;
    return toCampaign(row);
  });
}
