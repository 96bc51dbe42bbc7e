// One workflow per campaign (`campaignLockWorkflowId`) that hands the campaign lock to one process at a
// time, in request order. It writes the lock row through an activity and then watches the holder: a
// release signal frees the lock at once, and every `checkEverySeconds` it asks Temporal whether the holder
// is still open, so a holder that was terminated (and could run no cleanup) never keeps the campaign
// locked. Started by signal-with-start from the requester's activity; ends when idle. The queue is only in
// this workflow's memory: waiting requesters ask again now and then, so when it is terminated the next one
// (started by whichever request comes first) learns the holder from the lock row and the queue anew.
import {
  condition, continueAsNew, getExternalWorkflowHandle, log, patched, proxyActivities, setHandler, workflowInfo,
} from '@temporalio/workflow';
import type { createCampaignLockActivities } from '../activities/campaign-lock.js';
import {
  acquireLockSignal, lockGrantedSignal, lockRefusedSignal, lockStateQuery, releaseLockSignal,
  type CampaignLockInput, type LockRefusal, type LockRequest,
} from '../contracts/campaign-lock.js';

const lockActivities = proxyActivities<ReturnType<typeof createCampaignLockActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});

const IDLE_BEFORE_EXIT = '1 minute';

export async function campaignLock(input: CampaignLockInput): Promise<void> {
  const { campaignId } = input;
  let holder: LockRequest | null = input.state?.holder ?? null;
  let queue: LockRequest[] = input.state?.queue ?? [];

  setHandler(acquireLockSignal, (request) => {
    if (holder?.runId === request.runId || queue.some((q) => q.runId === request.runId)) return;
    queue.push(request);
  });
  setHandler(releaseLockSignal, ({ runId }) => {
    queue = queue.filter((q) => q.runId !== runId);
    if (holder?.runId === runId) holder = null;
  });
  setHandler(lockStateQuery, () => ({ holder, queue }));

  /** Frees the lock when its holder run is closed; true while the holder is still open. */
  const freeIfHolderClosed = async (runId: string): Promise<boolean> => {
    if (await lockActivities.isRunOpen(runId)) return true;
    log.warn('campaign lock holder closed without releasing; freeing the lock', { campaignId, holder: runId });
    await lockActivities.releaseLockRow(campaignId, runId);
    if (holder?.runId === runId) holder = null;
    return false;
  };

  const refuse = async (request: LockRequest, refusal: LockRefusal) => {
    await getExternalWorkflowHandle(request.runId).signal(lockRefusedSignal, refusal).catch(() => undefined);
  };

  for (;;) {
    if (holder) {
      // Before telling a no-wait requester "held", make sure the holder still exists: it may have been
      // terminated since the last periodic check (and its lock row already swept by the API or worker).
      if (patched('check-holder-before-refusing') && queue.some((q) => !q.wait) && !(await freeIfHolderClosed(holder.runId))) continue;
      // No-wait requesters are told now; waiting ones stay queued in order.
      for (const request of queue.filter((q) => !q.wait)) {
        queue = queue.filter((q) => q !== request);
        await refuse(request, { heldBy: holder.runId, reason: 'held' });
      }
      const current = holder.runId;
      const changed = await condition(() => holder?.runId !== current || queue.some((q) => !q.wait), `${input.checkEverySeconds}s`);
      if (!changed) await freeIfHolderClosed(current);
    } else if (queue.length > 0) {
      const next = queue.shift()!;
      const grant = patched('no-wait-request-goes-first')
        ? await lockActivities.grantLock(campaignId, next, { yieldToEarlierNoWait: true })
        : await lockActivities.grantLock(campaignId, next);
      if (grant.status === 'yield') {
        // A no-wait request made earlier (the API accepted it: nobody held or waited then) goes first, or it
        // would be refused after its 202. Its signal is on the way; wait for it, at most one check period
        // (the next grant attempt asks again, and drops it once its run has closed).
        queue.unshift(next);
        const first = grant.heldBy!;
        if (await condition(() => queue.some((q) => q.runId === first), `${input.checkEverySeconds}s`)) {
          queue = [...queue.filter((q) => q.runId === first), ...queue.filter((q) => q.runId !== first)];
        }
      } else if (grant.status === 'granted') {
        holder = next;
        try {
          await getExternalWorkflowHandle(next.runId).signal(lockGrantedSignal);
        } catch {
          await lockActivities.releaseLockRow(campaignId, next.runId);   // the requester has gone
          holder = null;
        }
      } else if (grant.status === 'held' && next.wait) {
        // A holder this workflow did not grant (it was restarted): watch that one, keep the requester first.
        queue.unshift(next);
        holder = { runId: grant.heldBy!, type: grant.type ?? 'import', wait: true };
      } else if (grant.status !== 'requester-closed') {
        await refuse(next, { heldBy: grant.heldBy ?? null, reason: grant.status });
      }
    } else if (!(await condition(() => queue.length > 0 || holder !== null, IDLE_BEFORE_EXIT))) {
      return;
    }
    // The holder and the queue carry over; signals that arrive meanwhile reach the new run (same workflow id).
    const { continueAsNewSuggested, historyLength } = workflowInfo();
    if (continueAsNewSuggested || (input.maxHistoryEvents !== undefined && historyLength >= input.maxHistoryEvents)) {
      await continueAsNew<typeof campaignLock>({ ...input, state: { holder, queue } });
    }
  }
}
