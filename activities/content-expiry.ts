// Activities of the content expiry (workflows/content-expiry.ts): plan a run from RECORDING_STORAGE_DAYS, expire
// one batch (remove, read back, clear; lib/lifecycle/expiry.ts), and count what a run expired.
import { Context } from '@temporalio/activity';
import { countExpired, countExpiring, expireBatch, expiryCutoff } from '../lib/lifecycle/expiry.js';
import type { ContentExpiryResult, ExpireBatchInput, ExpireBatchResult, ExpiryPlan } from '../contracts/content-expiry.js';
import type { ActivityDeps } from './deps.js';

function heartbeat(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // called outside an activity (a test)
  }
}

export function createContentExpiryActivities(deps: ActivityDeps) {
  return {
    async planContentExpiry(): Promise<ExpiryPlan> {
      const days = deps.config.RECORDING_STORAGE_DAYS;
      const cutoff = expiryCutoff(days, deps.clock());
      if (!cutoff) return { cutoff: null, storageDays: null, pending: 0 };
      return { cutoff: cutoff.toISOString(), storageDays: days ?? null, pending: await countExpiring(deps.sql, cutoff.toISOString()) };
    },

    async expireContentBatch(input: ExpireBatchInput): Promise<ExpireBatchResult> {
      return expireBatch(deps, { ...input, heartbeat });
    },

    async countContentExpired(input: { runId: string }): Promise<Pick<ContentExpiryResult, 'expired' | 'bytes' | 'byKind'>> {
      return countExpired(deps.sql, input.runId);
    },
  };
}
