// One pass of a cluster-wide chore (contracts/chores.ts), started by the chore's Temporal Schedule.
// The pass is one activity: a worker killed mid-pass stops heartbeating, and another worker takes the pass
// over after the heartbeat timeout. A pass that still fails is retried by the next scheduled one.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ChoreInput, ChoreSummary } from '../contracts/chores.js';
import { SCHEDULED_START_TIME } from '../contracts/report.js';

const chores = proxyActivities<Activities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 },
});

export async function clusterChore(input: ChoreInput): Promise<ChoreSummary> {
  // The schedule's action time keys the ledger row: one per interval, whoever runs it.
  const scheduledAt = workflowInfo().typedSearchAttributes.get(SCHEDULED_START_TIME);
  return chores.runClusterChore({ ...input, scheduledAt: scheduledAt ? scheduledAt.toISOString() : null });
}
