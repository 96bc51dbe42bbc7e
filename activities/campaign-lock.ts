// Activities of the campaign lock: the requester's side (ask for the lock by signal-with-start of the
// campaign's lock workflow, release it) and the lock workflow's side (write the row, check a holder is
// still open in Temporal). Temporal calls use the worker's own client (activity context).
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { acquireCampaignLock, releaseCampaignLock, type IsRunOpen } from '../lib/campaign-lock.js';
import { forgetLockRequest, recordLockRequest } from '../lib/campaign-lock-requests.js';
import { CAMPAIGN_ID, JOB_KIND } from '../workflows/shared/search-attributes.js';
import { acquireLockSignal, campaignLockWorkflowId, releaseLockSignal, type LockRequest } from '../workflows/list-import-shared.js';
import type { ActivityDeps } from './deps.js';

/** Open = running (a run that continued as new is followed to its latest execution). */
export const isRunOpenInTemporal: IsRunOpen = async (runId) => {
  try {
    const description = await Context.current().client.workflow.getHandle(runId).describe();
    return description.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
};

/** A waiting requester asks again every this many of the lock workflow's holder checks. */
const ASK_AGAIN_CHECKS = 4;

export function createCampaignLockActivities({ sql, config }: Pick<ActivityDeps, 'sql' | 'config'>) {
  return {
    /** Queues the request with the campaign's lock workflow, starting that workflow if it is not running (a
     *  repeated request is ignored by the workflow). Returns how often a waiting requester asks again: the
     *  queue lives only in that workflow, and one terminated from Temporal UI forgets it. */
    async requestCampaignLock(campaignId: string, request: LockRequest): Promise<{ askAgainSeconds: number }> {
      const { client, info } = { client: Context.current().client, info: Context.current().info };
      await recordLockRequest(sql, campaignId, { runId: request.runId, type: request.type, wait: request.wait });
      await client.workflow.signalWithStart('campaignLock', {
        workflowId: campaignLockWorkflowId(campaignId),
        taskQueue: info.taskQueue,
        args: [{ campaignId, checkEverySeconds: config.CAMPAIGN_LOCK_CHECK_SECONDS }],
        signal: acquireLockSignal,
        signalArgs: [request],
        typedSearchAttributes: [{ key: JOB_KIND, value: 'campaign-lock' }, { key: CAMPAIGN_ID, value: campaignId }],
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
    async grantLock(campaignId: string, request: LockRequest, options: { yieldToEarlierNoWait?: boolean } = {}): Promise<{
      status: 'granted' | 'held' | 'yield' | 'requester-closed' | 'campaign-missing'; heldBy?: string;
    }> {
      if (!(await isRunOpenInTemporal(request.runId))) return { status: 'requester-closed' };
      const holder = { runId: request.runId, type: request.type, actingUser: request.actingUser };
      const result = await acquireCampaignLock(sql, campaignId, holder, isRunOpenInTemporal, options);
      if (result.acquired) return { status: 'granted' };
      if (result.reason === 'held') return { status: 'held', heldBy: result.lock.heldBy };
      return result.reason === 'yield' ? { status: 'yield', heldBy: result.to } : { status: 'campaign-missing' };
    },

    async releaseLockRow(campaignId: string, runId: string): Promise<void> {
      await releaseCampaignLock(sql, campaignId, runId);
    },

    isRunOpen: (runId: string) => isRunOpenInTemporal(runId),
  };
}
