-- Job 2, incremental reports: the "since the last run" watermark per (report type, scope), the window each
-- incremental run covered, the saved report files (30 days) and the stored PGP public keys.

-- One row per (report type, campaign): incremental runs of the same type and scope, scheduled or manual and
-- whatever definition they come from, share it. A run holds this row locked (FOR UPDATE) from reading the
-- watermark until its report is saved and the watermark moved, so concurrent runs serialize.
create table report_watermarks (
  report_type        text not null,
  campaign_id        bigint not null references campaigns(id) on delete cascade,
  collected_through  timestamptz not null,   -- attempts collected at or before this were reported
  last_run_id        text not null,
  updated_at         timestamptz not null default now(),
  primary key (report_type, campaign_id)
);

-- The window (start exclusive, end inclusive, on collected_at) each incremental run covered, written in the
-- same transaction that moves the watermark: a retried run finds its window here and reuses it.
create table report_windows (
  run_id        text primary key,
  report_type   text not null,
  campaign_id   bigint not null references campaigns(id) on delete cascade,
  window_start  timestamptz not null,
  window_end    timestamptz not null,
  created_at    timestamptz not null default now(),
  check (window_end >= window_start)
);

create table pgp_keys (
  id           bigint generated always as identity primary key,
  fingerprint  text not null unique,
  user_ids     text[] not null default '{}',
  armored      text not null,
  created_at   timestamptz not null default now()
);

-- Report files kept for download: kind 'report' is the CSV, 'delivery' the packaged (zip/pgp) file sent.
-- The bytes live in the content store (encrypted); a schedule removes rows and objects after expires_at.
create table saved_reports (
  id             bigint generated always as identity primary key,
  definition_id  bigint references job_definitions(id) on delete set null,
  run_id         text not null,
  kind           text not null check (kind in ('report', 'delivery')),
  file_name      text not null,
  store_key      text not null,
  size_bytes     bigint not null,
  sha256         text not null,
  row_count      bigint not null,
  range_start    timestamptz,
  range_end      timestamptz,
  created_at     timestamptz not null default now(),
  expires_at     timestamptz not null,
  unique (run_id, kind)
);
create index saved_reports_definition on saved_reports (definition_id, created_at desc);
create index saved_reports_expires on saved_reports (expires_at);
