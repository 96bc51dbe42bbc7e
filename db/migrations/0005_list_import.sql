-- Job 3, calling-list import: one row per import process (the Contact List Processes view), the staged
-- rows of a run (good rows and rejected rows with their reason, loaded by COPY), and the applied result
-- written in the same transaction as the rules, so a retried apply never applies twice.

create table list_imports (
  id            bigint generated always as identity primary key,   -- the Process ID of the view
  run_id        text not null unique,                              -- Temporal workflow id
  campaign_id   bigint not null references campaigns(id) on delete cascade,
  type          text not null default 'import' check (type in ('import', 'export', 'delete')),
  acting_user   text,
  source        jsonb not null,        -- { destinationId, path } | { uploadId }
  options       jsonb not null,        -- separator, hasHeader, rules, deleteAllBeforeImport
  file          text,                  -- the file actually read ($rdatetime$ resolved)
  encoding      text,
  scheduled_at  timestamptz,
  counts        jsonb not null default '{}'::jsonb,
  log_key       text,                  -- the statistics log in the content store
  log_location  text,                  -- where the log was uploaded next to the source
  created_at    timestamptz not null default now()
);
create index list_imports_campaign on list_imports (campaign_id, id desc);

-- Staging: dropped per run after the apply (or a cancel). Unlogged: a crash loses it, and the activity that
-- fills it starts over anyway.
create unlogged table list_import_rows (
  run_id         text not null,
  line           integer not null,
  client_id      text,
  name           text,
  email          text,
  phone1         text,
  phone2         text,
  phone3         text,
  custom         jsonb,
  reject_reason  text                  -- null for a good row
);
create index list_import_rows_run_client on list_import_rows (run_id, client_id);

create table list_import_results (
  run_id      text primary key,
  counts      jsonb not null,
  applied_at  timestamptz not null default now()
);
