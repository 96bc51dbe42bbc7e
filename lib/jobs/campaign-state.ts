// Campaign state through the API (running / stopped / completed) and what `completed` starts: every enabled job
// with a campaign-end trigger on the campaign, once. "Once" holds however often (or concurrently) the campaign is
// set completed: a row per (campaign, job) is inserted in the transaction that starts the run, and the run's
// workflow id is the same for every attempt (a duplicate start is refused by Temporal, even after it closed).
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Sql } from '../../db/sql.js';
import { JOB_WORKFLOW, jobCampaignEndWorkflowId, type JobRunInput } from '../../contracts/job.js';
import { JOB_KINDS, runSearchAttributes } from '../../contracts/search-attributes.js';
import { campaignEndJobs } from './definitions.js';

export const CAMPAIGN_STATES = ['running', 'stopped', 'completed'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

/** Sets the state; returns the state before, or undefined when the campaign does not exist. With `keepCompleted`
 *  (an automatic start or stop) a completed campaign stays completed. */
export async function setCampaignState(sql: Sql, campaignId: string, state: CampaignState, options: { keepCompleted?: boolean } = {}): Promise<CampaignState | undefined> {
  const [row] = await sql<{ previous: CampaignState }[]>`
    with before as (select id, state from campaigns where id = ${campaignId} for update)
    update campaigns c set state = case when ${options.keepCompleted ?? false} and before.state = 'completed' then before.state else ${state} end
    from before where c.id = before.id returning before.state as previous`;
  return row?.previous;
}

/** Starts each enabled campaign-end job of the campaign that was not started for it before; returns the runs started. */
export async function startCampaignEndJobs(sql: Sql, client: Client, taskQueue: string, campaignId: string): Promise<string[]> {
  const started: string[] = [];
  for (const job of await campaignEndJobs(sql, campaignId)) {
    const runId = jobCampaignEndWorkflowId(job.id, campaignId);
    const claimed = await sql.begin(async (tx) => {
      const [row] = await tx`
        insert into job_campaign_end_starts (campaign_id, definition_id, run_id) values (${campaignId}, ${job.id}, ${runId})
        on conflict do nothing returning run_id`;
      if (!row) return false;
      // Inside the transaction: a start Temporal refuses leaves no row, so the next `completed` tries again.
      const input: JobRunInput = { definitionId: job.id, triggeredBy: 'campaign-end' };
      await client.workflow.start(JOB_WORKFLOW, {
        taskQueue, workflowId: runId, args: [input], workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: runSearchAttributes({ kind: JOB_KINDS.job, campaignId, definitionId: job.id, triggeredBy: 'campaign-end' }),
      }).catch((err) => {
        // Started by an attempt whose row was lost (the commit failed after the start): the run exists, once.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      });
      return true;
    });
    if (claimed) started.push(runId);
  }
  return started;
}
