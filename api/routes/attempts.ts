// Call attempts, ingested in batches: validated whole (statuses against the completion_statuses table,
// campaigns against campaigns) and inserted in one statement, so a batch lands entirely or not at all.
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest, type FieldError } from '../problem.js';
import { id, isoDateTime } from '../schemas.js';
import { phoneNumber } from './contacts.js';

const attempt = z.object({
  campaignId: id,
  clientId: z.string().trim().min(1).max(200),
  phone: phoneNumber,
  startedAt: isoDateTime,
  completedAt: isoDateTime,
  status: z.string().min(1).max(100).describe('a status of the completion-status table (seed 003), e.g. DELIVEREDPERSON'),
  disposition: z.string().max(100).optional(),
  agent: z.string().max(100).optional(),
}).refine((a) => Date.parse(a.completedAt) >= Date.parse(a.startedAt), { message: 'completedAt must not be before startedAt', path: ['completedAt'] });

export function register(r: RouteRegistry, { sql }: AppDeps) {
  defineRoute(r, {
    method: 'post', path: '/attempts', role: 'operator', status: 201, jsonLimit: '10mb',
    body: z.array(attempt).min(1).max(10_000), response: z.object({ count: z.number().int() }),
    summary: 'Record call attempts (all or nothing); the contact is linked by campaign and client id when it exists',
    example: {
      body: [{ campaignId: '1', clientId: 'C-1001', phone: '+15551234567', startedAt: '2025-03-01T14:00:00Z', completedAt: '2025-03-01T14:01:10Z', status: 'DELIVEREDPERSON', agent: 'alice' }],
      response: { count: 1 },
    },
  }, async ({ body }) => {
    const statuses = [...new Set(body.map((a) => a.status))];
    const campaigns = [...new Set(body.map((a) => a.campaignId))];
    const [knownStatuses, knownCampaigns] = await Promise.all([
      sql<{ status: string }[]>`select status from completion_statuses where status = any(${statuses})`,
      sql<{ id: string }[]>`select id::text from campaigns where id = any(${campaigns}::bigint[])`,
    ]);
    const statusOk = new Set(knownStatuses.map((s) => s.status));
    const campaignOk = new Set(knownCampaigns.map((c) => c.id));
    const errors: FieldError[] = [];
    body.forEach((a, i) => {
      if (!statusOk.has(a.status)) errors.push({ path: `${i}.status`, message: `unknown completion status ${JSON.stringify(a.status)}; see the completion-status table` });
      if (!campaignOk.has(a.campaignId)) errors.push({ path: `${i}.campaignId`, message: `campaign ${a.campaignId} does not exist` });
    });
    if (errors.length) throw badRequest(`${errors.length} attempt field${errors.length > 1 ? 's are' : ' is'} invalid; nothing was recorded.`, errors.slice(0, 100));

    const rows = body.map((a, ord) => ({
      ord, campaign_id: a.campaignId, client_id: a.clientId, phone: a.phone, started_at: a.startedAt, completed_at: a.completedAt,
      status: a.status, disposition: a.disposition ?? null, agent: a.agent ?? null,
    }));
    const result = await sql`
      insert into call_attempts (campaign_id, contact_id, client_id, phone, started_at, completed_at, status, disposition, agent)
      select a.campaign_id, c.id, a.client_id, a.phone, a.started_at, a.completed_at, a.status, a.disposition, a.agent
      from jsonb_to_recordset(${sql.json(rows)})
             as a(campaign_id bigint, client_id text, phone text, started_at timestamptz, completed_at timestamptz,
                  status text, disposition text, agent text, ord int)
      left join contacts c on c.campaign_id = a.campaign_id and c.client_id = a.client_id
      order by a.ord`;
    return { count: result.count };
  });
}
