// The import, update and merge rules of seed 001 ("Manual Importing of Contact Records") as set-based SQL,
// run inside the one transaction that applies an import. The staged file is first classified once into
// `import_file` (contact_id set = the contact is in both; null = only in the file); the rules then work on
// fixed sets, so one rule's changes never move a contact into another rule's set.
//
// What each option does (the seed's notes decide which current states are left alone):
//   activate-contact        status → Remaining unless Remaining, Processing or Callback
//   activate-contact-phone  the same, and phones → Active with retry count 0 unless Blocked or Excluded
//   inactivate              status → Inactive unless Inactive, Processing or Callback (the seed's long
//                           description of Inactivate repeats Activate's text; its note is the rule)
//   delete                  deletes the contact whatever its status
//   append  (import rule)   adds the contact from the file in Remaining status, phones Active
//   append  (merge rule)    updates the contact from the file: name/email when the file has them, custom
//                           fields merged (file wins), phones upserted by position (a changed number
//                           starts Active with 0 retries); status, history and unchanged phones are kept
//   replace (merge rule)    deletes the contact and adds it again from the file in Remaining status
//
// Every contact the file adds (new, or replaced) joins the import's list (`listName`, default "default"; a new
// name creates it in this transaction); the contacts the file names get their blacklisted phones Excluded
// (lib/blacklist/apply.ts, under its shared lock taken first) and every contact the import changed gets one
// history line (lib/contacts/history.ts), both set-based.
import type postgres from 'postgres';
import type { Sql } from '../../db/sql.js';
import { lockBlacklistForPhoneWrites, reconcileBlacklistedPhones } from '../blacklist/apply.js';
import { recordContactEvents } from '../contacts/history.js';
import { DEFAULT_LIST, listIdFor } from '../contacts/lists.js';
import { rejectDuplicateClientIds } from './stage.js';
import type { ImportRule, UpdateRule, MergeRule, ImportRules } from '../../contracts/list-import.js';

export interface RuleCounts { imported: number; updated: number; deleted: number; replaced: number; rejected: number }
/** Where the import's new contacts go and who the history names (both optional: runs started before lists). */
export interface ImportTarget { listName?: string | null; actor?: string | null }

type Tx = Sql;
type ContactScope = ReturnType<Sql>;

const count = async (query: Promise<{ n: number }[]>) => (await query)[0].n;

async function createImportFile(tx: Tx, campaignId: string, runId: string): Promise<void> {
  await tx`
    create temp table import_file on commit drop as
    select s.line, s.client_id, s.name, s.email, s.phone1, s.phone2, s.phone3, s.custom, c.id as contact_id
    from list_import_rows s left join contacts c on c.campaign_id = ${campaignId} and c.client_id = s.client_id
    where s.run_id = ${runId} and s.reject_reason is null`;
}

/**
 * Marks later rows with an already-seen client_id as rejected, then classifies the good rows. Most files
 * have no duplicate, so the file is classified first and a unique index on it is the duplicate check (the
 * index is built anyway; a separate aggregate over the staged rows cost as much again). Only when that
 * index fails are the duplicates marked and the file classified again.
 */
export async function classifyStagedRows(tx: Tx, campaignId: string, runId: string): Promise<void> {
  await createImportFile(tx, campaignId, runId);
  try {
    await (tx as unknown as postgres.TransactionSql).savepoint((sp) => sp`create unique index import_file_client_id on import_file (client_id)`);
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err;   // unique_violation: the file repeats a client_id
    await tx`drop table import_file`;
    await rejectDuplicateClientIds(tx, runId);
    await createImportFile(tx, campaignId, runId);
    await tx`create unique index import_file_client_id on import_file (client_id)`;
  }
  await tx`analyze import_file`;
}

function onlyInDatabase(tx: Tx, campaignId: string): ContactScope {
  return tx`c.campaign_id = ${campaignId} and not exists (select 1 from import_file f where f.client_id = c.client_id)`;
}

function inBoth(tx: Tx): ContactScope {
  return tx`c.id in (select contact_id from import_file where contact_id is not null)`;
}

async function activate(tx: Tx, scope: ContactScope, phonesToo: boolean): Promise<number> {
  return count(tx<{ n: number }[]>`
    with contact_changes as (
      update contacts c set status = 'Remaining', updated_at = now()
      where ${scope} and c.status not in ('Remaining', 'Processing', 'Callback')
      returning c.id
    ), phone_changes as (
      update contact_phones p set state = 'Active', retry_count = 0
      from contacts c
      where ${phonesToo} and p.contact_id = c.id and ${scope}
        and p.state not in ('Blocked', 'Excluded') and (p.state <> 'Active' or p.retry_count <> 0)
      returning p.contact_id
    )
    select count(*)::int as n from (select id from contact_changes union select contact_id from phone_changes) changed`);
}

async function inactivate(tx: Tx, scope: ContactScope): Promise<number> {
  return count(tx<{ n: number }[]>`
    with changed as (
      update contacts c set status = 'Inactive', updated_at = now()
      where ${scope} and c.status not in ('Inactive', 'Processing', 'Callback')
      returning c.id
    ) select count(*)::int as n from changed`);
}

async function remove(tx: Tx, scope: ContactScope): Promise<number> {
  return count(tx<{ n: number }[]>`with gone as (delete from contacts c where ${scope} returning c.id) select count(*)::int as n from gone`);
}

/** Inserts file rows as new contacts in Remaining status: the rows only in the file, or (replace) the rows
 *  whose contact was just deleted. */
async function insertFromFile(tx: Tx, campaignId: string, which: 'new' | 'existing', listId: string | null): Promise<number> {
  return count(tx<{ n: number }[]>`
    with inserted as (
      insert into contacts (campaign_id, list_id, client_id, name, email, status, custom_fields)
      select ${campaignId}, ${listId}::bigint, f.client_id, f.name, f.email, 'Remaining', coalesce(f.custom, '{}'::jsonb)
      from import_file f where (f.contact_id is null) = ${which === 'new'}
      returning id, client_id
    ), phones as (
      insert into contact_phones (contact_id, position, number)
      select i.id, p.position, p.number
      from inserted i join import_file f on f.client_id = i.client_id
      cross join lateral (values (1, f.phone1), (2, f.phone2), (3, f.phone3)) as p(position, number)
      where p.number is not null
    )
    select count(*)::int as n from inserted`);
}

/** Merge "append": the file's data onto the existing contact (see the header comment). */
async function updateFromFile(tx: Tx): Promise<number> {
  return count(tx<{ n: number }[]>`
    with contact_changes as (
      update contacts c set name = coalesce(f.name, c.name), email = coalesce(f.email, c.email),
        custom_fields = c.custom_fields || coalesce(f.custom, '{}'::jsonb), updated_at = now()
      from import_file f
      where f.contact_id = c.id
        and (c.name, c.email, c.custom_fields) is distinct from
            (coalesce(f.name, c.name), coalesce(f.email, c.email), c.custom_fields || coalesce(f.custom, '{}'::jsonb))
      returning c.id
    ), phone_changes as (
      insert into contact_phones (contact_id, position, number)
      select f.contact_id, p.position, p.number
      from import_file f cross join lateral (values (1, f.phone1), (2, f.phone2), (3, f.phone3)) as p(position, number)
      where f.contact_id is not null and p.number is not null
      on conflict (contact_id, position) do update set number = excluded.number, state = 'Active', retry_count = 0
        where contact_phones.number <> excluded.number
      returning contact_id
    )
    select count(*)::int as n from (select id from contact_changes union select contact_id from phone_changes) changed`);
}

/** Import rule: contacts only in the file. */
export async function applyImportRule(tx: Tx, campaignId: string, rule: ImportRule, listId: string | null = null): Promise<Pick<RuleCounts, 'imported'>> {
  return { imported: rule === 'append' ? await insertFromFile(tx, campaignId, 'new', listId) : 0 };
}

/** Update rule: contacts only in the database. */
export async function applyUpdateRule(tx: Tx, campaignId: string, rule: UpdateRule): Promise<Pick<RuleCounts, 'updated' | 'deleted'>> {
  const scope = onlyInDatabase(tx, campaignId);
  switch (rule) {
    case 'nothing': return { updated: 0, deleted: 0 };
    case 'activate-contact': return { updated: await activate(tx, scope, false), deleted: 0 };
    case 'activate-contact-phone': return { updated: await activate(tx, scope, true), deleted: 0 };
    case 'inactivate': return { updated: await inactivate(tx, scope), deleted: 0 };
    case 'delete': return { updated: 0, deleted: await remove(tx, scope) };
  }
}

/** Merge rule: contacts both in the file and in the database. */
export async function applyMergeRule(
  tx: Tx, campaignId: string, rule: MergeRule, listId: string | null = null,
): Promise<Pick<RuleCounts, 'updated' | 'deleted' | 'replaced'>> {
  const scope = inBoth(tx);
  switch (rule) {
    case 'nothing': return { updated: 0, deleted: 0, replaced: 0 };
    case 'activate-contact': return { updated: await activate(tx, scope, false), deleted: 0, replaced: 0 };
    case 'activate-contact-phone': return { updated: await activate(tx, scope, true), deleted: 0, replaced: 0 };
    case 'inactivate': return { updated: await inactivate(tx, scope), deleted: 0, replaced: 0 };
    case 'delete': return { updated: 0, deleted: await remove(tx, scope), replaced: 0 };
    case 'append': return { updated: await updateFromFile(tx), deleted: 0, replaced: 0 };
    case 'replace': {
      await remove(tx, scope);
      return { updated: 0, deleted: 0, replaced: await insertFromFile(tx, campaignId, 'existing', listId) };
    }
  }
}

/** All rules of one import, in an order that keeps the sets apart: delete-all first (everything in the
 *  file is then "only in the file"), the update and merge rules on the classified sets, the inserts last. */
export async function applyImportRules(tx: Tx, campaignId: string, runId: string, rules: ImportRules, target: ImportTarget = {}): Promise<RuleCounts> {
  // First: an entry being added to the blacklist commits before this import reads the entries, or waits for
  // this import's commit (lib/blacklist/apply.ts).
  await lockBlacklistForPhoneWrites(tx);
  // The statements join and count whole files (a million rows is a normal list): with the default 4 MB
  // their hash joins and aggregates spill to disk in batches. Only for this transaction.
  await tx`set local work_mem = '64MB'`;
  const listName = target.listName ?? DEFAULT_LIST;
  const listId = await listIdFor(tx, campaignId, listName);
  const deletedAll = rules.deleteAllBeforeImport
    ? await count(tx<{ n: number }[]>`with gone as (delete from contacts where campaign_id = ${campaignId} returning id) select count(*)::int as n from gone`)
    : 0;
  await classifyStagedRows(tx, campaignId, runId);
  const update = await applyUpdateRule(tx, campaignId, rules.updateRule);
  const merge = await applyMergeRule(tx, campaignId, rules.mergeRule, listId);
  const imported = await applyImportRule(tx, campaignId, rules.importRule, listId);
  await reconcileBlacklistedPhones(tx, tx`p.contact_id in (select c.id from contacts c join import_file f on f.client_id = c.client_id
                                                           where c.campaign_id = ${campaignId})`, { actor: target.actor, runId });
  // Changed by this transaction = updated_at is its start time (now()); created ones also have created_at so.
  const event = { kind: 'import', actor: target.actor ?? null, runId };
  await recordContactEvents(tx, tx`select id from contacts where campaign_id = ${campaignId} and created_at = now()`,
    { ...event, detail: `imported into list ${listName}` });
  await recordContactEvents(tx, tx`select id from contacts where campaign_id = ${campaignId} and updated_at = now() and created_at <> now()`,
    { ...event, detail: `updated by list import (update rule ${rules.updateRule}, merge rule ${rules.mergeRule})` });
  const rejected = await count(tx<{ n: number }[]>`
    select count(*)::int as n from list_import_rows where run_id = ${runId} and reject_reason is not null`);
  return {
    imported: imported.imported,
    updated: update.updated + merge.updated,
    deleted: deletedAll + update.deleted + merge.deleted,
    replaced: merge.replaced,
    rejected,
  };
}
