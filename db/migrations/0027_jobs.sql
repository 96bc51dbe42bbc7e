-- Jobs made of steps (issue 16, seed 002) and campaign triggers (seed 000).
--
-- A job's definition is a row in job_definitions (kind 'job'; config = trigger, steps, notify; campaign_id set
-- for a campaign-end trigger). Written only by lib/jobs/ (definitions.ts, history.ts, campaign-end.ts,
-- arrivals.ts, campaign-triggers.ts).

-- 1. Per-step history of each run: one row per step the run reached (the run itself is in `runs`).
create table job_run_steps (
  run_id        text not null,                 -- the job run's workflow id (runs.run_id)
  seq           integer not null,              -- order in which the run reached the step (0, 1, ...)
  name          text not null,
  kind          text not null,
  status        text not null check (status in ('running', 'completed', 'failed', 'cancelled')),
  child_id      text,                          -- the child workflow's id, for steps run as a child workflow
  started_at    timestamptz not null default now(),
  ended_at      timestamptz,
  error         text,
  output        jsonb,
  primary key (run_id, seq)
);

-- 2. End of campaign: one row per (campaign, job) ever started by a campaign becoming `completed`, so setting
--    `completed` twice (or two requests at once) starts each job once.
create table job_campaign_end_starts (
  campaign_id   bigint not null references campaigns(id) on delete cascade,
  definition_id bigint not null references job_definitions(id) on delete cascade,
  run_id        text not null,
  created_at    timestamptz not null default now(),
  primary key (campaign_id, definition_id)
);

-- 3. File arrival: one row per arrived file (destination, path, size, mtime) a job took, with the run it
--    started and where the file went afterwards; the key is also the run's workflow id, so two pollers or a
--    poller restarted after a crash start one run per file.
create table job_file_arrivals (
  definition_id bigint not null references job_definitions(id) on delete cascade,
  file_key      text not null,                 -- destination, path, size and mtime
  path          text not null,
  run_id        text not null,
  status        text not null default 'started' check (status in ('started', 'processed', 'failed')),
  moved_to      text,
  created_at    timestamptz not null default now(),
  ended_at      timestamptz,
  primary key (definition_id, file_key)
);

-- 4. Campaign state: `completed` (end of campaign) besides running and stopped.
alter table campaigns drop constraint if exists campaigns_state_check;
alter table campaigns add constraint campaigns_state_check check (state in ('running', 'stopped', 'completed'));
