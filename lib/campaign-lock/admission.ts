// The API's side of starting a process under the campaign lock: inside the transaction that starts the
// process's workflow, with the campaign row locked FOR NO KEY UPDATE (which serializes starts and grants on the
// campaign). A no-wait process is refused while another run holds the lock or has asked for it and waits: that
// one would be granted first and this one failed after its 202. A process that asks at once is recorded as a
// lock request before its run asks, so a no-wait request right after it is refused too; a scheduled one is
// recorded by its own request when its time comes.
import type { Sql } from '../../db/sql.js';
import { CampaignLockedError, campaignLockOf, lockCampaignRow } from './row.js';
import { CampaignLockAwaitedError, firstPendingRequest, recordLockRequest, type LockRequestRecord } from './requests.js';
import type { IsRunOpen } from './run-open.js';

/** Throws CampaignLockedError / CampaignLockAwaitedError for a refused no-wait request. */
export async function admitLockRequest(
  tx: Sql, campaignId: string, request: LockRequestRecord & { asksNow: boolean }, isRunOpen: IsRunOpen,
): Promise<void> {
  // NO KEY UPDATE, not UPDATE: an apply in progress holds the campaign row FOR KEY SHARE (its contacts'
  // foreign key) until it commits, and must not hold this request up for that long.
  await lockCampaignRow(tx, campaignId);
  if (!request.wait) {
    const lock = await campaignLockOf(tx, campaignId);
    if (lock && (await isRunOpen(lock.heldBy))) throw new CampaignLockedError(lock);
    const waiting = await firstPendingRequest(tx, campaignId, isRunOpen);
    if (waiting) throw new CampaignLockAwaitedError(campaignId, waiting);
  }
  if (request.asksNow) await recordLockRequest(tx, campaignId, { runId: request.runId, type: request.type, wait: request.wait });
}
