-- Schedules (issue 12, issue 22).
--
-- 1. One crontab convention for the whole API, the seed's (GMT, day-of-week 1-7, Monday = 1). Recording
--    export jobs saved their `config.schedule.cron` in Temporal's convention (0-6, 0 = Sunday); the fifth
--    field is rewritten into the seed's as an explicit list (0 → 7, `*/2` → the days it meant), so the
--    Temporal Schedule made from it fires at the same times and keeps its next run time. Only the stored
--    string changes; the schedule itself is left as it is.
create or replace function pg_temp.seed_day_of_week(field text) returns text language plpgsql immutable as $$
declare
  part text;
  m text[];
  lo int; hi int; step int;
  days int[] := '{}';
begin
  if field = '*' then return field; end if;
  foreach part in array string_to_array(field, ',') loop
    m := regexp_match(part, '^(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$');
    if m is null then return field; end if;           -- not ours to judge: left for the API to refuse on edit
    lo := case when m[1] = '*' then 0 else m[2]::int end;
    hi := case when m[1] = '*' then 6 when m[3] is not null then m[3]::int when m[4] is not null then 6 else lo end;
    step := coalesce(m[4]::int, 1);
    for d in lo..hi by step loop
      days := days || case when d = 0 then 7 else d end;
    end loop;
  end loop;
  return (select string_agg(d::text, ',' order by d) from (select distinct unnest(days) as d) s);
end $$;

update job_definitions
   set config = jsonb_set(config, '{schedule,cron}', to_jsonb(
         array_to_string((regexp_split_to_array(trim(config #>> '{schedule,cron}'), '\s+'))[1:4], ' ')
         || ' ' || pg_temp.seed_day_of_week((regexp_split_to_array(trim(config #>> '{schedule,cron}'), '\s+'))[5])))
 where kind = 'recording-export'
   and config #>> '{schedule,cron}' is not null
   and array_length(regexp_split_to_array(trim(config #>> '{schedule,cron}'), '\s+'), 1) = 5;

-- 2. What the schedule sync found on its last look at each Temporal Schedule of this installation, for the
--    task views and /healthz: the last spec drift it repaired (and when), a pause made in Temporal (kept,
--    with its note), a schedule with our id that starts workflows on another task queue (refused, never
--    overwritten), and the runs Temporal skipped or missed. Written only through lib/schedules/findings.ts,
--    by the sync (lib/runs/schedule-sync.ts).
create table schedule_findings (
  schedule_id        text primary key,
  checked_at         timestamptz not null default now(),
  drift              text,               -- the last drift from the definition the sync repaired
  drift_repaired_at  timestamptz,
  paused_note        text,               -- a pause made in Temporal on purpose (respected), its note
  foreign_task_queue text,               -- our id, another installation's schedule: an error
  skipped_runs       integer not null default 0,   -- overlap skips and runs missed past the catch-up window
  missed_runs        integer not null default 0
);
