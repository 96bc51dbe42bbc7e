-- The run record keeps one task-log entry per Temporal execution: a run reset in Temporal (a new execution
-- under the same workflow id) no longer overwrites the entry of the execution before it. That earlier entry
-- is kept under `<workflow id>@<its Temporal run id>`, with `workflow_id` naming the run it belonged to
-- (null: the same as run_id). The task log pages by keyset (sort key, run_id), newest first by default.
alter table runs add column execution_id text;
alter table runs add column workflow_id text;
create index runs_log_started on runs (started_at desc, run_id desc) where status not in ('scheduled', 'running');
