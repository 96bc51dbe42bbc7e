-- Recording lifecycle (seed 000 Results tab; API.md "Recording lifecycle"): content older than the provider's
-- storage time (RECORDING_STORAGE_DAYS) expires. The content-expiry maintenance run removes the object from the
-- content store and clears store_key; the row and its metadata stay (size, checksum, the exported playback copy
-- in exported_to), and expired_at says when it went. Expiry is not erasure: erased_* stay null, no audit entry.
-- expired_run is the workflow id of the run that expired it: the run's counts are read from here, exact
-- whatever retries and worker crashes happened.
alter table interaction_content add column expired_at timestamptz, add column expired_run text;
create index interaction_content_expired_run on interaction_content (expired_run) where expired_run is not null;

-- The expiry run walks content still held in completion order: (completed_at, id) after its cursor.
create index interaction_content_held_by_completion on interaction_content (completed_at, id) where store_key is not null;

-- A recording export that meets an expired recording records it as such (not as a failure).
alter table recording_exports drop constraint recording_exports_result_check;
alter table recording_exports add constraint recording_exports_result_check check (result in ('exported', 'failed', 'expired'));

-- Chat transcript export jobs select kind 'chat-transcript' in ingestion order, like recordings.
create index interaction_content_chats_ingested on interaction_content (ingested_at, id) where kind = 'chat-transcript';
