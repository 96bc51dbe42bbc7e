// Contacts, their phones and their call attempts for one campaign, in three COPYs in one transaction.
// Each contact is drawn from its own PRNG stream (seed, campaign, contact index), so every pass can
// regenerate exactly the same contact without keeping any of them in memory.
import type { Sql } from '../../db/sql.js';
import { copyIn, copyLine } from '../postgres/copy.js';
import { createRng, weightedTable, type Rng } from './prng.js';
import {
  AGENT_HANDLED, AREA_CODES, ATTEMPT_STATUSES, CONTACT_STATUSES, DISPOSITIONS, EMAIL_DOMAINS, FIRST_NAMES,
  LAST_NAMES, NOT_DIALED, PHONE_STATES, SEGMENTS, AGENT_COUNT, agentName,
} from './vocabulary.js';

export interface ContactBatch {
  seed: number;
  campaignIndex: number;
  campaignId: string;
  listId: string;
  contacts: number;
  attemptsPerContact: number;
  from: Date;
  to: Date;
}

export interface Phone { position: number; number: string; state: string; retryCount: number }
export interface Contact {
  clientId: string; name: string; email: string | null; status: string; priority: number;
  customFields: Record<string, string | number>; phones: Phone[];
}
export interface Attempt {
  phone: string; startedAt: Date; completedAt: Date; collectedAt: Date; status: string;
  disposition: string | null; agent: string | null;
}

const PHONE_COUNTS = weightedTable([[1, 55], [2, 30], [3, 15]]);
const RETRIES = weightedTable([[0, 45], [1, 25], [2, 15], [3, 8], [4, 4], [5, 3]]);

export function phoneNumber(rng: Rng): string {
  return `+1${rng.pick(AREA_CODES)}555${String(rng.int(0, 9999)).padStart(4, '0')}`;
}

export function contactAt(batch: Pick<ContactBatch, 'seed' | 'campaignIndex'>, index: number): Contact {
  const rng = createRng(batch.seed, batch.campaignIndex, 'contact', index);
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const phoneCount = rng.weighted(PHONE_COUNTS);
  const phones: Phone[] = [];
  for (let position = 1; position <= phoneCount; position++) {
    phones.push({ position, number: phoneNumber(rng), state: rng.weighted(PHONE_STATES), retryCount: rng.weighted(RETRIES) });
  }
  return {
    clientId: `C${String(index + 1).padStart(7, '0')}`,
    name: `${first} ${last}`,
    email: rng.chance(0.85) ? `${first}.${last}${rng.int(1, 999)}@${rng.pick(EMAIL_DOMAINS)}`.toLowerCase() : null,
    status: rng.weighted(CONTACT_STATUSES),
    priority: rng.chance(0.75) ? 0 : rng.int(1, 9),
    customFields: {
      accountNo: String(rng.int(10_000_000, 99_999_999)),
      segment: rng.weighted(SEGMENTS),
      balance: rng.int(0, 500_000) / 100,
    },
    phones,
  };
}

/** Seconds from dial to completion, by outcome. */
function durationSeconds(status: string, rng: Rng): number {
  if (NOT_DIALED.has(status)) return 0;
  switch (status) {
    case 'NOANSWER': return rng.int(45, 60);
    case 'BUSY': return rng.int(3, 12);
    case 'DELIVEREDPERSON': return rng.int(30, 900);
    case 'INBOUND_IVR_COMPLETED': return rng.int(60, 600);
    case 'DELIVEREDMACHINE': return rng.int(20, 60);
    case 'UNDELIVEREDMACHINE': return rng.int(10, 40);
    case 'MACHINE_HANGUP': case 'DYNAMIC_MACHINE_HANGUP': return rng.int(5, 20);
    default: return rng.int(1, 8);
  }
}

/** The contact's attempts in time order, all started and completed within [from, to]. */
export function attemptsOf(batch: ContactBatch, index: number, contact: Contact): Attempt[] {
  const rng = createRng(batch.seed, batch.campaignIndex, 'attempts', index);
  const span = Math.max(0, batch.to.getTime() - batch.from.getTime());
  const attempts: Attempt[] = [];
  for (let i = 0; i < batch.attemptsPerContact; i++) {
    const phone = rng.pick(contact.phones);
    // A blocked or excluded phone is never dialed; the dialer records why.
    const status = phone.state === 'Blocked' ? 'BLOCKED' : phone.state === 'Excluded' ? 'EXCLUDED' : rng.weighted(ATTEMPT_STATUSES);
    const durationMs = Math.min(span, durationSeconds(status, rng) * 1000);
    const start = batch.from.getTime() + Math.floor(rng.next() * (span - durationMs));
    const handled = AGENT_HANDLED.has(status);
    attempts.push({
      phone: phone.number,
      startedAt: new Date(start),
      completedAt: new Date(start + durationMs),
      collectedAt: new Date(start + durationMs + rng.int(1, 90) * 1000),
      status,
      agent: handled ? agentName(rng.int(1, AGENT_COUNT)) : null,
      disposition: handled ? rng.weighted(DISPOSITIONS) : null,
    });
  }
  return attempts.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
}

export interface ContactCounts { contacts: number; phones: number; attempts: number }

/** Writes the batch's contacts, phones and attempts; contact ids are firstContactId + index. */
export async function copyContacts(sql: Sql, batch: ContactBatch, firstContactId: bigint): Promise<ContactCounts> {
  const counts: ContactCounts = { contacts: 0, phones: 0, attempts: 0 };
  const created = batch.from;
  const eachContact = function* <T>(lines: (contact: Contact, id: bigint, index: number) => Iterable<T>) {
    for (let i = 0; i < batch.contacts; i++) yield* lines(contactAt(batch, i), firstContactId + BigInt(i), i);
  };
  await sql.begin(async (tx) => {
    await copyIn(
      tx`copy contacts (id, campaign_id, list_id, client_id, name, email, status, priority, custom_fields, created_at, updated_at) from stdin`.writable(),
      eachContact(function* (c, id) {
        counts.contacts++;
        yield copyLine([String(id), batch.campaignId, batch.listId, c.clientId, c.name, c.email, c.status, c.priority,
          JSON.stringify(c.customFields), created, created]);
      }),
    );
    await copyIn(
      tx`copy contact_phones (contact_id, position, number, state, retry_count) from stdin`.writable(),
      eachContact(function* (c, id) {
        for (const p of c.phones) {
          counts.phones++;
          yield copyLine([String(id), p.position, p.number, p.state, p.retryCount]);
        }
      }),
    );
    if (batch.attemptsPerContact === 0) return;
    await copyIn(
      tx`copy call_attempts (campaign_id, contact_id, client_id, phone, started_at, completed_at, status, disposition, agent, collected_at) from stdin`.writable(),
      eachContact(function* (c, id, i) {
        for (const a of attemptsOf(batch, i, c)) {
          counts.attempts++;
          yield copyLine([batch.campaignId, String(id), c.clientId, a.phone, a.startedAt, a.completedAt, a.status,
            a.disposition, a.agent, a.collectedAt]);
        }
      }),
    );
  });
  return counts;
}
