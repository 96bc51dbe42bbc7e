// Who has asked for a campaign's lock and not been granted it yet (campaign_lock_requests). The order of the
// queue lives in the campaign's lock workflow; these rows are what `wait: false` is decided on: the API
// refuses a no-wait process while another run holds the lock or waits for it, and the grant lets an earlier
// no-wait request go first, so a no-wait process the API accepted is never refused after its 202. Callers that
// decide on them lock the campaign row first (FOR NO KEY UPDATE: the API's start, the grant), so a check and
// a new request never race. A row whose run has closed in Temporal is stale and deleted by whoever finds it.
import type { Sql } from '../../db/sql.js';
import type { LockType } from '../../contracts/campaign-lock.js';
import type { IsRunOpen } from './run-open.js';

export interface LockRequestRecord { runId: string; type: LockType; wait: boolean }
export interface PendingLockRequest extends LockRequestRecord { since: Date }

/** A no-wait process refused because another run waits for the lock and would be granted it first. */
export class CampaignLockAwaitedError extends Error {
  constructor(readonly campaignId: string, readonly waiting: PendingLockRequest) {
    super(`Campaign ${campaignId} is about to be locked: ${waiting.type} run ${waiting.runId} has waited for its lock since ${waiting.since.toISOString()}`);
    this.name = 'CampaignLockAwaitedError';
  }
}

interface RequestRow { run_id: string; type: LockType; wait: boolean; requested_at: Date }

/** Records the request once (a repeated request keeps its first time); nothing when the campaign is gone. */
export async function recordLockRequest(sql: Sql, campaignId: string, request: LockRequestRecord): Promise<void> {
  await sql`
    insert into campaign_lock_requests (run_id, campaign_id, type, wait)
    select ${request.runId}, id, ${request.type}, ${request.wait} from campaigns where id = ${campaignId}
    on conflict (run_id) do nothing`;
}

export async function forgetLockRequest(sql: Sql, runId: string): Promise<void> {
  await sql`delete from campaign_lock_requests where run_id = ${runId}`;
}

/**
 * The earliest pending request of an open run other than `exceptRunId`; with `noWaitBefore`, only no-wait
 * requests made before that run's own request (or before now, when it has none). Rows of closed runs are
 * deleted on the way.
 */
export async function firstPendingRequest(
  sql: Sql, campaignId: string, isRunOpen: IsRunOpen, options: { exceptRunId?: string; noWaitBefore?: string } = {},
): Promise<PendingLockRequest | null> {
  const except = options.exceptRunId ?? options.noWaitBefore ?? '';
  const before = options.noWaitBefore
    ? sql`and not r.wait and r.requested_at < coalesce((select requested_at from campaign_lock_requests where run_id = ${options.noWaitBefore}), now())`
    : sql``;
  const rows = await sql<RequestRow[]>`
    select r.run_id, r.type, r.wait, r.requested_at from campaign_lock_requests r
    where r.campaign_id = ${campaignId} and r.run_id <> ${except} ${before}
    order by r.requested_at, r.run_id`;
  for (const row of rows) {
    if (await isRunOpen(row.run_id)) return { runId: row.run_id, type: row.type, wait: row.wait, since: row.requested_at };
    await forgetLockRequest(sql, row.run_id);
  }
  return null;
}
