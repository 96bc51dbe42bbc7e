// A campaign's automatic start or stop (seed 000 "Campaign trigger"): started by the campaign's schedule, it
// sets the campaign running or stopped and records itself as a run of type campaign-trigger, step start|stop.
import { CancellationScope, isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { JobActivities } from '../activities/jobs.js';
import type { createRunActivities } from '../activities/runs.js';
import { CAMPAIGN_TRIGGER_KIND, type CampaignTriggerInput } from '../contracts/campaign-trigger.js';
import { trackRunStatus } from './shared/run-status.js';

const runs = proxyActivities<ReturnType<typeof createRunActivities>>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 10 } });
const quick = proxyActivities<JobActivities>({ startToCloseTimeout: '1m', retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 } });

export async function campaignTrigger(input: CampaignTriggerInput): Promise<{ state: string; previous: string }> {
  const runId = workflowInfo().workflowId;
  trackRunStatus({ step: input.action });
  const name = `Campaign ${input.action}`;
  await runs.recordRunStart({ runId, type: CAMPAIGN_TRIGGER_KIND, name, definitionId: input.definitionId, campaignId: input.campaignId, actingUser: 'schedule' });
  try {
    const changed = await quick.applyCampaignTrigger({ campaignId: input.campaignId, action: input.action });
    await runs.recordRunEnd({ runId, status: 'completed', step: input.action, result: changed });
    return changed;
  } catch (err) {
    const cancelled = isCancellation(err);
    const error = err instanceof Error ? err.message : String(err);
    await CancellationScope.nonCancellable(() => runs.recordRunEnd({ runId, status: cancelled ? 'cancelled' : 'failed', step: input.action, error }));
    throw err;
  }
}
