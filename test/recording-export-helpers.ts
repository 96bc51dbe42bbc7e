// Shared setup of the recording export tests: recordings in a campaign, destinations, job definitions,
// starting a run, and reading back what landed at a destination.
import { parse } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Sql } from '../db/sql.js';
import type { Keyring } from '../lib/crypto/keys.js';
import { sealSecrets } from '../lib/destinations.js';
import { exportJobConfigSchema } from '../lib/export/definition.js';
import { insertExportJob } from '../lib/export/jobs.js';
import { createCampaign, insertInteractions, type InsertedInteraction } from '../lib/generator/index.js';
import type { ContentStore, StoredObject } from '../lib/content-store/types.js';
import type { DestinationSecrets, DestinationSettings, Transfer } from '../lib/transfer/index.js';
import { RECORDING_EXPORT_WORKFLOW, type RecordingExportInput, type RecordingExportResult } from '../contracts/recording-export.js';
import { runSearchAttributes } from '../contracts/search-attributes.js';
import type { TestEnv } from './harness/env.js';

export const TZ = 'America/New_York';

export async function newCampaign(sql: Sql): Promise<{ id: string; name: string }> {
  const name = `Spring ${randomBytes(3).toString('hex')}`;
  return { id: await createCampaign(sql, { name, timezone: TZ }), name };
}

export interface RecordingSpec { disposition?: string; voiceSignature?: boolean; agents?: string[] }

let seed = 1;
/** Calls one minute apart from `from`, each 2 minutes long, with small real WAVs. */
export async function seedCalls(sql: Sql, store: ContentStore, campaignId: string, from: Date, specs: RecordingSpec[]): Promise<InsertedInteraction[]> {
  return insertInteractions(sql, store, specs.map((spec, i) => {
    const startedAt = new Date(from.getTime() + i * 60_000);
    return {
      campaignId, seed: seed++, startedAt, endedAt: new Date(startedAt.getTime() + 120_000),
      customerPhone: `+1555010${String(1000 + (seed % 9000)).slice(-4)}`, agents: spec.agents ?? ['alice', 'bob'],
      disposition: spec.disposition ?? 'Sale', voiceSignature: spec.voiceSignature ?? false, recordingMs: 400,
    };
  }));
}

/**
 * `count` complete-call recordings in one statement, fast: calls one second apart from `from`, 30 s long, whose
 * content rows point at the given store objects in turn (many rows may share one object). Returns the content
 * rows in export order with the object each one points at.
 */
export async function insertRecordings(sql: Sql, campaignId: string, objects: StoredObject[], count: number, from: Date): Promise<{ id: string; storeKey: string }[]> {
  const keys = objects.map((o) => o.key);
  const rows = await sql<{ id: string; store_key: string }[]>`
    with calls as (
      insert into interactions (campaign_id, channel, direction, started_at, ended_at, customer_phone, agents, disposition)
      select ${campaignId}, 'voice', 'outbound', ${from}::timestamptz + n * interval '1 second',
             ${from}::timestamptz + n * interval '1 second' + interval '30 seconds', '+1555' || lpad(n::text, 7, '0'),
             array['agent' || (n % 7)], 'Sale'
      from generate_series(0, ${count - 1}::int) as n
      returning id, ended_at)
    insert into interaction_content (interaction_id, kind, segment, store_key, size_bytes, sha256, completed_at)
    select c.id, 'voice-recording', null, o.key, o.size, o.sha, c.ended_at
    from calls c
    join unnest(${keys}::text[], ${objects.map((o) => o.sizeBytes)}::bigint[], ${objects.map((o) => o.sha256)}::text[])
      with ordinality as o(key, size, sha, i) on o.i = c.id % ${objects.length} + 1
    returning id, store_key`;
  return rows.map((r) => ({ id: String(r.id), storeKey: r.store_key })).sort((a, b) => Number(a.id) - Number(b.id));
}

export async function createDestination(sql: Sql, keyring: Keyring, settings: DestinationSettings, secrets: DestinationSecrets = {}): Promise<string> {
  const { protocol, ...rest } = settings;
  const [row] = await sql<{ id: string }[]>`
    insert into destinations (name, protocol, settings, secrets)
    values (${`dest-${randomBytes(4).toString('hex')}`}, ${protocol}, ${sql.json(rest as never)}, ${sealSecrets(keyring, secrets)})
    returning id`;
  return row.id;
}

export async function createJob(sql: Sql, campaignId: string, config: Record<string, unknown>, completedAfter = '2020-01-01T00:00:00Z'): Promise<string> {
  return insertExportJob(sql, {
    name: `export-${randomBytes(4).toString('hex')}`, enabled: true, campaignId, completedAfter,
    config: exportJobConfigSchema.parse(config),
  });
}

export function startExport(env: TestEnv, input: RecordingExportInput) {
  return env.client.workflow.start(RECORDING_EXPORT_WORKFLOW, {
    taskQueue: env.taskQueue,
    workflowId: `recording-export/${input.definitionId}/${new Date().toISOString()}-${randomBytes(2).toString('hex')}`,
    args: [input],
    typedSearchAttributes: runSearchAttributes({ kind: 'recording-export', definitionId: input.definitionId, triggeredBy: 'test' }),
  });
}

export async function runExport(env: TestEnv, input: RecordingExportInput): Promise<{ runId: string; result: RecordingExportResult }> {
  const handle = await startExport(env, input);
  return { runId: handle.workflowId, result: (await handle.result()) as RecordingExportResult };
}

/** The default file name of a complete-call recording (campaign timezone; no phone number in it). */
export function defaultName(call: InsertedInteraction, contentId: string, agent: string, startedAt: Date): string {
  const t = DateTime.fromJSDate(startedAt, { zone: TZ });
  void call;
  return `recordings/${t.toFormat('yyyy-MM-dd')}/${t.toFormat('HH')}/${t.toFormat('yyyy-MM-dd')}_${t.toFormat('HH-mm-ss')}_${agent}_${contentId}.wav`;
}

export async function readAll(transfer: Transfer, path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await transfer.get(path)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every file name in the given folders (non-recursive each), as destination-relative paths. */
export async function filesIn(transfer: Transfer, dirs: Iterable<string>): Promise<string[]> {
  const all: string[] = [];
  for (const dir of new Set(dirs)) all.push(...(await transfer.list(dir)).map((f) => f.path));
  return all.sort();
}

export const dirOf = (path: string) => path.split('/').slice(0, -1).join('/');

/** Every file under a local folder, recursively, as paths relative to it. */
export async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name))).sort();
}

export async function readManifest(transfer: Transfer, path: string): Promise<Record<string, string>[]> {
  return parse(await readAll(transfer, path), { columns: true }) as Record<string, string>[];
}
