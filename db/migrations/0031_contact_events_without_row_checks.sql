-- A contact's history rows (contact_events, migration 0023) are written set-based by lib/contacts/history.ts,
-- one row per changed contact: a bulk status change of 500,000 contacts writes 500,000 of them in its one
-- transaction. The foreign key to contacts checked each row with its own lookup and row lock (70 % of that
-- insert's time, measured: 7 of 10 s per 100,000 rows), though every writer inserts ids it has just changed or
-- locked in the same transaction. The key goes; a contact's deletion removes its history in one statement per
-- deleting statement (an AFTER DELETE trigger over the deleted rows), set-based like the rest. An event written
-- for a contact deleted at the same moment by another transaction can stay behind: it is never read (history is
-- read by contact id, and ids are never reused).
alter table contact_events drop constraint if exists contact_events_contact_id_fkey;

create function contact_events_forget_deleted() returns trigger language plpgsql as $$
begin
  delete from contact_events e using deleted_contacts d where e.contact_id = d.id;
  return null;
end $$;

create trigger contacts_forget_events after delete on contacts
  referencing old table as deleted_contacts
  for each statement execute function contact_events_forget_deleted();

-- exclusions-import processes are listed in GET /processes (API.md "Wave 2 — Contact lists"; they have no campaign)
-- beside the list processes, newest first and paged by one id: theirs come from the same sequence as
-- list_imports.id, so a process id is unique across both and orders both by when they were recorded.
alter table exclusion_imports add column id bigint;
update exclusion_imports e set id = nextval(pg_get_serial_sequence('list_imports', 'id'))
from (select run_id from exclusion_imports order by created_at) o where o.run_id = e.run_id;
do $$ begin
  execute format('alter table exclusion_imports alter column id set default nextval(%L::regclass)', pg_get_serial_sequence('list_imports', 'id'));
end $$;
alter table exclusion_imports alter column id set not null;
create unique index exclusion_imports_id on exclusion_imports (id);
