-- Contact lists (issue 14, seed 001 "Blacklists", seed 000 "Import exclusions by account"; API.md "Contact
-- lists"): each contact's history of edits and of the processes that changed it, the account's blacklist, and
-- the exclusions-import processes that fill it.

-- A contact's activities other than its attempts (those are read from call_attempts): edits through the API and
-- the processes (imports, exports, deletions, status changes, the blacklist) that changed it. Written by
-- lib/contacts/history.ts, set-based (one insert per batch, never one per contact).
create table contact_events (
  id          bigint generated always as identity primary key,
  contact_id  bigint not null references contacts(id) on delete cascade,
  at          timestamptz not null default now(),
  kind        text not null,
  detail      text not null,
  actor       text,
  run_id      text
);
create index contact_events_contact_at on contact_events (contact_id, at desc, id desc);

-- The account's blacklist: a phone number (match_key: its digits) or an e-mail address (match_key: lowercased).
create table blacklist_entries (
  id          bigint generated always as identity primary key,
  kind        text not null check (kind in ('phone', 'email')),
  uri         text not null,
  match_key   text not null unique,
  name        text,
  added_by    text,
  run_id      text,            -- the exclusions-import run that added it (null: added through POST /blacklist)
  created_at  timestamptz not null default now()
);
create index blacklist_entries_run on blacklist_entries (run_id) where run_id is not null;

-- A phone the blacklist excluded: its state is 'Excluded' and this is the state it had before (restored when the
-- entry is removed). Null: the blacklist did not exclude it (an import or an edit may still have: that stays).
alter table contact_phones
  add column state_before_blacklist text check (state_before_blacklist in ('Active', 'Inactive', 'Blocked', 'Excluded'));
create index contact_phones_digits on contact_phones ((regexp_replace(number, '[^0-9]', '', 'g')));
create index contact_phones_blacklisted on contact_phones (contact_id) where state_before_blacklist is not null;

-- One row per exclusions-import process (its source, the file read and its counts; the run itself is in runs).
create table exclusion_imports (
  run_id          text primary key,
  acting_user     text,
  source          jsonb not null,        -- { destinationId, path } | { uploadId }
  file            text,
  counts          jsonb not null default '{}'::jsonb,
  rejected_lines  jsonb not null default '[]'::jsonb,   -- the first 50 { line, reason }
  created_at      timestamptz not null default now()
);
