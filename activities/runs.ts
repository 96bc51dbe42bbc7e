// The run-record activities: how workflows reach the one owner of the `runs` table (lib/runs/record.ts),
// which also counts the run metrics. Each start names the Temporal execution recording it, so a reset run
// gets its own task-log entry; an end with no start recorded (a run that failed before its first
// bookkeeping step) is described from its Temporal execution and recorded all the same.
import { Context } from '@temporalio/activity';
import type { Sql } from '../db/sql.js';
import { recordRunEnd, recordRunProgress, recordRunStart } from '../lib/runs/record.js';
import { describeExecution, unrecordedRunOf } from '../lib/runs/reconcile.js';
import type { RunEnd, RunStart, RunUpdate } from '../contracts/runs.js';

/** The Temporal run id of the workflow execution this activity belongs to (undefined outside one). */
export function currentExecutionId(): string | undefined {
  try {
    return Context.current().info.workflowExecution?.runId;
  } catch {
    return undefined;
  }
}

export function createRunActivities({ sql }: { sql: Sql }) {
  return {
    async recordRunStart(run: RunStart): Promise<void> {
      await recordRunStart(sql, run, { executionId: currentExecutionId() });
    },

    async recordRunProgress(update: RunUpdate): Promise<void> {
      await recordRunProgress(sql, update);
    },

    async recordRunEnd(end: RunEnd): Promise<void> {
      await recordRunEnd(sql, end, async () => {
        // Best effort: without its execution the end is left to the reconciler, which lists closed runs too.
        const execution = await describeExecution(Context.current().client, end.runId).catch(() => undefined);
        return execution && unrecordedRunOf(sql, execution);
      });
    },
  };
}
