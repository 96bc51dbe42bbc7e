// Shared by the erasure tests: the API in-process on a test environment, keys with and without the
// erase privilege, and interactions with content of every kind in a campaign.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { bootstrapAdminKey } from '../api/admin-key.js';
import { createApp } from '../api/app.js';
import { createCampaign, insertInteraction, type InsertedInteraction } from '../lib/generator/index.js';
import type { TestEnv } from './harness/env.js';

export interface Api {
  base: string;
  adminKey: string;
  call(method: string, url: string, options?: { key?: string | null; body?: unknown }): Promise<{ status: number; json: any }>;
  newKey(role: 'viewer' | 'operator' | 'admin', erase: boolean): Promise<string>;
  close(): Promise<void>;
}

export async function startApi(env: TestEnv): Promise<Api> {
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config, log: pino({ level: 'error' }) });
  const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const adminKey = (await bootstrapAdminKey({ sql: env.sql, config: env.config, print: () => {} }))!;
  return apiClient(base, adminKey, () => new Promise((resolve) => server.close(() => resolve())));
}

/** A client of an API at `base` (in-process or a separate process), calling with `adminKey` unless told. */
export function apiClient(base: string, adminKey: string, close: () => Promise<void> = async () => {}): Api {
  const api: Api = {
    base, adminKey,
    async call(method, url, options = {}) {
      const key = options.key === undefined ? adminKey : options.key;
      const headers: Record<string, string> = {};
      if (key) headers.authorization = `Bearer ${key}`;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${base}${url}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
    async newKey(role, erase) {
      const res = await api.call('POST', '/api-keys', { body: { name: `${role}-${randomBytes(3).toString('hex')}`, role, erase } });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      return res.json.key;
    },
    close,
  };
  return api;
}

export async function newCampaign(env: TestEnv, timezone = 'America/New_York'): Promise<string> {
  return createCampaign(env.sql, { name: `erasure-${randomBytes(4).toString('hex')}`, timezone });
}

let seed = 1;

/**
 * A voice call (complete recording, one recording per agent segment, a transcript and a screen recording)
 * or a chat / e-mail (its transcript or message), started at `startedAt`.
 */
export async function addInteraction(env: TestEnv, campaignId: string, channel: 'voice' | 'chat' | 'email', startedAt: string): Promise<InsertedInteraction> {
  const start = new Date(startedAt);
  const inserted = await insertInteraction(env.sql, env.deps.store, {
    campaignId, seed: seed++, channel, startedAt: start, endedAt: new Date(start.getTime() + 90_000),
    customerPhone: '+15551230000', agents: ['alice', 'bob'], disposition: 'Sale', recordingMs: 200,
    text: channel === 'voice' ? 'Agent: hello. Customer: my card number is ...' : undefined,
  });
  if (channel === 'voice') {
    const object = await env.deps.store.put(Readable.from([Buffer.from(`screen of ${inserted.id}`)]), { prefix: 'interactions' });
    await env.sql`
      insert into interaction_content (interaction_id, kind, segment, store_key, size_bytes, sha256, completed_at)
      values (${inserted.id}, 'screen-recording', null, ${object.key}, ${object.sizeBytes}, ${object.sha256}, ${new Date(start.getTime() + 90_000)})`;
  }
  return inserted;
}

export interface ContentState { id: string; interaction_id: string; kind: string; segment: number | null; store_key: string | null; sha256: string | null; exported_to: string | null; erased_at: Date | null; erased_run: string | null; erased_by: string | null }

export async function contentOf(env: TestEnv, campaignId: string): Promise<ContentState[]> {
  return env.sql<ContentState[]>`
    select c.id, c.interaction_id, c.kind, c.segment, c.store_key, c.sha256, c.exported_to, c.erased_at, c.erased_run, c.erased_by
    from interaction_content c join interactions i on i.id = c.interaction_id
    where i.campaign_id = ${campaignId} order by c.id`;
}

export async function auditOf(env: TestEnv, runId: string) {
  return env.sql<{ seq: string; action: string; actor: string; reason: string; scope: any; counts: any; run_id: string }[]>`
    select * from audit_log where run_id = ${runId} order by seq`;
}

export function countByKind<T extends { kind: string }>(rows: T[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row.kind] = (counts[row.kind] ?? 0) + 1;
  return counts;
}
