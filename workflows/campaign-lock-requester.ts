// The side of the campaign lock a process workflow runs (list import today; list export, deletion and status
// change plug in the same way): ask the campaign's lock workflow, wait for its grant or refusal, release in
// the process's non-cancellable finally. Create it at the top of the workflow, so its signal handlers are set
// before the first activity.
import { ApplicationFailure, condition, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createCampaignLockActivities } from '../activities/campaign-lock.js';
import {
  CAMPAIGN_LOCK_FAILURES, lockGrantedSignal, lockRefusedSignal, type LockRefusal, type LockRequest,
} from '../contracts/campaign-lock.js';

// The same options the list import has always used for these activities.
const lockActivities = proxyActivities<ReturnType<typeof createCampaignLockActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

export interface CampaignLockRequester {
  /** Waits for the lock; throws a non-retryable CampaignLocked failure when refused. */
  acquire(): Promise<void>;
  /** Frees the lock (or the request) if it was ever asked for; call from a non-cancellable scope. */
  release(): Promise<void>;
}

export function campaignLockRequester(campaignId: string, request: LockRequest): CampaignLockRequester {
  let lock: 'none' | 'requested' | 'granted' | LockRefusal = 'none';
  setHandler(lockGrantedSignal, () => { lock = 'granted'; });
  setHandler(lockRefusedSignal, (refusal) => { lock = refusal; });

  return {
    async acquire() {
      lock = 'requested';
      const asked = await lockActivities.requestCampaignLock(campaignId, request);
      if (patched('ask-again-for-campaign-lock')) {
        // The queue lives only in the campaign's lock workflow: one terminated from Temporal UI forgets this
        // request, so a waiter asks again now and then. The lock workflow ignores a request it already has; a
        // new one learns the holder from the lock row and queues this run behind it.
        while (!(await condition(() => lock !== 'requested', `${asked?.askAgainSeconds ?? 60}s`))) {
          await lockActivities.requestCampaignLock(campaignId, request);
        }
      } else {
        await condition(() => lock !== 'requested');
      }
      if (typeof lock === 'object') throw refusedFailure(campaignId, request, lock as LockRefusal);
    },
    async release() {
      if (lock !== 'none') await lockActivities.releaseCampaignLock(campaignId, request.runId);
    },
  };
}

function refusedFailure(campaignId: string, request: LockRequest, refusal: LockRefusal): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    refusal.heldBy ? `Campaign ${campaignId} is locked by run ${refusal.heldBy}; the ${request.type} was started with wait: false.`
      : `Campaign ${campaignId} cannot be locked (${refusal.reason}).`, CAMPAIGN_LOCK_FAILURES.locked);
}
