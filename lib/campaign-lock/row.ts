// The campaign lock row (campaign_locks): while a process (import, export, delete, status change) holds it,
// the campaign refuses contact edits, status changes and other list processes. Taken and checked with the
// campaign row locked (FOR NO KEY UPDATE here and by the API's start, FOR SHARE by readers that refuse work),
// so a check and a take never race; not FOR UPDATE, which would wait for an apply in progress to commit (its
// contacts' foreign key holds the campaign row FOR KEY SHARE). A row whose holder run has closed in Temporal
// — terminated from Temporal UI, say — is stale: the reaper deletes it, and so does anyone trying to take it
// or refusing work because of it.
import type { Sql } from '../../db/sql.js';
import type { LockType } from '../../contracts/campaign-lock.js';
import { firstPendingRequest, forgetLockRequest } from './requests.js';
import type { IsRunOpen } from './run-open.js';

export interface LockHolder { runId: string; type: LockType; actingUser?: string | null }
export interface CampaignLock { campaignId: string; heldBy: string; type: LockType; actingUser: string | null; since: Date }

export type AcquireResult =
  | { acquired: true; reaped: string | null }
  | { acquired: false; reason: 'held'; lock: CampaignLock }
  | { acquired: false; reason: 'yield'; to: string }
  | { acquired: false; reason: 'campaign-missing' };

/** "Campaign 3 is locked by import run … since …": the start of every message about a held lock. */
export const describeLock = (lock: CampaignLock) =>
  `Campaign ${lock.campaignId} is locked by ${lock.type} run ${lock.heldBy} since ${lock.since.toISOString()}`;

/** Work refused because another process holds the campaign lock (the API answers 409 campaign-locked). */
export class CampaignLockedError extends Error {
  constructor(readonly lock: CampaignLock) {
    super(`${describeLock(lock)}; try again when it has finished.`);
    this.name = 'CampaignLockedError';
  }
}

/** A process's work found the lock not held by it (freed as stale meanwhile); nothing may be changed. */
export class CampaignLockLostError extends Error {
  constructor(campaignId: string, runId: string, heldBy: string | null) {
    super(`The campaign lock of campaign ${campaignId} is ${heldBy ? `held by ${heldBy}` : 'not held'}, not by run ${runId}; nothing was applied.`);
    this.name = 'CampaignLockLostError';
  }
}

interface LockRow { campaign_id: string; held_by: string; type: LockType; acting_user: string | null; since: Date }
const toLock = (row: LockRow): CampaignLock => ({
  campaignId: String(row.campaign_id), heldBy: row.held_by, type: row.type, actingUser: row.acting_user, since: row.since,
});

export async function campaignLockOf(sql: Sql, campaignId: string): Promise<CampaignLock | null> {
  const [row] = await sql<LockRow[]>`select * from campaign_locks where campaign_id = ${campaignId}`;
  return row ? toLock(row) : null;
}

/** Locks the campaign row against concurrent takes and starts (see the header); false when there is none. */
export async function lockCampaignRow(tx: Sql, campaignId: string): Promise<boolean> {
  const [campaign] = await tx`select id from campaigns where id = ${campaignId} for no key update`;
  return campaign !== undefined;
}

/** Takes the lock for `holder`; idempotent for the same holder; frees a lock whose holder has closed. With
 *  `yieldToEarlierNoWait`, a no-wait request of an open run made before the holder's own goes first (reason
 *  'yield'): the API accepted it because nobody held or waited for the lock then. */
export async function acquireCampaignLock(
  sql: Sql, campaignId: string, holder: LockHolder, isRunOpen: IsRunOpen, options: { yieldToEarlierNoWait?: boolean } = {},
): Promise<AcquireResult> {
  return sql.begin(async (begun) => {
    const tx = begun as unknown as Sql;
    if (!(await lockCampaignRow(tx, campaignId))) return { acquired: false, reason: 'campaign-missing' } as const;
    const [row] = await tx<LockRow[]>`select * from campaign_locks where campaign_id = ${campaignId}`;
    if (row?.held_by === holder.runId) return { acquired: true, reaped: null } as const;
    let reaped: string | null = null;
    if (row) {
      if (await isRunOpen(row.held_by)) return { acquired: false, reason: 'held', lock: toLock(row) } as const;
      await tx`delete from campaign_locks where campaign_id = ${campaignId}`;
      reaped = row.held_by;
    }
    if (options.yieldToEarlierNoWait) {
      const earlier = await firstPendingRequest(tx, campaignId, isRunOpen, { noWaitBefore: holder.runId });
      if (earlier) return { acquired: false, reason: 'yield', to: earlier.runId } as const;
    }
    await tx`
      insert into campaign_locks (campaign_id, held_by, type, acting_user)
      values (${campaignId}, ${holder.runId}, ${holder.type}, ${holder.actingUser ?? null})`;
    await forgetLockRequest(tx, holder.runId);
    return { acquired: true, reaped } as const;
  });
}

/** Frees the lock if `runId` holds it; true when a row was deleted. */
export async function releaseCampaignLock(sql: Sql, campaignId: string, runId: string): Promise<boolean> {
  const rows = await sql`delete from campaign_locks where campaign_id = ${campaignId} and held_by = ${runId} returning campaign_id`;
  return rows.length > 0;
}

/** Deletes every lock (or the one of `campaignId`) whose holder run is closed; returns the freed campaigns. */
export async function reapCampaignLocks(sql: Sql, isRunOpen: IsRunOpen, campaignId?: string): Promise<string[]> {
  const rows = await sql<LockRow[]>`
    select * from campaign_locks ${campaignId ? sql`where campaign_id = ${campaignId}` : sql``}`;
  const freed: string[] = [];
  for (const row of rows) {
    if (await isRunOpen(row.held_by)) continue;
    if (await releaseCampaignLock(sql, row.campaign_id, row.held_by)) freed.push(String(row.campaign_id));
  }
  return freed;
}

/** For work that must not run on a locked campaign (contact edits, and the processes' own checks): call inside
 *  the transaction that does the work; the campaign row stays share-locked until it commits. A lock whose
 *  holder has closed (terminated with its lock workflow) is freed here instead of refusing. */
export async function assertCampaignUnlocked(tx: Sql, campaignId: string, isRunOpen: IsRunOpen): Promise<void> {
  await tx`select id from campaigns where id = ${campaignId} for share`;
  const [row] = await tx<LockRow[]>`select * from campaign_locks where campaign_id = ${campaignId}`;
  if (!row) return;
  if (await isRunOpen(row.held_by)) throw new CampaignLockedError(toLock(row));
  await releaseCampaignLock(tx, campaignId, row.held_by);
}

/** For a holder's own work: inside its transaction, the lock row share-locked until the commit, so it cannot be
 *  freed (as stale) under a commit in progress. */
export async function assertLockHeldBy(tx: Sql, campaignId: string, runId: string): Promise<void> {
  const [lock] = await tx<{ held_by: string }[]>`select held_by from campaign_locks where campaign_id = ${campaignId} for share`;
  if (lock?.held_by !== runId) throw new CampaignLockLostError(campaignId, runId, lock?.held_by ?? null);
}
