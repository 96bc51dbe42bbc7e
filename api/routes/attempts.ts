// Call attempts, ingested in batches: validated whole (statuses against the completion_statuses table,
// campaigns against campaigns) and inserted in one transaction, so a batch lands entirely or not at all.
// An attempt may carry the reason codes and the record status the dialer reports (seed 001, API.md "Contact
// lists"): the contact takes the newest reported state, and `Closed` completes the record at the attempt's end.
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest, type FieldError } from '../problem.js';
import { id, isoDateTime } from '../schemas.js';
import { CONTACT_STATUSES, phoneNumber } from './contacts.js';

const attempt = z.object({
  campaignId: id,
  clientId: z.string().trim().min(1).max(200),
  phone: phoneNumber,
  startedAt: isoDateTime,
  completedAt: isoDateTime,
  status: z.string().min(1).max(100).describe('a status of the completion-status table (seed 003), e.g. DELIVEREDPERSON'),
  disposition: z.string().max(100).optional(),
  agent: z.string().max(100).optional(),
  majorReason: z.string().trim().min(1).max(100).optional(),
  minorReason: z.string().trim().min(1).max(100).optional(),
  recordStatus: z.enum(CONTACT_STATUSES).optional()
    .describe("the contact's status after the attempt; Closed completes the record (closedAt = completedAt)"),
}).refine((a) => Date.parse(a.completedAt) >= Date.parse(a.startedAt), { message: 'completedAt must not be before startedAt', path: ['completedAt'] });

export function register(r: RouteRegistry, { sql }: AppDeps) {
  defineRoute(r, {
    method: 'post', path: '/attempts', role: 'operator', status: 201, jsonLimit: '10mb',
    body: z.array(attempt).min(1).max(10_000), response: z.object({ count: z.number().int() }),
    summary: 'Record call attempts (all or nothing); the contact is linked by campaign and client id when it exists',
    example: {
      body: [{ campaignId: '1', clientId: 'C-1001', phone: '+15551234567', startedAt: '2025-03-01T14:00:00Z', completedAt: '2025-03-01T14:01:10Z', status: 'DELIVEREDPERSON', agent: 'alice', majorReason: 'SALE', minorReason: 'UPSELL', recordStatus: 'Closed' }],
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
      major_reason: a.majorReason ?? null, minor_reason: a.minorReason ?? null, record_status: a.recordStatus ?? null,
    }));
    const result = await sql.begin(async (tx) => {
      const inserted = await tx`
        insert into call_attempts (campaign_id, contact_id, client_id, phone, started_at, completed_at, status, disposition, agent,
                                   major_reason, minor_reason, record_status)
        select a.campaign_id, c.id, a.client_id, a.phone, a.started_at, a.completed_at, a.status, a.disposition, a.agent,
               a.major_reason, a.minor_reason, a.record_status
        from jsonb_to_recordset(${tx.json(rows)})
               as a(campaign_id bigint, client_id text, phone text, started_at timestamptz, completed_at timestamptz,
                    status text, disposition text, agent text, major_reason text, minor_reason text, record_status text, ord int)
        left join contacts c on c.campaign_id = a.campaign_id and c.client_id = a.client_id
        order by a.ord`;
      await applyReportedRecordState(tx as unknown as Sql, rows.filter((a) => a.record_status !== null || a.major_reason !== null || a.minor_reason !== null));
      return inserted;
    });
    return { count: result.count };
  });
}

interface ReportedState { campaign_id: string; client_id: string; completed_at: string; major_reason: string | null; minor_reason: string | null; record_status: string | null; ord: number }

/**
 * The contact takes the state reported by its newest attempt (by completion time, then batch order), unless an
 * attempt recorded earlier completed later: a late batch never rolls a record back. Contacts are locked in id
 * order, so two batches touching the same contacts serialize instead of deadlocking.
 */
async function applyReportedRecordState(tx: Sql, reported: ReportedState[]): Promise<void> {
  if (reported.length === 0) return;
  await tx`
    with latest as (
      select distinct on (a.campaign_id, a.client_id) a.*
      from jsonb_to_recordset(${tx.json(reported as unknown as Parameters<typeof tx.json>[0])})
             as a(campaign_id bigint, client_id text, completed_at timestamptz, major_reason text, minor_reason text, record_status text, ord int)
      order by a.campaign_id, a.client_id, a.completed_at desc, a.ord desc
    ), locked as (
      select c.id, l.* from contacts c join latest l on c.campaign_id = l.campaign_id and c.client_id = l.client_id
      order by c.id for update of c
    )
    update contacts c set
      status = coalesce(l.record_status, c.status),
      major_reason = coalesce(l.major_reason, c.major_reason),
      minor_reason = coalesce(l.minor_reason, c.minor_reason),
      closed_at = case when l.record_status = 'Closed' then l.completed_at
                       when l.record_status is not null then null else c.closed_at end,
      updated_at = now()
    from locked l
    where c.id = l.id
      and not exists (select 1 from call_attempts newer
                      where newer.contact_id = c.id and newer.completed_at > l.completed_at
                        and (newer.record_status is not null or newer.major_reason is not null or newer.minor_reason is not null))`;
}
