-- Admin console sessions (issue 17, api/console/sessions.ts is the only writer). Signing in with an API key
-- gives a session cookie; only the cookie's SHA-256 is stored. The key itself is kept encrypted under the
-- master key (lib/crypto/secrets.ts) because the console calls the API's own routes with it: every action
-- is checked by the same roles and privileges as a curl call, and a key revoked later stops the session.
create table console_sessions (
  id_hash     text primary key,
  csrf_token  text not null,
  api_key     text not null,
  key_name    text not null,
  role        text not null,
  erase       boolean not null,
  created_at  timestamptz not null default now(),
  expires_at  timestamptz not null
);
create index console_sessions_expires on console_sessions (expires_at);
