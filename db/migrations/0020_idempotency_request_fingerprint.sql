-- Idempotency-Key scoped to the request (IETF draft-ietf-httpapi-idempotency-key-header): a key belongs to
-- one caller (api_key_id) and one request — method, path and body, hashed into `fingerprint`. The same key
-- with the same request replays the stored reply (`status`, `response`); with another path or body it is
-- refused with 422 instead of answering with another request's run. Rows written before this migration have
-- no fingerprint: which request they belonged to is unknown, so reusing one of those keys is refused too.
-- A row without `status` is a key claimed by a request still in flight (a repeat meanwhile is 409).
-- Written only by api/idempotency.ts.
alter table idempotency_keys
  alter column run_id drop not null,
  add column fingerprint text,
  add column method      text,
  add column path        text,
  add column status      integer,
  add column response    jsonb;
