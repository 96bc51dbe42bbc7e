-- Job 3, the campaign lock: processes that have asked for a campaign's lock (or are about to: the API records
-- an import in the transaction that starts it) and have not been granted it. The queue itself lives in the
-- campaign's lock workflow; this is what the API and the grant read to honour `wait: false` — a request
-- that comes after another one still waiting is refused with 409, never accepted and then failed.
-- Rows of closed runs are stale: whoever reads them checks the run in Temporal and deletes them.
create table campaign_lock_requests (
  run_id        text primary key,        -- workflow id of the requesting run
  campaign_id   bigint not null references campaigns(id) on delete cascade,
  type          text not null,           -- import / export / delete
  wait          boolean not null,
  requested_at  timestamptz not null default now()
);
create index campaign_lock_requests_campaign on campaign_lock_requests (campaign_id, requested_at);
