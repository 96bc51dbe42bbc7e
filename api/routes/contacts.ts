// Contacts of a campaign: listed with their phones and custom fields; edited only while no process holds
// the campaign lock. The edit asks the lock's owner in the same transaction (assertCampaignUnlocked: the campaign
// row FOR SHARE), so a lock being taken concurrently is seen, never raced.
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { assertCampaignUnlocked, runOpenOrUnknownIn } from '../../lib/campaign-lock/index.js';
import type { AppDeps } from '../app.js';
import { rethrowAsLockConflict } from '../campaign-lock-problems.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { notFound } from '../problem.js';
import { decodeCursor, id, idParams, iso, pageOf, pageQuery, paged } from '../schemas.js';

export const CONTACT_STATUSES = ['Remaining', 'Processing', 'Callback', 'Closed', 'Inactive', 'Postponed'] as const;
const PHONE_STATES = ['Active', 'Inactive', 'Blocked', 'Excluded'] as const;
export const phoneNumber = z.string().trim().regex(/^\+?[0-9][0-9 ().-]{2,29}$/, 'must be a phone number of digits, optionally with +, spaces, dots, dashes or parentheses');

const phone = z.object({ position: z.number().int(), number: z.string(), state: z.enum(PHONE_STATES), retryCount: z.number().int() });
const contact = z.object({
  id: z.string(), campaignId: z.string(), listId: z.string().nullable(), clientId: z.string(), name: z.string().nullable(),
  email: z.string().nullable(), status: z.enum(CONTACT_STATUSES), priority: z.number().int(),
  customFields: z.record(z.string(), z.unknown()), phones: z.array(phone), updatedAt: z.string(),
  majorReason: z.string().nullable(), minorReason: z.string().nullable(),
  closedAt: z.string().nullable().describe('when the record was completed (its status became Closed)'),
}).meta({ id: 'Contact' });

interface ContactRow {
  id: string; campaign_id: string; list_id: string | null; client_id: string; name: string | null; email: string | null;
  status: (typeof CONTACT_STATUSES)[number]; priority: number; custom_fields: Record<string, unknown>;
  phones: z.input<typeof phone>[]; updated_at: Date; major_reason: string | null; minor_reason: string | null; closed_at: Date | null;
}

const toContact = (row: ContactRow): z.input<typeof contact> => ({
  id: row.id, campaignId: row.campaign_id, listId: row.list_id, clientId: row.client_id, name: row.name, email: row.email,
  status: row.status, priority: row.priority, customFields: row.custom_fields, phones: row.phones, updatedAt: iso(row.updated_at)!,
  majorReason: row.major_reason, minorReason: row.minor_reason, closedAt: iso(row.closed_at),
});

function selectContacts(sql: Sql) {
  return sql`
    select c.id, c.campaign_id, c.list_id, c.client_id, c.name, c.email, c.status, c.priority, c.custom_fields, c.updated_at,
      c.major_reason, c.minor_reason, c.closed_at,
      coalesce((select json_agg(json_build_object('position', p.position, 'number', p.number, 'state', p.state,
                                                  'retryCount', p.retry_count) order by p.position)
                from contact_phones p where p.contact_id = c.id), '[]'::json) as phones
    from contacts c`;
}

const contactPatch = z.object({
  name: z.string().max(200).nullable().optional(),
  email: z.email().max(320).nullable().optional(),
  status: z.enum(CONTACT_STATUSES).optional(),
  priority: z.number().int().min(-1000).max(1000).optional(),
  customFields: z.record(z.string().min(1).max(100), z.union([z.string().max(1000), z.number(), z.boolean(), z.null()])).optional()
    .describe('merged into the existing fields; a null value removes that field'),
  phones: z.array(z.object({ number: phoneNumber, state: z.enum(PHONE_STATES).default('Active') })).max(10).optional()
    .describe('replaces the phone list; position follows the array order (1 = phone, 2 = phone2, ...)'),
}).refine((patch) => Object.values(patch).some((value) => value !== undefined), 'send at least one field to change');

export function register(r: RouteRegistry, { sql, client }: AppDeps) {
  defineRoute(r, {
    method: 'get', path: '/campaigns/{id}/contacts', role: 'viewer', params: idParams,
    query: pageQuery.extend({ clientId: z.string().max(200).optional(), status: z.enum(CONTACT_STATUSES).optional() }),
    response: paged(contact),
    summary: "A campaign's contacts with phones and custom fields, in id order",
    example: { response: { items: [{
        id: '1042', campaignId: '1', listId: '3', clientId: 'C-88123', name: 'Dana Whitfield', email: 'dana.whitfield@example.com',
        status: 'Callback', priority: 5, customFields: { tier: 'gold', region: 'TX' },
        phones: [{ position: 1, number: '+15125550142', state: 'Active', retryCount: 1 }, { position: 2, number: '+15125550199', state: 'Active', retryCount: 0 }],
        updatedAt: '2025-03-01T10:02:11.000Z', majorReason: null, minorReason: null, closedAt: null,
      }], nextCursor: 'MTA0Mg' } },
  }, async ({ params, query }) => {
    const [campaign] = await sql`select 1 from campaigns where id = ${params.id}`;
    if (!campaign) throw notFound(`Campaign ${params.id} does not exist.`);
    const rows = await sql<ContactRow[]>`
      ${selectContacts(sql)}
      where c.campaign_id = ${params.id} and c.id > ${decodeCursor(query.cursor)}
        ${query.clientId !== undefined ? sql`and c.client_id = ${query.clientId}` : sql``}
        ${query.status !== undefined ? sql`and c.status = ${query.status}` : sql``}
      order by c.id limit ${query.limit + 1}`;
    const page = pageOf(rows, query.limit);
    return { items: page.items.map(toContact), nextCursor: page.nextCursor };
  });

  defineRoute(r, {
    method: 'get', path: '/contacts/{id}', role: 'viewer', params: idParams, response: contact,
    summary: 'One contact with phones and custom fields',
    example: { response: {
        id: '1042', campaignId: '1', listId: '3', clientId: 'C-88123', name: 'Dana Whitfield', email: 'dana.whitfield@example.com',
        status: 'Callback', priority: 5, customFields: { tier: 'gold', region: 'TX' },
        phones: [{ position: 1, number: '+15125550142', state: 'Active', retryCount: 1 }, { position: 2, number: '+15125550199', state: 'Active', retryCount: 0 }],
        updatedAt: '2025-03-01T10:02:11.000Z', majorReason: null, minorReason: null, closedAt: null,
      } },
  }, async ({ params }) => {
    const [row] = await sql<ContactRow[]>`${selectContacts(sql)} where c.id = ${params.id}`;
    if (!row) throw notFound(`Contact ${params.id} does not exist.`);
    return toContact(row);
  });

  defineRoute(r, {
    method: 'patch', path: '/contacts/{id}', role: 'operator', params: z.object({ id }), body: contactPatch, response: contact,
    errors: [409], summary: "Edit a contact (409 while its campaign is locked by an import or another process)",
    example: {
      body: { status: 'Callback', customFields: { tier: 'gold' } },
      response: {
        id: '1042', campaignId: '1', listId: '3', clientId: 'C-88123', name: 'Dana Whitfield', email: 'dana.whitfield@example.com',
        status: 'Callback', priority: 5, customFields: { tier: 'gold', region: 'TX' },
        phones: [{ position: 1, number: '+15125550142', state: 'Active', retryCount: 1 }, { position: 2, number: '+15125550199', state: 'Active', retryCount: 0 }],
        updatedAt: '2025-03-01T10:02:11.000Z', majorReason: null, minorReason: null, closedAt: null,
      },
    },
  }, async ({ params, body }) => {
    await sql.begin(async (tx) => {
      const [existing] = await tx<{ campaign_id: string }[]>`select campaign_id from contacts where id = ${params.id}`;
      if (!existing) throw notFound(`Contact ${params.id} does not exist.`);
      // A holder that closed without releasing (terminated with its lock workflow) loses the lock there.
      await assertCampaignUnlocked(tx as unknown as Sql, existing.campaign_id, runOpenOrUnknownIn(client))
        .catch(rethrowAsLockConflict('contact edits wait until it finishes.'));
      await applyContactPatch(tx as unknown as Sql, params.id, body);
    });
    const [row] = await sql<ContactRow[]>`${selectContacts(sql)} where c.id = ${params.id}`;
    return toContact(row);
  });
}

async function applyContactPatch(tx: Sql, contactId: string, patch: z.output<typeof contactPatch>): Promise<void> {
  const set = <T>(value: T | undefined) => ({ given: value !== undefined, value: value ?? null });
  const name = set(patch.name), email = set(patch.email), status = set(patch.status), priority = set(patch.priority);
  await tx`
    update contacts set
      name = case when ${name.given}::boolean then ${name.value}::text else name end,
      email = case when ${email.given}::boolean then ${email.value}::text else email end,
      status = case when ${status.given}::boolean then ${status.value}::text else status end,
      priority = case when ${priority.given}::boolean then ${priority.value}::int else priority end,
      custom_fields = jsonb_strip_nulls(custom_fields || ${tx.json(patch.customFields ?? {})}),
      updated_at = now()
    where id = ${contactId}`;
  if (!patch.phones) return;
  // Same number at the same position keeps its retry count; the rest of the list is replaced.
  const phones = patch.phones.map((p, index) => ({ position: index + 1, number: p.number, state: p.state }));
  await tx`delete from contact_phones where contact_id = ${contactId} and position > ${phones.length}`;
  if (phones.length === 0) return;
  await tx`
    insert into contact_phones (contact_id, position, number, state)
    select ${contactId}, p.position, p.number, p.state
    from jsonb_to_recordset(${tx.json(phones)}) as p(position smallint, number text, state text)
    on conflict (contact_id, position) do update
      set number = excluded.number, state = excluded.state,
          retry_count = case when contact_phones.number = excluded.number then contact_phones.retry_count else 0 end`;
}
