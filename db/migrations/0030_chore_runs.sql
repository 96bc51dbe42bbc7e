-- The ledger of the cluster-wide chores (issue 13): one row per pass of a chore's Temporal Schedule
-- (workflows/chores-shared.ts), written by the pass itself (activities/chores.ts). workflow_id is the
-- schedule's action (its id ends with the scheduled time), so a pass retried on another worker updates
-- its row (attempts) instead of adding one; two rows for one chore and one scheduled time cannot exist.
-- It shows operators when each chore last ran and what it did (counts and ids only), and lets the
-- production-mode test check that each chore ran once per interval with several workers. Rows older than
-- 7 days are removed by the passes themselves.
create table chore_runs (
  workflow_id   text primary key,
  chore         text not null,
  schedule_id   text not null,
  scheduled_at  timestamptz,
  started_at    timestamptz not null default now(),
  ended_at      timestamptz,
  attempts      integer not null default 1,
  worker        text,
  outcome       text check (outcome in ('completed', 'failed')),
  summary       jsonb,
  error         text
);
create index chore_runs_recent on chore_runs (chore, started_at);

-- Issue 21: an erasure scrubs the stored names of the erased items' exports (lib/erasure/export-names.ts),
-- looking the rows up by content id in every batch; the primary key leads with job_id.
create index if not exists recording_exports_content on recording_exports (content_id);
