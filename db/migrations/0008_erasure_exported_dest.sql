-- Job 4: an exported copy registered for playback remembers the destination that wrote it and its path
-- relative to that destination's base, so erasure deletes it through exactly that destination, whatever
-- the protocol (file, sftp, ftp, s3) — a location alone is ambiguous for sftp/ftp (host aliases, a base
-- folder relative to the login's home). Rows exported before this migration keep only exported_to;
-- erasure then finds the destination by the location's protocol, host/port or bucket and base path.
alter table interaction_content
  add column exported_dest bigint references destinations(id) on delete set null,
  add column exported_path text;

-- The journal keeps both, so the read-back verification asks the same destination again.
alter table erasure_journal
  add column exported_dest bigint,
  add column exported_path text;
