// Shared by the job tests: a report definition with attempts to report, a job through the API, its runs.
import assert from 'node:assert/strict';
import type { ReservedSql } from 'postgres';
import type { Api } from './erasure-fixtures.js';
import type { TestEnv } from './harness/env.js';
import { until } from './harness/wait.js';
import { createReportDefinition, insertAttempts, newCampaign } from './report-helpers.js';

/** A campaign with three attempts an hour ago and an incremental report over it (name = the campaign's). */
export async function reportWithRows(env: TestEnv, options: { skipIfEmpty?: boolean; rows?: number } = {}) {
  const campaign = await newCampaign(env.sql);
  const hourAgo = new Date(Date.now() - 3_600_000);
  const rows = options.rows ?? 3;
  if (rows) await insertAttempts(env.sql, campaign.id, Array.from({ length: rows }, (_, i) => ({ clientId: `c${i + 1}`, completedAt: hourAgo, collectedAt: hourAgo })));
  const reportId = await createReportDefinition(env.sql, { campaignId: campaign.id, output: { skipIfEmpty: options.skipIfEmpty ?? false } });
  return { campaign, reportId };
}

export async function createJob(api: Api, body: Record<string, unknown>): Promise<string> {
  const res = await api.call('POST', '/jobs', { body });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return res.json.id;
}

export async function runJob(api: Api, jobId: string): Promise<string> {
  const res = await api.call('POST', `/jobs/${jobId}/run`, {});
  assert.equal(res.status, 202, JSON.stringify(res.json));
  return res.json.runId;
}

/** Waits for the run's record to close and returns it. */
export async function closedRun(env: TestEnv, runId: string, timeoutMs = 60_000) {
  return until(`run ${runId} to end`, async () => {
    const [row] = await env.sql<{ status: string; type: string; step: string | null; error: string | null }[]>`
      select status, type, step, error from runs where run_id = ${runId} and status not in ('running', 'scheduled')`;
    return row;
  }, timeoutMs);
}

export async function stepsOf(env: TestEnv, runId: string) {
  return env.sql<{ name: string; kind: string; status: string; child_id: string | null; error: string | null; output: any }[]>`
    select name, kind, status, child_id, error, output from job_run_steps where run_id = ${runId} order by seq`;
}

/** Holds the report's (type, campaign) watermark row locked, as a concurrent run would: the report's
 *  generation waits on it until `release()`. */
export async function holdWatermark(env: TestEnv, campaignId: string) {
  await env.sql`
    insert into report_watermarks (report_type, campaign_id, collected_through, last_run_id)
    values ('all-attempts', ${campaignId}, ${new Date(Date.now() - 7_200_000)}, '') on conflict do nothing`;
  const holder: ReservedSql = await env.sql.reserve();
  await holder`begin`;
  await holder`select 1 from report_watermarks where report_type = 'all-attempts' and campaign_id = ${campaignId} for update`;
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await holder`rollback`;
      holder.release();
    },
    /** Whether a backend waits for that lock (the report child's generating transaction). */
    async waited() {
      const [row] = await env.sql<{ pid: number }[]>`
        select pid from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database() and query ~ 'report_watermarks'`;
      return row?.pid;
    },
  };
}
