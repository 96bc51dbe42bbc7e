// Bulk status change (seed 001 "Contact Status Change"): on the filter's contacts of a running campaign, the new
// record status (Remaining or Inactive) and/or priority, retry counts cleared, phones activated — all in ONE
// transaction with the result row (exactly once). The matched contacts are fixed first (a temporary table of
// their ids, rows locked), so every change and the counts are about the same set. Cancelled (the statement
// cancelled in PostgreSQL) or failed: rolled back, nothing changed. Each changed contact's history gets a line
// (lib/contacts/history.ts) in the same transaction.
import type { Sql } from '../../db/sql.js';
import { assertLockHeldBy } from '../campaign-lock/index.js';
import { contactFilterSql } from '../contacts/filter.js';
import { recordContactEvents } from '../contacts/history.js';
import { cancellableOnAbort } from '../reports/run-guard.js';
import { processResult, recordProcessResult, type StoredResult } from './results.js';
import type { ContactFilter } from '../../contracts/contact-filter.js';

export interface StatusChangeRequest {
  runId: string;
  campaignId: string;
  filter: ContactFilter;
  set: { status?: 'Remaining' | 'Inactive'; priority?: number };
  clearRetryCount: boolean;
  activatePhones: boolean;
  actingUser?: string | null;
  signal?: AbortSignal;
}

/** The history line of the change (GET /contacts/{id}/history), e.g. "status → Remaining, retry counts cleared". */
export function statusChangeDetail(request: Pick<StatusChangeRequest, 'set' | 'clearRetryCount' | 'activatePhones'>): string {
  const parts: string[] = [];
  if (request.set.status !== undefined) parts.push(`status → ${request.set.status}`);
  if (request.set.priority !== undefined) parts.push(`priority → ${request.set.priority}`);
  if (request.clearRetryCount) parts.push('retry counts cleared');
  if (request.activatePhones) parts.push('phones activated');
  return `status change: ${parts.join(', ')}`;
}

/** The campaign is not running (seed: "The status change operation can be performed on campaigns in Running status"). */
export class CampaignNotRunningError extends Error {
  constructor(campaignId: string, state: string | null) {
    super(state === null ? `Campaign ${campaignId} does not exist.`
      : `Campaign ${campaignId} is ${state}; a status change runs only on a running campaign.`);
    this.name = 'CampaignNotRunningError';
  }
}

/** Phone states activation leaves alone (seed 001: "only if the phone number is in any other status than Blocked, Excluded"). */
const KEPT_PHONE_STATES = ['Blocked', 'Excluded'];

export async function changeContactStatus(sql: Sql, request: StatusChangeRequest): Promise<StoredResult> {
  const { runId, campaignId, filter, set, signal } = request;
  const done = await processResult(sql, runId);
  if (done) return done;
  return sql.begin((begun) => {
    const tx = begun as unknown as Sql;
    return cancellableOnAbort(sql, begun, signal, async () => {
      await assertLockHeldBy(tx, campaignId, runId);
      const [campaign] = await tx<{ state: string }[]>`select state from campaigns where id = ${campaignId}`;
      if (campaign?.state !== 'running') throw new CampaignNotRunningError(campaignId, campaign?.state ?? null);
      await tx`create temporary table contact_process_matched (id bigint primary key) on commit drop`;
      const matched = (await tx`
        insert into contact_process_matched (id)
        select c.id from contacts c where ${contactFilterSql(tx, campaignId, filter)} for no key update of c`).count;
      let changed = 0;
      if (set.status !== undefined || set.priority !== undefined) {
        const status = set.status ?? null, priority = set.priority ?? null;
        changed = (await tx`
          update contacts c set
            status = coalesce(${status}::text, c.status),
            priority = coalesce(${priority}::integer, c.priority),
            closed_at = case when ${status}::text is null then c.closed_at else null end,
            updated_at = now()
          from contact_process_matched m where c.id = m.id`).count;
      }
      let phonesChanged = 0;
      if (request.clearRetryCount || request.activatePhones) {
        const clear = request.clearRetryCount, activate = request.activatePhones;
        phonesChanged = (await tx`
          update contact_phones p set
            retry_count = case when ${clear}::boolean then 0 else p.retry_count end,
            state = case when ${activate}::boolean and p.state <> all(${KEPT_PHONE_STATES}::text[]) then 'Active' else p.state end
          from contact_process_matched m
          where p.contact_id = m.id
            and ((${clear}::boolean and p.retry_count <> 0) or (${activate}::boolean and p.state <> all(${[...KEPT_PHONE_STATES, 'Active']}::text[])))`).count;
        if (set.status === undefined && set.priority === undefined) {
          changed = (await tx`update contacts c set updated_at = now() from contact_process_matched m where c.id = m.id`).count;
        }
      }
      await recordContactEvents(tx, tx`select id from contact_process_matched`, {
        kind: 'status-change', detail: statusChangeDetail(request), actor: request.actingUser ?? null, runId,
      });
      const result: StoredResult = { counts: { matched, changed, phonesChanged }, fileKey: null, fileName: null };
      await recordProcessResult(tx, runId, result);
      return result;
    });
  });
}
