// Activities of the campaign lock, calling its owner (lib/campaign-lock/): the requester's side (ask for the
// lock by signal-with-start of the campaign's lock workflow, release it) and the lock workflow's side (write
// the row, check a holder is still open in Temporal). Temporal calls use the worker's own client (activity
// context).
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  acquireCampaignLock, forgetLockRequest, recordLockRequest, releaseCampaignLock, runOpenIn,
} from '../lib/campaign-lock/index.js';
import {
  acquireLockSignal, CAMPAIGN_LOCK_KIND, CAMPAIGN_LOCK_WORKFLOW_TYPE, campaignLockWorkflowId, releaseLockSignal,
  type LockGrant, type LockRequest,
} from '../contracts/campaign-lock.js';
import { CAMPAIGN_ID, JOB_KIND } from '../contracts/search-attributes.js';
import type { ActivityDeps } from './deps.js';

/** Open = running, asked through this worker's client. */
const isRunOpen = (runId: string) => runOpenIn(Context.current().client)(runId);

/** A waiting requester asks again every this many of the lock workflow's holder checks. */
const ASK_AGAIN_CHECKS = 4;

export function createCampaignLockActivities({ sql, config }: Pick<ActivityDeps, 'sql' | 'config'>) {
  return {
    /** Queues the request with the campaign's lock workflow, starting that workflow if it is not running (a
     *  repeated request is ignored by the workflow). Returns how often a waiting requester asks again: the
     *  queue lives only in that workflow, and one terminated from Temporal UI forgets it. */
    async requestCampaignLock(campaignId: string, request: LockRequest): Promise<{ askAgainSeconds: number }> {
      const { client, info } = Context.current();
      await recordLockRequest(sql, campaignId, { runId: request.runId, type: request.type, wait: request.wait });
      await client.workflow.signalWithStart(CAMPAIGN_LOCK_WORKFLOW_TYPE, {
        workflowId: campaignLockWorkflowId(campaignId),
        taskQueue: info.taskQueue,
        args: [{ campaignId, checkEverySeconds: config.CAMPAIGN_LOCK_CHECK_SECONDS }],
        signal: acquireLockSignal,
        signalArgs: [request],
        typedSearchAttributes: [{ key: JOB_KIND, value: CAMPAIGN_LOCK_KIND }, { key: CAMPAIGN_ID, value: campaignId }],
      });
      return { askAgainSeconds: ASK_AGAIN_CHECKS * config.CAMPAIGN_LOCK_CHECK_SECONDS };
    },

    /** Frees the row at once (edits are allowed again immediately) and tells the lock workflow. */
    async releaseCampaignLock(campaignId: string, runId: string): Promise<void> {
      await releaseCampaignLock(sql, campaignId, runId);
      await forgetLockRequest(sql, runId);
      try {
        await Context.current().client.workflow.getHandle(campaignLockWorkflowId(campaignId)).signal(releaseLockSignal, { runId });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;   // no lock workflow running: nothing queued
      }
    },

    /** `yieldToEarlierNoWait` only from lock workflows that know the 'yield' answer (heldBy: the run to go first). */
    async grantLock(campaignId: string, request: LockRequest, options: { yieldToEarlierNoWait?: boolean } = {}): Promise<LockGrant> {
      if (!(await isRunOpen(request.runId))) return { status: 'requester-closed' };
      const holder = { runId: request.runId, type: request.type, actingUser: request.actingUser };
      const result = await acquireCampaignLock(sql, campaignId, holder, isRunOpen, options);
      if (result.acquired) return { status: 'granted' };
      if (result.reason === 'held') return { status: 'held', heldBy: result.lock.heldBy, type: result.lock.type };
      return result.reason === 'yield' ? { status: 'yield', heldBy: result.to } : { status: 'campaign-missing' };
    },

    async releaseLockRow(campaignId: string, runId: string): Promise<void> {
      await releaseCampaignLock(sql, campaignId, runId);
    },

    isRunOpen,
  };
}
