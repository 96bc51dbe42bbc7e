// Writes interactions with their agent segments and content: bytes into the content store first, then
// the rows in one transaction with multi-row inserts. If the rows cannot be written, the objects just
// stored are removed again so the store holds nothing the database does not point at.
import { Readable } from 'node:stream';
import type { Sql } from '../../db/sql.js';
import type { ContentStore, StoredObject } from '../content-store/types.js';
import { reserveIds } from './campaigns.js';
import {
  checkInteraction, planContent, planSegments, type ContentKind, type ContentPlan, type InteractionInput,
  type SegmentPlan,
} from './interaction-plan.js';

export interface InsertedContent {
  id: string; kind: ContentKind; segment: number | null; storeKey: string; sizeBytes: number; sha256: string;
  completedAt: Date;
  /** The plaintext bytes that were stored (regenerated from the seed; a WAV for recordings). */
  bytes(): Buffer;
}

export interface InsertedInteraction {
  id: string;
  segments: SegmentPlan[];
  /** The complete call's recording (voice only). */
  recording?: InsertedContent;
  /** One recording per agent segment, in segment order (voice only). */
  segmentRecordings: InsertedContent[];
  /** Every content row, recordings included. */
  content: InsertedContent[];
}

export interface InsertOptions { withContent?: boolean; concurrency?: number; prefix?: string }

const PUT_CONCURRENCY = 4;

/** Runs fn over items, `limit` at a time; after a failure no new item starts and in-flight ones finish. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
}

interface Planned { input: InteractionInput; id: string; segments: SegmentPlan[]; content: ContentPlan[] }

/** Inserts the interactions (one batch, one transaction) and returns them in input order. */
export async function insertInteractions(
  sql: Sql, store: ContentStore | null, inputs: readonly InteractionInput[], options: InsertOptions = {},
): Promise<InsertedInteraction[]> {
  if (inputs.length === 0) return [];
  inputs.forEach(checkInteraction);
  const withContent = options.withContent ?? true;
  if (withContent && !store) throw new Error('insertInteractions needs a content store when withContent is on.');
  const first = await reserveIds(sql, 'interactions', inputs.length);
  const planned: Planned[] = inputs.map((input, i) => {
    const { segments, weights } = planSegments(input);
    return { input, id: String(first + BigInt(i)), segments, content: withContent ? planContent(input, segments, weights) : [] };
  });
  const items = planned.flatMap((p) => p.content.map((c) => ({ owner: p, c })));
  const stored: StoredObject[] = [];
  try {
    const objects = await mapLimit(items, options.concurrency ?? PUT_CONCURRENCY, async ({ c }) => {
      const object = await store!.put(Readable.from([c.bytes()]), { prefix: options.prefix ?? 'interactions' });
      stored.push(object);
      return object;
    });
    const ids = await writeRows(sql, planned, items.map((item, i) => ({ ...item, object: objects[i] })));
    return planned.map((p) => result(p, ids));
  } catch (err) {
    await Promise.allSettled(stored.map((o) => store!.remove(o.key)));
    throw err;
  }
}

export async function insertInteraction(sql: Sql, store: ContentStore | null, input: InteractionInput, options?: InsertOptions): Promise<InsertedInteraction> {
  const [inserted] = await insertInteractions(sql, store, [input], options);
  return inserted;
}

type StoredItem = { owner: Planned; c: ContentPlan; object: StoredObject };
type ContentIds = Map<string, InsertedContent>;
const contentKey = (interactionId: string, kind: string, segment: number | null) => `${interactionId}/${kind}/${segment ?? ''}`;

async function writeRows(sql: Sql, planned: Planned[], items: StoredItem[]): Promise<ContentIds> {
  const interactions = planned.map(({ input, id }) => ({
    id, campaign_id: String(input.campaignId), channel: input.channel ?? 'voice', direction: input.direction ?? 'outbound',
    started_at: input.startedAt.toISOString(), ended_at: input.endedAt.toISOString(),
    customer_phone: input.customerPhone ?? null, customer_address: input.customerAddress ?? null,
    agents: input.agents, disposition: input.disposition ?? null, voice_signature: input.voiceSignature ?? false,
  }));
  const segments = planned.flatMap(({ id, segments: s }) => s.map((seg) => ({
    interaction_id: id, n: seg.n, agent: seg.agent, started_at: seg.startedAt.toISOString(), ended_at: seg.endedAt.toISOString(),
  })));
  const content = items.map(({ owner, c, object }) => ({
    interaction_id: owner.id, kind: c.kind, segment: c.segment, store_key: object.key, size_bytes: object.sizeBytes,
    sha256: object.sha256, completed_at: c.completedAt.toISOString(),
  }));
  const ids: ContentIds = new Map();
  await sql.begin(async (tx) => {
    // created_at follows the data (the call's end), not the wall clock, so a seed always gives the same rows.
    await tx`
      insert into interactions (id, campaign_id, channel, direction, started_at, ended_at, customer_phone,
                                customer_address, agents, disposition, voice_signature, created_at)
      overriding system value
      select id, campaign_id, channel, direction, started_at, ended_at, customer_phone, customer_address, agents,
             disposition, voice_signature, ended_at
      from jsonb_to_recordset(${tx.json(interactions)}) as r(
        id bigint, campaign_id bigint, channel text, direction text, started_at timestamptz, ended_at timestamptz,
        customer_phone text, customer_address text, agents text[], disposition text, voice_signature boolean)`;
    await tx`
      insert into interaction_segments (interaction_id, n, agent, started_at, ended_at)
      select * from jsonb_to_recordset(${tx.json(segments)}) as r(
        interaction_id bigint, n integer, agent text, started_at timestamptz, ended_at timestamptz)`;
    if (content.length === 0) return;
    const rows = await tx<{ id: string; interaction_id: string; kind: string; segment: number | null }[]>`
      insert into interaction_content (interaction_id, kind, segment, store_key, size_bytes, sha256, completed_at, created_at)
      select interaction_id, kind, segment, store_key, size_bytes, sha256, completed_at, completed_at
      from jsonb_to_recordset(${tx.json(content)}) as r(
        interaction_id bigint, kind text, segment integer, store_key text, size_bytes bigint, sha256 text,
        completed_at timestamptz)
      returning id, interaction_id, kind, segment`;
    const byKey = new Map(items.map((item) => [contentKey(item.owner.id, item.c.kind, item.c.segment), item]));
    for (const row of rows) {
      const key = contentKey(String(row.interaction_id), row.kind, row.segment);
      const { c, object } = byKey.get(key)!;
      ids.set(key, { id: String(row.id), kind: c.kind, segment: c.segment, storeKey: object.key, sizeBytes: object.sizeBytes,
        sha256: object.sha256, completedAt: c.completedAt, bytes: c.bytes });
    }
  });
  return ids;
}

function result(p: Planned, ids: ContentIds): InsertedInteraction {
  const content = p.content.map((c) => ids.get(contentKey(p.id, c.kind, c.segment))!);
  return {
    id: p.id,
    segments: p.segments,
    recording: content.find((c) => c.kind === 'voice-recording' && c.segment === null),
    segmentRecordings: content.filter((c) => c.kind === 'voice-recording' && c.segment !== null),
    content,
  };
}
