-- Campaign results (issue 15; seed 000 Results tab, API.md "Campaign results"): one-time downloads and
-- periodic results export jobs (job_definitions kind 'results-export'). Owned by lib/results/.

-- One file per run: a download's CSV/ZIP (kept 30 days, downloadable by id), or an export run's file (kept
-- 30 days too, sent to the job's destination; sent_at set once the destination has it). The row commits in
-- the same transaction that moves the marker or watermark its range came from.
create table results_files (
  id            bigint generated always as identity primary key,
  run_id        text not null unique,
  kind          text not null check (kind in ('download', 'export')),
  campaign_id   bigint not null references campaigns(id) on delete cascade,
  job_id        bigint references job_definitions(id) on delete set null,
  format        text not null,
  file_name     text not null,
  store_key     text not null,
  size_bytes    bigint not null,
  sha256        text not null,
  row_count     bigint not null,
  record_count  bigint not null,
  range_kind    text not null check (range_kind in ('closed', 'collected')),
  range_start   timestamptz not null,
  range_end     timestamptz not null,
  created_at    timestamptz not null default now(),
  expires_at    timestamptz not null,
  remote_path   text,
  sent_at       timestamptz
);
create index results_files_expires on results_files (expires_at);
create index results_files_unsent on results_files (job_id, range_end) where kind = 'export' and sent_at is null;

-- "Since the last download": per campaign, the collection time the last completed download without
-- `between` covered up to. Moves only in the transaction that saves such a download's file.
create table results_download_markers (
  campaign_id        bigint primary key references campaigns(id) on delete cascade,
  collected_through  timestamptz not null,
  last_run_id        text not null,
  updated_at         timestamptz not null default now()
);

-- Per results export job: the collection time its last run covered up to (moved with the run's file).
create table results_export_watermarks (
  job_id             bigint primary key references job_definitions(id) on delete cascade,
  collected_through  timestamptz not null,
  last_run_id        text not null,
  updated_at         timestamptz not null default now()
);

-- Content-store objects written before the results_files row owning them commits (see lib/results/files.ts).
create table results_pending_objects (
  store_key   text primary key,
  run_id      text not null,
  created_at  timestamptz not null default now()
);
create index results_pending_objects_age on results_pending_objects (created_at);
