// The last line of defence of the campaign lock: a lock row whose holder run is closed in Temporal is
// deleted. The lock workflow normally does this itself, but when both the holder and the lock workflow were
// terminated (from Temporal UI, say) no workflow code is left to run, so a cluster-wide chore sweeps every
// CAMPAIGN_LOCK_REAP_SECONDS (once per installation, however many workers: contracts/chores.ts), and the API checks the one campaign it is asked about (GET /campaigns/{id};
// a contact edit frees such a lock through assertCampaignUnlocked).
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Sql } from '../../db/sql.js';
import { reapCampaignLocks } from './row.js';
import { runOpenIn } from './run-open.js';

/** Frees the lock of one campaign if its holder has closed. Temporal being unreachable is not this
 *  caller's failure: the lock is then left as it is (the chore's sweep frees it later). */
export async function reapCampaignLock(sql: Sql, client: Client, campaignId: string): Promise<boolean> {
  try {
    return (await reapCampaignLocks(sql, runOpenIn(client), campaignId)).length > 0;
  } catch {
    return false;
  }
}

/** One sweep over every campaign lock (the cluster-wide chore `campaign-lock-reaper`, contracts/chores.ts);
 *  returns the campaigns whose lock was freed. */
export async function sweepCampaignLocks(deps: { sql: Sql; client: Client; log?: Logger }): Promise<string[]> {
  const freed = await reapCampaignLocks(deps.sql, runOpenIn(deps.client));
  for (const campaignId of freed) deps.log?.warn({ campaignId }, 'campaign lock freed: its holder run closed without releasing it');
  return freed;
}
