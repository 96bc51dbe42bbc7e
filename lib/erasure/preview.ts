// Step one of an erasure: freeze exactly which content items a scope covers (erasure_preview_items) and
// count them per kind. Step two (confirm) erases that frozen set and nothing else, and is refused when the
// scope no longer covers the same items. Days are whole days in the campaign's timezone (DST-aware:
// PostgreSQL turns local midnights into instants), on the interaction's start time.
import { randomBytes } from 'node:crypto';
import type { TransactionSql } from 'postgres';
import type { Sql } from '../../db/sql.js';
import type { ErasableItem } from '../../contracts/erasure.js';

export interface PreviewScope {
  campaignId: string;
  items: ErasableItem[];
  /** Inclusive day range (YYYY-MM-DD) in the campaign's timezone; a single day has from = to. */
  fromDay?: string;
  toDay?: string;
  interactionIds?: string[];
}

export interface PreviewRow {
  id: string; campaign_id: string; items: ErasableItem[]; scope: Record<string, unknown>; reason: string; actor: string;
  api_key_id: string; counts: Record<string, number>; interactions: number; size_bytes: string; created_at: Date;
  expires_at: Date; run_id: string | null; confirmed_at: Date | null;
}

export interface PreviewSummary { counts: Record<ErasableItem, number>; items: number; interactions: number; sizeBytes: number }

export type Db = Sql | TransactionSql<Record<string, never>>;

/** The content items a scope covers right now: present (stored or exported), not yet erased. */
export function contentInScope(sql: Db, scope: PreviewScope, timezone: string) {
  const ids = scope.interactionIds?.length ? scope.interactionIds : null;
  return sql`
    select c.id from interactions i join interaction_content c on c.interaction_id = i.id
    where i.campaign_id = ${scope.campaignId}
      and c.kind = any(${scope.items}::text[])
      and c.erased_at is null and (c.store_key is not null or c.exported_to is not null)
      and (${scope.fromDay ?? null}::date is null or i.started_at >= (${scope.fromDay ?? null}::date::timestamp at time zone ${timezone}))
      and (${scope.toDay ?? null}::date is null or i.started_at < ((${scope.toDay ?? null}::date + 1)::timestamp at time zone ${timezone}))
      and (${ids}::bigint[] is null or i.id = any(${ids}::bigint[]))`;
}

/** Interaction ids of the list that are not interactions of the campaign. */
export async function foreignInteractions(sql: Db, campaignId: string, ids: string[]): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select x.id::text as id from unnest(${ids}::bigint[]) as x(id)
    where not exists (select 1 from interactions i where i.id = x.id and i.campaign_id = ${campaignId})`;
  return rows.map((r) => r.id);
}

export async function createPreview(sql: Sql, input: {
  scope: PreviewScope; timezone: string; request: Record<string, unknown>; reason: string; actor: string; apiKeyId: string; now: Date;
  /** How long the preview may be confirmed (ERASURE_PREVIEW_TTL_MINUTES). */
  ttlMinutes: number;
}): Promise<{ id: string; expiresAt: Date; summary: PreviewSummary }> {
  const id = `ep_${randomBytes(12).toString('base64url')}`;
  const expiresAt = new Date(input.now.getTime() + input.ttlMinutes * 60_000);
  return sql.begin(async (tx) => {
    // Unconfirmed previews are of no use a day after they expire.
    await tx`delete from erasure_previews where run_id is null and expires_at < ${input.now}::timestamptz - interval '1 day'`;
    await tx`
      insert into erasure_previews (id, campaign_id, items, scope, reason, actor, api_key_id, counts, interactions, size_bytes, expires_at)
      values (${id}, ${input.scope.campaignId}, ${input.scope.items}, ${tx.json(input.request as never)}, ${input.reason},
              ${input.actor}, ${input.apiKeyId}, '{}', 0, 0, ${expiresAt})`;
    await tx`
      insert into erasure_preview_items (preview_id, content_id)
      select ${id}, s.id from (${contentInScope(tx, input.scope, input.timezone)}) s`;
    const summary = await summarize(tx, id, input.scope.items);
    await tx`
      update erasure_previews set counts = ${tx.json(summary.counts)}, interactions = ${summary.interactions},
        size_bytes = ${summary.sizeBytes} where id = ${id}`;
    return { id, expiresAt, summary };
  }) as Promise<{ id: string; expiresAt: Date; summary: PreviewSummary }>;
}

async function summarize(sql: Db, previewId: string, items: ErasableItem[]): Promise<PreviewSummary> {
  const perKind = await sql<{ kind: ErasableItem; n: number }[]>`
    select c.kind, count(*)::int as n from erasure_preview_items p join interaction_content c on c.id = p.content_id
    where p.preview_id = ${previewId} group by c.kind`;
  const [totals] = await sql<{ items: number; interactions: number; bytes: string }[]>`
    select count(*)::int as items, count(distinct c.interaction_id)::int as interactions, coalesce(sum(c.size_bytes), 0)::bigint as bytes
    from erasure_preview_items p join interaction_content c on c.id = p.content_id where p.preview_id = ${previewId}`;
  const counts = Object.fromEntries(items.map((item) => [item, perKind.find((k) => k.kind === item)?.n ?? 0])) as Record<ErasableItem, number>;
  return { counts, items: totals.items, interactions: totals.interactions, sizeBytes: Number(totals.bytes) };
}

/**
 * How the frozen set and the scope differ now: items of the preview erased or gone meanwhile, and items
 * the scope covers now that the preview did not. Both zero means the preview still says exactly what
 * confirming would destroy.
 */
export async function previewDrift(sql: Db, preview: PreviewRow, scope: PreviewScope, timezone: string): Promise<{ gone: number; added: number }> {
  const [row] = await sql<{ gone: number; added: number }[]>`
    with now_in_scope as (${contentInScope(sql, scope, timezone)}),
    frozen as (select content_id as id from erasure_preview_items where preview_id = ${preview.id})
    select count(*) filter (where s.id is null)::int as gone, count(*) filter (where f.id is null)::int as added
    from frozen f full join now_in_scope s on s.id = f.id`;
  return row;
}
