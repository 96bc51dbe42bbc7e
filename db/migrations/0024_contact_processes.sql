-- List export, bulk delete and bulk status change (issue 14; seed 001 "Contact List Processes", API.md "Contact
-- lists"): processes of the same view as imports (list_imports, type export | delete | status-change), each with
-- the file it produced (the export, or the deleted contacts as CSV) in the content store, and its result
-- written in the same transaction as its change, so a retried activity never applies twice.
alter table list_imports drop constraint if exists list_imports_type_check;
alter table list_imports add constraint list_imports_type_check check (type in ('import', 'export', 'delete', 'status-change'));
alter table list_imports
  add column file_key      text,     -- the produced file in the content store (export, deleted contacts)
  add column file_location text;     -- where an export was sent (destination and path), its .log beside it

create table contact_process_results (
  run_id      text primary key,
  counts      jsonb not null,
  file_key    text,
  file_name   text,
  applied_at  timestamptz not null default now()
);
