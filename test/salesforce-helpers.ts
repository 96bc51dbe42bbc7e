// Shared by the Salesforce tests: the stand-in's user and object, campaign results to export, and the API calls
// that create an account and a job.
import type { Sql } from '../db/sql.js';
import type { StandinField, StandinUser } from './harness/salesforce-standin.js';

export const SF_USER: StandinUser = { username: 'integration@example.com', password: 'pw-123', securityToken: 'TOK456', clientId: 'cc-client', clientSecret: 'cc-secret' };

/** Call_Result__c: Name required; Result_Key__c the External ID; Formula__c read-only; Phone__c unique. */
export const CALL_RESULT_FIELDS: StandinField[] = [
  { name: 'Name', type: 'string', nillable: false, length: 80 },
  { name: 'Client_Id__c', type: 'string' },
  { name: 'Disposition__c', type: 'picklist' },
  { name: 'Closed_At__c', type: 'datetime' },
  { name: 'Attempt_Number__c', type: 'double' },
  { name: 'Phone__c', type: 'phone', unique: true },
  { name: 'Result_Key__c', type: 'string', externalId: true, unique: true },
  { name: 'Formula__c', type: 'string', createable: false },
  { name: 'Is_Test__c', type: 'boolean' },
];

export const FIELD_MAP = { Name: 'name', Client_Id__c: 'client_id', Disposition__c: 'disposition', Closed_At__c: 'closed_at', Attempt_Number__c: 'attempt_number' };

/**
 * `count` closed records of the campaign, closed one second apart from `from`, each with two attempts (the last
 * one's disposition "Sale", reporting Closed); `nameless(i)` leaves record i without a name (Salesforce refuses it: Name required).
 */
export async function seedResults(sql: Sql, campaignId: string, count: number, from: Date, nameless: (i: number) => boolean = () => false): Promise<void> {
  const names = Array.from({ length: count }, (_, i) => (nameless(i) ? null : `Person ${i}`));
  await sql`
    with c as (
      insert into contacts (campaign_id, client_id, name, status, closed_at)
      select ${campaignId}, 'SF' || g, (${names}::text[])[g + 1], 'Closed', ${from.toISOString()}::timestamptz + g * interval '1 second'
      from generate_series(0, ${count - 1}::int) g
      returning id, client_id, closed_at
    )
    insert into call_attempts (campaign_id, contact_id, client_id, phone, started_at, completed_at, status, disposition, agent, record_status)
    select ${campaignId}, c.id, c.client_id, '+1555000' || n, c.closed_at - interval '1 hour' * (3 - n), c.closed_at - interval '1 hour' * (2 - n) - interval '1 second' * (2 - n),
           case when n = 2 then 'ANSWERED' else 'NOANSWER' end, case when n = 2 then 'Sale' else 'No answer' end, 'agent.a',
           case when n = 2 then 'Closed' else 'Remaining' end
    from c, generate_series(1, 2) n`;
}

export function jobBody(campaignId: string, accountId: string, over: Record<string, unknown> = {}) {
  return {
    name: `SF export ${Math.random().toString(36).slice(2, 8)}`, enabled: false, campaignId, format: 'simple', exportCreatedAfter: '2025-01-01T00:00:00Z',
    schedule: { every: '15m' }, accountId, object: 'Call_Result__c', fieldMap: FIELD_MAP, externalIdField: 'Result_Key__c', ...over,
  };
}
