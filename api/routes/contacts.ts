// Contacts of a campaign: listed with their phones and custom fields; edited only while no process holds
// the campaign lock. The edit asks the lock's owner in the same transaction (assertCampaignUnlocked: the campaign
// row FOR SHARE), so a lock being taken concurrently is seen, never raced. Created, edited and deleted one at a
// time here (API.md "Contact lists"); every write of phones brings them in line with the blacklist
// (lib/blacklist/apply.ts) and every change is a line of the contact's history (lib/contacts/history.ts).
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { lockBlacklistForPhoneWrites, reconcileBlacklistedPhones } from '../../lib/blacklist/apply.js';
import { assertCampaignUnlocked, runOpenOrUnknownIn } from '../../lib/campaign-lock/index.js';
import { contactHistory, recordContactEvents } from '../../lib/contacts/history.js';
import { listIdFor } from '../../lib/contacts/lists.js';
import { callerOf } from '../auth.js';
import type { AppDeps } from '../app.js';
import { rethrowAsLockConflict } from '../campaign-lock-problems.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { conflict, notFound } from '../problem.js';
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
  emailBlacklisted: z.boolean().describe('its e-mail address is on the blacklist (POST /blacklist)'),
}).meta({ id: 'Contact' });

interface ContactRow {
  id: string; campaign_id: string; list_id: string | null; client_id: string; name: string | null; email: string | null;
  status: (typeof CONTACT_STATUSES)[number]; priority: number; custom_fields: Record<string, unknown>;
  phones: z.input<typeof phone>[]; updated_at: Date; major_reason: string | null; minor_reason: string | null; closed_at: Date | null;
  email_blacklisted: boolean;
}

const toContact = (row: ContactRow): z.input<typeof contact> => ({
  id: row.id, campaignId: row.campaign_id, listId: row.list_id, clientId: row.client_id, name: row.name, email: row.email,
  status: row.status, priority: row.priority, customFields: row.custom_fields, phones: row.phones, updatedAt: iso(row.updated_at)!,
  majorReason: row.major_reason, minorReason: row.minor_reason, closedAt: iso(row.closed_at), emailBlacklisted: row.email_blacklisted,
});

function selectContacts(sql: Sql) {
  return sql`
    select c.id, c.campaign_id, c.list_id, c.client_id, c.name, c.email, c.status, c.priority, c.custom_fields, c.updated_at,
      c.major_reason, c.minor_reason, c.closed_at,
      coalesce((select json_agg(json_build_object('position', p.position, 'number', p.number, 'state', p.state,
                                                  'retryCount', p.retry_count) order by p.position)
                from contact_phones p where p.contact_id = c.id), '[]'::json) as phones,
      exists (select 1 from blacklist_entries b where b.kind = 'email' and b.match_key = lower(c.email)) as email_blacklisted
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
    query: contactQuery,
    response: paged(contact),
    summary: "A campaign's contacts with phones and custom fields, in id order",
    description: 'Filters combine with and: listId, name (case-insensitive substring), phone (any of the contact\'s numbers, compared on '
      + 'their digits), email (case-insensitive), field.<custom> (the custom field\'s exact value), majorReason, minorReason, status, '
      + 'clientId. Any other query field is 400.',
    example: { response: { items: [{
        id: '1042', campaignId: '1', listId: '3', clientId: 'C-88123', name: 'Dana Whitfield', email: 'dana.whitfield@example.com',
        status: 'Callback', priority: 5, customFields: { tier: 'gold', region: 'TX' },
        phones: [{ position: 1, number: '+15125550142', state: 'Active', retryCount: 1 }, { position: 2, number: '+15125550199', state: 'Active', retryCount: 0 }],
        updatedAt: '2025-03-01T10:02:11.000Z', majorReason: null, minorReason: null, closedAt: null, emailBlacklisted: false,
      }], nextCursor: 'MTA0Mg' } },
  }, async ({ params, query }) => {
    const [campaign] = await sql`select 1 from campaigns where id = ${params.id}`;
    if (!campaign) throw notFound(`Campaign ${params.id} does not exist.`);
    const rows = await sql<ContactRow[]>`
      ${selectContacts(sql)}
      where c.campaign_id = ${params.id} and c.id > ${decodeCursor(query.cursor)}
        ${query.clientId !== undefined ? sql`and c.client_id = ${query.clientId}` : sql``}
        ${query.status !== undefined ? sql`and c.status = ${query.status}` : sql``}
        ${contactFilter(sql, query)}
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
        updatedAt: '2025-03-01T10:02:11.000Z', majorReason: null, minorReason: null, closedAt: null, emailBlacklisted: false,
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
        updatedAt: '2025-03-01T10:02:11.000Z', majorReason: null, minorReason: null, closedAt: null, emailBlacklisted: false,
      },
    },
  }, async ({ params, body, req }) => {
    await sql.begin(async (tx) => {
      const [existing] = await tx<{ campaign_id: string }[]>`select campaign_id from contacts where id = ${params.id}`;
      if (!existing) throw notFound(`Contact ${params.id} does not exist.`);
      // A holder that closed without releasing (terminated with its lock workflow) loses the lock there.
      await assertCampaignUnlocked(tx as unknown as Sql, existing.campaign_id, runOpenOrUnknownIn(client))
        .catch(rethrowAsLockConflict('contact edits wait until it finishes.'));
      if (body.phones) await lockBlacklistForPhoneWrites(tx as unknown as Sql);
      await applyContactPatch(tx as unknown as Sql, params.id, body);
      if (body.phones) await reconcileBlacklistedPhones(tx as unknown as Sql, tx`p.contact_id = ${params.id}`, { actor: callerOf(req).actor });
      await recordContactEvents(tx as unknown as Sql, [params.id], {
        kind: 'edited', detail: `changed ${Object.keys(body).filter((k) => body[k as keyof typeof body] !== undefined).join(', ')}`, actor: callerOf(req).actor,
      });
    });
    const [row] = await sql<ContactRow[]>`${selectContacts(sql)} where c.id = ${params.id}`;
    return toContact(row);
  });

  defineRoute(r, {
    method: 'post', path: '/campaigns/{id}/contacts', role: 'operator', status: 201, params: idParams, body: newContact,
    response: z.object({ id: z.string() }), errors: [409],
    summary: 'Add one contact to the campaign (409 while its campaign is locked, or when the clientId exists)',
    description: 'The contact joins the list listName (default "default"; a new name creates the list) in Remaining status. '
      + 'A phone whose number is on the blacklist is Excluded.',
    example: {
      body: { clientId: 'C-90211', name: 'Ada Brook', email: 'ada.brook@example.com', phones: [{ number: '+15125550177' }], customFields: { tier: 'silver' }, listName: 'spring' },
      response: { id: '1043' },
    },
  }, async ({ params, body, req }) => {
    const actor = callerOf(req).actor;
    return sql.begin(async (begun) => {
      const tx = begun as unknown as Sql;
      const [campaign] = await tx`select 1 from campaigns where id = ${params.id}`;
      if (!campaign) throw notFound(`Campaign ${params.id} does not exist.`);
      await assertCampaignUnlocked(tx, params.id, runOpenOrUnknownIn(client))
        .catch(rethrowAsLockConflict('contacts are added when it finishes.'));
      await lockBlacklistForPhoneWrites(tx);
      const listId = await listIdFor(tx, params.id, body.listName);
      const [created] = await tx<{ id: string }[]>`
        insert into contacts (campaign_id, list_id, client_id, name, email, status, priority, custom_fields)
        values (${params.id}, ${listId}, ${body.clientId}, ${body.name ?? null}, ${body.email ?? null}, 'Remaining', ${body.priority ?? 0},
                ${tx.json(stripNulls(body.customFields ?? {}) as never)})
        on conflict (campaign_id, client_id) do nothing returning id`;
      if (!created) {
        const [existing] = await tx<{ id: string }[]>`select id from contacts where campaign_id = ${params.id} and client_id = ${body.clientId}`;
        throw conflict(`Campaign ${params.id} already has a contact with clientId ${body.clientId} (contact ${existing?.id}); edit it with PATCH /contacts/${existing?.id}.`,
          { contactId: existing ? String(existing.id) : null }, 'contact-exists');
      }
      const contactId = String(created.id);
      const phones = body.phones.map((p, index) => ({ position: index + 1, number: p.number, state: p.state }));
      if (phones.length > 0) {
        await tx`
          insert into contact_phones (contact_id, position, number, state)
          select ${contactId}, p.position, p.number, p.state
          from jsonb_to_recordset(${tx.json(phones)}) as p(position smallint, number text, state text)`;
        await reconcileBlacklistedPhones(tx, tx`p.contact_id = ${contactId}`, { actor });
      }
      await recordContactEvents(tx, [contactId], { kind: 'created', detail: `created in list ${body.listName ?? 'default'}`, actor });
      return { id: contactId };
    });
  });

  defineRoute(r, {
    method: 'delete', path: '/contacts/{id}', role: 'operator', params: idParams, errors: [409],
    summary: 'Delete one contact (409 while its campaign is locked by an import or another process)',
  }, async ({ params }) => {
    await sql.begin(async (begun) => {
      const tx = begun as unknown as Sql;
      const [existing] = await tx<{ campaign_id: string }[]>`select campaign_id from contacts where id = ${params.id}`;
      if (!existing) throw notFound(`Contact ${params.id} does not exist.`);
      await assertCampaignUnlocked(tx, existing.campaign_id, runOpenOrUnknownIn(client))
        .catch(rethrowAsLockConflict('contacts are deleted when it finishes.'));
      await tx`delete from contacts where id = ${params.id}`;
    });
  });

  defineRoute(r, {
    method: 'get', path: '/contacts/{id}/history', role: 'viewer', params: idParams, response: z.object({ items: z.array(historyItem) }),
    summary: "The contact's last 50 activities, newest first: attempts, edits and the processes that changed it",
    example: { response: { items: [
      { at: '2025-03-02T09:14:00.000Z', kind: 'attempt', detail: 'Answered (Sale) on +15125550142 → record Closed', actor: 'agent.kim' },
      { at: '2025-03-01T10:15:42.000Z', kind: 'import', detail: 'updated by list import (merge rule append)', actor: 'key:ops', runId: 'list-import/1/2025-03-01T10:15:00.000Z' },
    ] } },
  }, async ({ params }) => {
    const [contactRow] = await sql`select 1 from contacts where id = ${params.id}`;
    if (!contactRow) throw notFound(`Contact ${params.id} does not exist.`);
    const items = await contactHistory(sql, params.id, 50);
    return { items: items.map((h) => ({ at: iso(h.at)!, kind: h.kind, detail: h.detail, ...(h.actor ? { actor: h.actor } : {}), ...(h.runId ? { runId: h.runId } : {}) })) };
  });
}

const historyItem = z.object({
  at: z.string(), kind: z.string().describe('attempt, created, edited, import, blacklist, or the process type that changed it'),
  detail: z.string(), actor: z.string().optional(), runId: z.string().optional(),
}).meta({ id: 'ContactHistoryItem' });

const customFields = z.record(z.string().min(1).max(100), z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]));
const stripNulls = (fields: Record<string, unknown>) => Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null));

const newContact = z.object({
  clientId: z.string().trim().min(1).max(200),
  name: z.string().max(200).nullable().optional(),
  email: z.email().max(320).nullable().optional(),
  priority: z.number().int().min(-1000).max(1000).optional(),
  phones: z.array(z.object({ number: phoneNumber, state: z.enum(PHONE_STATES).default('Active') })).max(10)
    .describe('position follows the array order (1 = phone, 2 = phone2, ...)'),
  customFields: customFields.optional(),
  listName: z.string().trim().min(1).max(200).optional().describe('the list the contact joins (default "default"; a new name creates it)'),
});

const KNOWN_QUERY = ['limit', 'cursor', 'clientId', 'status', 'listId', 'name', 'phone', 'email', 'majorReason', 'minorReason'];
const CUSTOM_FIELD_QUERY = /^field\.[^.\s][^\s]{0,99}$/;

const contactQuery = pageQuery.extend({
  clientId: z.string().max(200).optional(),
  status: z.enum(CONTACT_STATUSES).optional(),
  listId: id.optional().describe('only contacts of this list (GET /campaigns/{id}/lists)'),
  name: z.string().min(1).max(200).optional().describe('case-insensitive substring of the name'),
  phone: phoneNumber.optional().describe('any of the contact\'s numbers, compared on their digits'),
  email: z.string().min(1).max(320).optional().describe('the e-mail address (case-insensitive)'),
  majorReason: z.string().min(1).max(200).optional(),
  minorReason: z.string().min(1).max(200).optional(),
}).catchall(z.string().max(1000).describe('field.<custom>=value: the custom field\'s exact value')).superRefine((query, ctx) => {
  for (const key of Object.keys(query)) {
    if (KNOWN_QUERY.includes(key) || CUSTOM_FIELD_QUERY.test(key)) continue;
    ctx.addIssue({ code: 'custom', path: [key], message: `unknown query field; use one of ${KNOWN_QUERY.join(', ')} or field.<custom>` });
  }
});

function contactFilter(sql: Sql, query: z.output<typeof contactQuery>) {
  const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const custom = Object.entries(query).filter(([key]) => CUSTOM_FIELD_QUERY.test(key)).map(([key, value]) => [key.slice('field.'.length), String(value)] as const);
  return sql`
    ${query.listId !== undefined ? sql`and c.list_id = ${query.listId}` : sql``}
    ${query.name !== undefined ? sql`and c.name ilike ${like(query.name)}` : sql``}
    ${query.email !== undefined ? sql`and lower(c.email) = ${query.email.trim().toLowerCase()}` : sql``}
    ${query.majorReason !== undefined ? sql`and c.major_reason = ${query.majorReason}` : sql``}
    ${query.minorReason !== undefined ? sql`and c.minor_reason = ${query.minorReason}` : sql``}
    ${query.phone !== undefined ? sql`and exists (select 1 from contact_phones p where p.contact_id = c.id
                                                 and regexp_replace(p.number, '[^0-9]', '', 'g') = ${query.phone.replace(/[^0-9]/g, '')})` : sql``}
    ${custom.reduce((acc, [field, value]) => sql`${acc} and c.custom_fields ->> ${field} = ${value}`, sql``)}`;
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
          retry_count = case when contact_phones.number = excluded.number then contact_phones.retry_count else 0 end,
          -- the same number sent back as Excluded keeps what the blacklist remembered; any other write starts over
          -- (the blacklist excludes it again right after, remembering the state sent)
          state_before_blacklist = case when contact_phones.number = excluded.number and excluded.state = 'Excluded'
                                        then contact_phones.state_before_blacklist end`;
}
