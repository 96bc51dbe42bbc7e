-- Job 2: the attempt and contact counts of a saved report, kept with its range, so a run retried after it
-- committed its window and file (worker crash, activity retry) returns the exact counts, not unknown ones.
-- Null only on rows saved before this migration.
alter table saved_reports add column attempt_count bigint, add column contact_count bigint;
