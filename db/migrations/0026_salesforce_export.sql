-- Periodic Salesforce export (seed 000 Results tab, API.md "Campaign results"): integration accounts and the
-- ledger of what each export job has sent. Job definitions themselves are rows of job_definitions (kind
-- 'salesforce-export'), their watermark in `state`.

-- A Salesforce integration account. `secrets` is one token of lib/crypto/secrets.ts holding password,
-- securityToken and clientSecret; it never leaves the API.
create table salesforce_accounts (
  id          bigint generated always as identity primary key,
  name        text not null unique,
  login_url   text not null,
  username    text not null,
  client_id   text,
  secrets     text not null,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

-- One row per result a job has sent (or tried to): the exactly-once ledger (lib/salesforce/ledger.ts).
-- `sending` rows are claimed before a chunk goes to Salesforce and settled (sent/failed) in the same
-- transaction as the job's watermark once Salesforce answered; see docs/salesforce.md "Exactly once".
create table salesforce_export_ledger (
  job_id         bigint not null references job_definitions(id) on delete cascade,
  result_key     text not null,
  run_id         text not null,
  state          text not null check (state in ('sending', 'sent', 'failed', 'unknown')),
  client_id      text,
  salesforce_id  text,
  created        boolean,
  error          text,
  closed_at      timestamptz,
  updated_at     timestamptz not null default now(),
  primary key (job_id, result_key)
);
create index salesforce_export_ledger_run on salesforce_export_ledger (run_id);
