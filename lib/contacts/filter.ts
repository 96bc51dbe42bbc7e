// The contact filter of the list processes (export, bulk delete, bulk status change) and contact search
// (API.md "Contact lists"; seed 001 "Contact Status Change", "Delete Contact Records"): the one translation of
// it into SQL; its request schema is contracts/contact-filter.ts. An empty filter matches every contact of the
// campaign. Criteria combine with AND; the values of one list criterion with OR. `name` is a case-insensitive
// substring, `phone` any of the contact's numbers (on their digits), `email` case-insensitive exact, `fields`
// each custom field exactly equal (as text).
import type { Sql } from '../../db/sql.js';
import type { ContactFilter } from '../../contracts/contact-filter.js';

const likeEscaped = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * `<alias>.campaign_id = … and …`: the WHERE condition selecting the filter's contacts of one campaign, as a
 * postgres.js fragment (parameters bound, never interpolated). `alias` names the contacts table in the query.
 */
export function contactFilterSql(sql: Sql, campaignId: string, filter: ContactFilter = {}, alias = 'c') {
  const c = sql(alias);
  const parts = [sql`${c}.campaign_id = ${campaignId}`];
  if (filter.listIds) parts.push(sql`${c}.list_id = any(${filter.listIds}::bigint[])`);
  if (filter.statuses) parts.push(sql`${c}.status = any(${filter.statuses as string[]}::text[])`);
  if (filter.majorReasons) parts.push(sql`${c}.major_reason = any(${filter.majorReasons}::text[])`);
  if (filter.minorReasons) parts.push(sql`${c}.minor_reason = any(${filter.minorReasons}::text[])`);
  if (filter.name !== undefined) parts.push(sql`${c}.name ilike ${`%${likeEscaped(filter.name)}%`}`);
  if (filter.email !== undefined) parts.push(sql`lower(${c}.email) = lower(${filter.email})`);
  if (filter.phone !== undefined) {
    parts.push(sql`exists (select 1 from contact_phones fp where fp.contact_id = ${c}.id and regexp_replace(fp.number, '[^0-9]', '', 'g') = ${phoneDigits(filter.phone)})`);
  }
  for (const [field, value] of Object.entries(filter.fields ?? {})) {
    parts.push(sql`${c}.custom_fields ->> ${field} = ${value}`);
  }
  return parts.reduce((all, part) => sql`${all} and ${part}`);
}

/** A string literal for SQL that takes no bind parameters (COPY): quotes doubled, under
 *  standard_conforming_strings (PostgreSQL's default, set by the COPY's connection), where a backslash is
 *  literal. A NUL byte cannot be in a PostgreSQL text value and is refused. */
export function sqlLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('a NUL character cannot be part of a filter value');
  return `'${value.replace(/'/g, "''")}'`;
}

const textArray = (values: readonly string[]) => `array[${values.map(sqlLiteral).join(', ')}]::text[]`;

/**
 * The same condition as `contactFilterSql`, as SQL text with its values quoted as literals: for COPY, which
 * takes no bind parameters. Ids are digits (the schema checks them); every other value goes through
 * `sqlLiteral`. test/contact-process-filter.test.ts checks that both select the same contacts.
 */
export function contactFilterSqlText(campaignId: string, filter: ContactFilter = {}, alias = 'c'): string {
  if (!/^[0-9]+$/.test(campaignId)) throw new Error(`campaign id ${campaignId} is not numeric`);
  if (!/^[a-z_][a-z0-9_]*$/.test(alias)) throw new Error(`alias ${alias} is not a plain identifier`);
  const c = alias;
  const parts = [`${c}.campaign_id = ${campaignId}`];
  if (filter.listIds) {
    if (!filter.listIds.every((id) => /^[0-9]+$/.test(id))) throw new Error('list ids must be numeric');
    parts.push(`${c}.list_id = any(array[${filter.listIds.join(', ')}]::bigint[])`);
  }
  if (filter.statuses) parts.push(`${c}.status = any(${textArray(filter.statuses)})`);
  if (filter.majorReasons) parts.push(`${c}.major_reason = any(${textArray(filter.majorReasons)})`);
  if (filter.minorReasons) parts.push(`${c}.minor_reason = any(${textArray(filter.minorReasons)})`);
  if (filter.name !== undefined) parts.push(`${c}.name ilike ${sqlLiteral(`%${likeEscaped(filter.name)}%`)}`);
  if (filter.email !== undefined) parts.push(`lower(${c}.email) = lower(${sqlLiteral(filter.email)})`);
  if (filter.phone !== undefined) {
    parts.push(`exists (select 1 from contact_phones fp where fp.contact_id = ${c}.id and regexp_replace(fp.number, '[^0-9]', '', 'g') = ${sqlLiteral(phoneDigits(filter.phone))})`);
  }
  for (const [field, value] of Object.entries(filter.fields ?? {})) {
    parts.push(`${c}.custom_fields ->> ${sqlLiteral(field)} = ${sqlLiteral(value)}`);
  }
  return parts.join(' and ');
}

/** How many contacts of the campaign the filter matches (a dry run). */
export async function countMatching(sql: Sql, campaignId: string, filter: ContactFilter = {}): Promise<number> {
  const [{ n }] = await sql<{ n: string }[]>`select count(*) as n from contacts c where ${contactFilterSql(sql, campaignId, filter)}`;
  return Number(n);
}

/** A number as the phone filters compare it: its digits only, so `+1 (555) 010-0000` finds `+15550100000`
 *  (the expression of the contact_phones_digits index). */
export function phoneDigits(number: string): string {
  return number.replace(/[^0-9]/g, '');
}
