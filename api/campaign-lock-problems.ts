// The API's answer when the campaign lock's owner refuses work: 409 `campaign-locked`, naming the holder (`lock`)
// or the run waiting for the lock (`waiting`), with what the caller can do next.
import { CampaignLockAwaitedError, CampaignLockedError, describeLock } from '../lib/campaign-lock/index.js';
import { conflict } from './problem.js';
import { iso } from './schemas.js';

/** For `.catch(...)`: a lock refusal becomes the 409 problem, ending in `hint`; anything else is rethrown. */
export function rethrowAsLockConflict(hint: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof CampaignLockedError) {
      const { lock } = err;
      throw conflict(`${describeLock(lock)}; ${hint}`, { lock: { heldBy: lock.heldBy, type: lock.type, since: iso(lock.since) } }, 'campaign-locked');
    }
    if (err instanceof CampaignLockAwaitedError) {
      const { waiting } = err;
      throw conflict(`${err.message}; ${hint}`, { waiting: { runId: waiting.runId, type: waiting.type, since: iso(waiting.since) } }, 'campaign-locked');
    }
    throw err;
  };
}
