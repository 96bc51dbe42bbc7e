// The campaign lock's server side, the only writer of campaign_locks and campaign_lock_requests: the row
// (take, release, holder checks), the requests (`wait: false`), the API's admission of a new process, the
// reaper of stale rows. Its contract (types, signals, workflow id) is contracts/campaign-lock.ts.
export {
  acquireCampaignLock, assertCampaignUnlocked, assertLockHeldBy, CampaignLockedError, CampaignLockLostError, campaignLockOf,
  describeLock, releaseCampaignLock, type AcquireResult, type CampaignLock, type LockHolder,
} from './row.js';
export { CampaignLockAwaitedError, forgetLockRequest, recordLockRequest, type PendingLockRequest } from './requests.js';
export { admitLockRequest } from './admission.js';
export { reapCampaignLock, sweepCampaignLocks } from './reaper.js';
export { runOpenIn, runOpenOrUnknownIn, type IsRunOpen } from './run-open.js';
