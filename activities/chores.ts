// The cluster-wide chores' one activity (workflows/chores.ts): does one pass of a chore and writes its
// chore_runs row (the ledger: who ran which scheduled pass, when, and what it did in counts and ids). The
// chores themselves live with their owners; this only calls them. A pass is safe to repeat: each chore
// looks at the current state and changes only what is still wrong.
import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { sweepCampaignLocks } from '../lib/campaign-lock/index.js';
import { errorMessage } from '../shared/error-message.js';
import { keepHeartbeating } from '../lib/heartbeat.js';
import { createLogger } from '../lib/logger.js';
import { reconcileOpenRuns } from '../lib/runs/reconcile.js';
import { syncJobSchedules } from '../lib/runs/schedule-sync.js';
import { expireUploads, uploadLimits } from '../lib/uploads.js';
import { CHORE_FAILURES, choreScheduleId, isChore, type ChoreName, type ChorePass, type ChoreSummary } from '../contracts/chores.js';
import type { ActivityDeps } from './deps.js';

/** Ledger rows are kept this long (the passes remove older ones). */
const LEDGER_DAYS = 7;
const WORKER = `${hostname()}:${process.pid}`;

export function createChoreActivities(deps: ActivityDeps) {
  const log = createLogger({ name: 'worker' });

  async function pass(chore: ChoreName, client: Client): Promise<ChoreSummary> {
    const { sql, config } = deps;
    const taskQueue = config.TEMPORAL_TASK_QUEUE;
    switch (chore) {
      case 'reconcile-runs': {
        const report = await reconcileOpenRuns({ sql, client, log }, { taskQueue });
        return { checked: report.checked, reconciled: report.reconciled.map((r) => r.runId), unrecorded: report.unrecorded };
      }
      case 'schedule-sync': {
        // A schedule written in the last two intervals may be between the API's Temporal call and its commit.
        const settleMs = Math.max(5_000, 2 * config.RECONCILE_INTERVAL_SECONDS * 1000);
        const report = await syncJobSchedules({ sql, client, log }, { taskQueue, settleMs });
        const { checked, ...changed } = report;
        return { checked, ...changed };
      }
      case 'campaign-lock-reaper':
        return { freed: await sweepCampaignLocks({ sql, client, log }) };
      case 'upload-retention': {
        const limits = uploadLimits(config);
        const removed = await expireUploads(sql, deps.store, limits);
        if (removed.length) log.info({ count: removed.length, retentionDays: limits.retentionDays }, 'expired uploads removed');
        return { removed: removed.length };
      }
    }
  }

  return {
    async runClusterChore(input: ChorePass): Promise<ChoreSummary> {
      if (!isChore(input.chore)) throw ApplicationFailure.nonRetryable(`Unknown chore ${JSON.stringify(input.chore)}.`, CHORE_FAILURES.unknownChore);
      const ctx = Context.current();
      const workflowId = ctx.info.workflowExecution?.workflowId ?? `${input.chore}-${ctx.info.activityId}`;
      const scheduleId = choreScheduleId(input.chore, deps.config.TEMPORAL_TASK_QUEUE);
      await deps.sql`
        insert into chore_runs (workflow_id, chore, schedule_id, scheduled_at, worker)
        values (${workflowId}, ${input.chore}, ${scheduleId}, ${input.scheduledAt}, ${WORKER})
        on conflict (workflow_id) do update
          set attempts = chore_runs.attempts + 1, worker = excluded.worker, started_at = now(), ended_at = null, outcome = null, error = null`;
      const stop = keepHeartbeating(undefined, 5_000);
      try {
        const summary = await pass(input.chore, ctx.client);
        await deps.sql`
          update chore_runs set ended_at = now(), outcome = 'completed', summary = ${deps.sql.json(summary as never)}, error = null
          where workflow_id = ${workflowId}`;
        await deps.sql`
          delete from chore_runs where chore = ${input.chore} and started_at < now() - ${LEDGER_DAYS} * interval '1 day'`;
        return summary;
      } catch (err) {
        log.warn({ chore: input.chore, err: errorMessage(err) }, 'chore pass failed; retried, then again at its next scheduled time');
        await deps.sql`
          update chore_runs set ended_at = now(), outcome = 'failed', error = ${errorMessage(err)} where workflow_id = ${workflowId}`
          .catch(() => {});
        throw err;
      } finally {
        stop();
      }
    },
  };
}
