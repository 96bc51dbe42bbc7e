-- Job 1, recording export: recordings are taken in the order the platform received them, not in the order
-- their calls ended. A recording row appears when its upload finishes; uploads finish (and transactions
-- commit) out of order, so a watermark on completion time skipped every recording that arrived after a
-- later-ending one had been exported.
--
-- ingested_at is the database clock when the row got its content (insert, or a new store_key: content
-- replaced or restored). A batch reads only rows ingested before the start of the oldest transaction still
-- writing interaction_content (lib/export/queries.ts, ingestionCutoff), so a row committed late can never
-- land behind the job's cursor.
alter table interaction_content add column ingested_at timestamptz;
update interaction_content set ingested_at = created_at;
alter table interaction_content alter column ingested_at set default clock_timestamp(),
                                alter column ingested_at set not null;
create index interaction_content_recordings_ingested on interaction_content (ingested_at, id) where kind = 'voice-recording';

create function interaction_content_ingested() returns trigger language plpgsql as $$
begin
  new.ingested_at := clock_timestamp();
  return new;
end $$;

-- New content under an existing row (PUT …/recording on a missing or failed recording) is new to the
-- export jobs: a job that recorded it `failed` selects it again; one that exported it never does.
create trigger interaction_content_ingested
  before update of store_key on interaction_content
  for each row when (new.store_key is not null and new.store_key is distinct from old.store_key)
  execute function interaction_content_ingested();

-- The destination each file went to: a run keeps the destination its first committed batch used (a job
-- edited mid-run does not split a run over two destinations), and its manifest goes there too. Null on
-- rows written before this migration.
alter table recording_exports add column destination_id bigint;

-- A job's saved watermark was a cursor on (completed_at, id); it becomes the floor of the selection (nothing
-- exported before is selected again) and the ingestion cursor starts from the beginning (lib/export/definition.ts).
update job_definitions
set state = jsonb_set(state, '{watermark}', (state -> 'watermark')
      || jsonb_build_object('floorAfterContentId', state -> 'watermark' -> 'afterContentId', 'afterContentId', null))
where kind = 'recording-export' and state ? 'watermark' and not (state -> 'watermark' ? 'ingestedAfter');
