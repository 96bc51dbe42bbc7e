// A contact's history (API.md "Contact lists": GET /contacts/{id}/history): its attempts (read from
// call_attempts) and the events written here — edits through the API and the processes that changed it
// (imports, exports, deletions, status changes, the blacklist). The one writer of contact_events.
import type postgres from 'postgres';
import type { Sql } from '../../db/sql.js';

export interface ContactEvent {
  /** e.g. "created", "edited", "import", "blacklist", "status-change", "delete" */
  kind: string;
  /** one line a person reads, e.g. "status Remaining → Inactive" */
  detail: string;
  actor?: string | null;
  runId?: string | null;
}

/** A query selecting the changed contacts' ids in a column named `id`, e.g. tx`select id from contacts where …`. */
export type ContactIdQuery = postgres.PendingQuery<postgres.Row[]>;

/**
 * Records one event per contact, in one set-based insert (a million contacts is one statement, not a million):
 * `contacts` is a list of ids (a batch) or a query selecting them (`select id from …`). Call it inside the
 * transaction that changes the contacts, so the history and the change commit together. Returns the rows written.
 */
export async function recordContactEvents(tx: Sql, contacts: readonly string[] | ContactIdQuery, event: ContactEvent): Promise<number> {
  if (Array.isArray(contacts) && contacts.length === 0) return 0;
  const ids = Array.isArray(contacts)
    ? tx`select unnest(${tx.array(contacts as string[])}::bigint[]) as id`
    : contacts as ContactIdQuery;
  const result = await tx`
    insert into contact_events (contact_id, kind, detail, actor, run_id)
    select ids.id, ${event.kind}, ${event.detail}, ${event.actor ?? null}, ${event.runId ?? null}
    from (${ids}) ids`;
  return result.count;
}

/**
 * The same insert as `recordContactEvents`, as a statement to place in a data-modifying CTE of a larger one:
 * one event per row of `from` (the name of a CTE or table with an `id` column), e.g. the ids an
 * `update … returning id` changed, so the change and its history are one statement.
 */
export function contactEventsInsert(tx: Sql, from: string, event: ContactEvent) {
  return tx`
    insert into contact_events (contact_id, kind, detail, actor, run_id)
    select ids.id, ${event.kind}, ${event.detail}, ${event.actor ?? null}, ${event.runId ?? null}
    from ${tx(from)} ids`;
}

export interface HistoryItem { at: Date; kind: string; detail: string; actor: string | null; runId: string | null }

/** The contact's last `limit` activities, newest first: attempts and recorded events. */
export async function contactHistory(sql: Sql, contactId: string, limit = 50): Promise<HistoryItem[]> {
  return sql<HistoryItem[]>`
    select at, kind, detail, actor, "runId" from (
      (select a.completed_at as at, 'attempt' as kind,
              concat_ws(' ', a.status, '(' || a.disposition || ')', 'on ' || a.phone,
                        'reason ' || nullif(concat_ws('/', a.major_reason, a.minor_reason), ''),
                        '→ record ' || a.record_status) as detail,
              a.agent as actor, null::text as "runId", a.id as ord, 0 as src
       from contacts c join call_attempts a on a.campaign_id = c.campaign_id and a.client_id = c.client_id
       where c.id = ${contactId}
       order by a.completed_at desc, a.id desc limit ${limit})
      union all
      (select e.at, e.kind, e.detail, e.actor, e.run_id, e.id, 1
       from contact_events e where e.contact_id = ${contactId}
       order by e.at desc, e.id desc limit ${limit})
    ) h
    order by at desc, src desc, ord desc
    limit ${limit}`;
}
