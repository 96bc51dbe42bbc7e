-- Foundation schema: the contact-center data the jobs work on, the job definitions and their history.
-- Forward-only: later changes go in new numbered files, never here.

create table campaigns (
  id           bigint generated always as identity primary key,
  name         text not null unique,
  timezone     text not null,
  state        text not null default 'running' check (state in ('running', 'stopped')),
  created_at   timestamptz not null default now()
);

-- One row per campaign while some process holds it (SPEC "Campaign lock").
create table campaign_locks (
  campaign_id  bigint primary key references campaigns(id) on delete cascade,
  held_by      text not null,            -- workflow id of the holder run
  type         text not null,            -- import / export / delete
  acting_user  text,
  since        timestamptz not null default now()
);

create table calling_lists (
  id           bigint generated always as identity primary key,
  campaign_id  bigint not null references campaigns(id) on delete cascade,
  name         text not null,
  created_at   timestamptz not null default now(),
  unique (campaign_id, name)
);

create table contacts (
  id            bigint generated always as identity primary key,
  campaign_id   bigint not null references campaigns(id) on delete cascade,
  list_id       bigint references calling_lists(id) on delete set null,
  client_id     text not null,
  name          text,
  email         text,
  status        text not null default 'Remaining'
                check (status in ('Remaining', 'Processing', 'Callback', 'Closed', 'Inactive', 'Postponed')),
  priority      integer not null default 0,
  custom_fields jsonb not null default '{}'::jsonb,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  unique (campaign_id, client_id)
);

create table contact_phones (
  id           bigint generated always as identity primary key,
  contact_id   bigint not null references contacts(id) on delete cascade,
  position     smallint not null,        -- 1 = phone, 2 = phone2, ...
  number       text not null,
  state        text not null default 'Active' check (state in ('Active', 'Inactive', 'Blocked', 'Excluded')),
  retry_count  integer not null default 0,
  unique (contact_id, position)
);

-- The completion-status table of seed 003 (filled by a later migration).
create table completion_statuses (
  status       text primary key,
  channels     text[] not null,
  rank         smallint not null,
  description  text not null
);

create table call_attempts (
  id            bigint generated always as identity primary key,
  campaign_id   bigint not null references campaigns(id) on delete cascade,
  contact_id    bigint references contacts(id) on delete set null,
  client_id     text not null,
  phone         text not null,
  started_at    timestamptz not null,
  completed_at  timestamptz not null,
  status        text not null,
  disposition   text,
  agent         text,
  duration_s    integer generated always as (greatest(0, extract(epoch from (completed_at - started_at))::integer)) stored,
  -- When the platform recorded the attempt as completed ("collected"): the clock incremental reports follow.
  collected_at  timestamptz not null default clock_timestamp()
);
create index call_attempts_campaign_completed on call_attempts (campaign_id, completed_at);
create index call_attempts_campaign_collected on call_attempts (campaign_id, collected_at, id);
create index call_attempts_contact on call_attempts (campaign_id, client_id);

create table interactions (
  id               bigint generated always as identity primary key,
  campaign_id      bigint not null references campaigns(id) on delete cascade,
  channel          text not null check (channel in ('voice', 'chat', 'email')),
  direction        text not null check (direction in ('inbound', 'outbound', 'internal')),
  started_at       timestamptz not null,
  ended_at         timestamptz not null,
  customer_phone   text,
  customer_address text,
  agents           text[] not null default '{}',   -- in handling order: first .. last
  disposition      text,
  voice_signature  boolean not null default false,
  created_at       timestamptz not null default now(),
  check (ended_at >= started_at)
);
create index interactions_campaign_started on interactions (campaign_id, started_at);

create table interaction_segments (
  interaction_id bigint not null references interactions(id) on delete cascade,
  n              integer not null,
  agent          text not null,
  started_at     timestamptz not null,
  ended_at       timestamptz not null,
  primary key (interaction_id, n)
);

-- Content of an interaction: one row per item. Kind 'voice-recording' with segment null is the complete
-- call; with segment n it is agent segment n. The bytes live in the content store, encrypted at rest.
create table interaction_content (
  id              bigint generated always as identity primary key,
  interaction_id  bigint not null references interactions(id) on delete cascade,
  kind            text not null check (kind in ('voice-recording', 'voice-transcript', 'chat-transcript',
                                                'email-message', 'screen-recording')),
  segment         integer,
  store_key       text,                 -- null once erased
  size_bytes      bigint,
  sha256          text,
  completed_at    timestamptz not null, -- recording completed (export watermark order)
  exported_to     text,                 -- playback location of an exported copy (S3 URL), last export wins
  erased_at       timestamptz,
  erased_by       text,
  erased_run      text,
  created_at      timestamptz not null default now(),
  unique nulls not distinct (interaction_id, kind, segment)
);
create index interaction_content_recordings on interaction_content (completed_at, id) where kind = 'voice-recording';

create table destinations (
  id              bigint generated always as identity primary key,
  name            text not null unique,
  protocol        text not null check (protocol in ('file', 'sftp', 'ftp', 's3', 'salesforce')),
  settings        jsonb not null default '{}'::jsonb,  -- host, port, path, username, bucket, region, ...
  secrets         text,                                -- encrypted JSON of password / privateKey / keys
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);

create table api_keys (
  id           bigint generated always as identity primary key,
  name         text not null,
  role         text not null check (role in ('viewer', 'operator', 'admin')),
  erase        boolean not null default false,
  key_hash     text not null unique,   -- sha256 of the key; the key itself is shown once
  created_at   timestamptz not null default now(),
  revoked_at   timestamptz
);

-- Job definitions of every kind; kind-specific settings in `config`, validated by the job's schema.
create table job_definitions (
  id           bigint generated always as identity primary key,
  kind         text not null,
  name         text not null,
  enabled      boolean not null default true,
  campaign_id  bigint references campaigns(id) on delete cascade,
  config       jsonb not null,
  schedule_id  text,
  state        jsonb not null default '{}'::jsonb,   -- watermarks and other run-to-run state
  created_by   text,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  unique (kind, name)
);

-- One row per run (workflow id), kept up to date by the workflows and reconciled from Temporal.
create table runs (
  run_id         text primary key,       -- Temporal workflow id
  type           text not null,
  name           text not null,          -- task name
  object_name    text,
  definition_id  bigint references job_definitions(id) on delete set null,
  campaign_id    bigint references campaigns(id) on delete set null,
  acting_user    text,
  status         text not null default 'running'
                 check (status in ('scheduled', 'running', 'completed', 'failed', 'cancelled', 'terminated')),
  step           text,
  progress_done  bigint not null default 0,
  progress_total bigint,
  attempts       integer not null default 1,
  size_bytes     bigint not null default 0,
  error          text,
  result         jsonb,
  scheduled_at   timestamptz,
  started_at     timestamptz not null default now(),
  ended_at       timestamptz
);
create index runs_type_started on runs (type, started_at desc);
create index runs_status on runs (status) where status in ('scheduled', 'running');

create table idempotency_keys (
  key          text not null,
  api_key_id   text not null,
  run_id       text not null,
  created_at   timestamptz not null default now(),
  primary key (api_key_id, key)
);

create table uploads (
  id           text primary key,
  store_key    text not null,
  size_bytes   bigint not null,
  sha256       text not null,
  uploaded_by  text,
  created_at   timestamptz not null default now()
);

-- Append-only, hash-chained audit log (SPEC "Job 4"): UPDATE and DELETE are refused by triggers.
create table audit_log (
  seq        bigint primary key,
  at         timestamptz not null,
  actor      text not null,
  action     text not null,
  reason     text,
  scope      jsonb not null default '{}'::jsonb,
  counts     jsonb not null default '{}'::jsonb,
  run_id     text,
  prev_hash  text not null,
  hash       text not null
);

create function audit_log_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
end $$;

create trigger audit_log_no_update before update or delete on audit_log
  for each row execute function audit_log_refuse_change();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_refuse_change();
