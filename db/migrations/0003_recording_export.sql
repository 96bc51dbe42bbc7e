-- Job 1, periodic recording export: what each job has sent, one row per recording per job. The row is
-- written in the same transaction that advances the job's watermark (job_definitions.state.watermark), so
-- a retried batch can neither skip a recording nor record it twice; the manifest of a run is read from here.
create table recording_exports (
  job_id        bigint not null references job_definitions(id) on delete cascade,
  content_id    bigint not null references interaction_content(id) on delete cascade,
  run_id        text not null,                 -- workflow id of the run that exported it
  path          text not null,                 -- destination-relative file path (rendered template)
  location      text,                          -- where it landed (s3://…, sftp://…, file://…)
  size_bytes    bigint,
  sha256        text,
  result        text not null check (result in ('exported', 'failed')),
  error         text,
  exported_at   timestamptz not null default now(),
  primary key (job_id, content_id)
);
create index recording_exports_run on recording_exports (run_id, exported_at, content_id);

