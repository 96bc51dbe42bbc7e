-- Job 2: content-store objects a report run writes before the row that owns them (saved_reports) commits.
-- A run notes its object here, committed, before writing it; the transaction that saves the report deletes
-- the note. A note left behind (the save never committed: the run failed for good, was cancelled, or
-- its definition was deleted) is an object no saved report owns: the retention removes it with its note
-- once it is as old as an expired saved report, so no report file outlives the retention.
create table report_pending_objects (
  store_key  text primary key,
  run_id     text not null,
  created_at timestamptz not null default now()
);
create index report_pending_objects_age on report_pending_objects (created_at);
