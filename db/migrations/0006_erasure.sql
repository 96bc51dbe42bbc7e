-- Job 4: two-step erasure (a frozen preview, then a confirmed run), the journal of what each run erased
-- (kept for the read-back verification), and the audit log's chain rules.

-- A preview freezes the exact set of content items an erasure would destroy; confirming it erases that
-- set and nothing else. Short-lived: confirming after expires_at is refused.
create table erasure_previews (
  id            text primary key,
  campaign_id   bigint not null references campaigns(id) on delete cascade,
  items         text[] not null,
  scope         jsonb not null,              -- what the caller asked: date / from+to / interactionIds, timezone
  reason        text not null check (length(btrim(reason)) > 0),
  actor         text not null,
  api_key_id    text not null,               -- only the key that previewed may confirm
  counts        jsonb not null,              -- items per kind
  interactions  integer not null,
  size_bytes    bigint not null,
  created_at    timestamptz not null default now(),
  expires_at    timestamptz not null,
  run_id        text unique,                 -- the run that confirmed it (a preview is confirmed once)
  confirmed_at  timestamptz
);

create table erasure_preview_items (
  preview_id  text not null references erasure_previews(id) on delete cascade,
  content_id  bigint not null references interaction_content(id) on delete cascade,
  primary key (preview_id, content_id)
);

-- What a run destroyed, written in the same transaction that clears the content columns. The object
-- keys and exported locations are random or technical (no personal data) and let the verification read
-- every store back after the run, and an auditor do it again later.
create table erasure_journal (
  id           bigint generated always as identity primary key,
  run_id       text not null,
  content_id   bigint not null,
  interaction_id bigint not null,
  kind         text not null,
  segment      integer,
  store_key    text,
  exported_to  text,
  size_bytes   bigint,
  erased_at    timestamptz not null default now()
);
create index erasure_journal_run on erasure_journal (run_id, content_id);

-- The audit chain may only grow at its end: each new entry takes the next seq and names the hash of the
-- entry before it. appendAudit (lib/audit) locks the table, so concurrent appends queue instead of
-- forking; this trigger refuses any writer that skips that discipline. Whether the hashes themselves are
-- right is what verifyAuditChain checks.
create function audit_log_check_append() returns trigger language plpgsql as $$
declare
  tail audit_log%rowtype;
begin
  select * into tail from audit_log order by seq desc limit 1;
  if tail.seq is null then
    if new.seq <> 1 or new.prev_hash <> repeat('0', 64) then
      raise exception 'audit_log: the first entry must have seq 1 and the zero prev_hash' using errcode = 'check_violation';
    end if;
  elsif new.seq <> tail.seq + 1 or new.prev_hash <> tail.hash then
    raise exception 'audit_log: entry % does not continue the chain at seq %', new.seq, tail.seq using errcode = 'check_violation';
  end if;
  return new;
end $$;

create trigger audit_log_append_only_at_end before insert on audit_log
  for each row execute function audit_log_check_append();

-- One "requested" and one end entry per erasure run, whatever retries or crashes happen.
create unique index audit_log_erasure_requested on audit_log (run_id)
  where action = 'erasure.requested';
create unique index audit_log_erasure_ended on audit_log (run_id)
  where action in ('erasure.completed', 'erasure.failed', 'erasure.cancelled');
create index audit_log_at on audit_log (at);
