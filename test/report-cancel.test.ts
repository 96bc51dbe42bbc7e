// A cancelled or terminated incremental run never commits its window (issue 20): the next run delivers the
// attempts the stopped run would have covered. Deterministic: the test holds the (type, campaign) watermark
// row locked, so the run's generation waits on it while the run is cancelled or terminated.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { ReservedSql } from 'postgres';
import { closedState, recordClosedRun } from '../lib/runs/reconcile.js';
import type { ReportRunResult } from '../contracts/report.js';
import { createTestEnv, type RunningWorker, type TestEnv } from './harness/env.js';
import { until } from './harness/wait.js';
import { clients, createReportDefinition, insertAttempts, newCampaign, runReport, savedCsv, startReport } from './report-helpers.js';

let env: TestEnv;
let worker: RunningWorker;

before(async () => {
  env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC', ACCOUNT_NAME: 'Acme' } });
  worker = await env.startWorker();
});

after(async () => {
  await worker?.stop();
  await env?.stop();
});

/** A campaign with three attempts collected an hour ago, its watermark two hours ago, and the watermark row
 *  held locked by the test (as a concurrent run would hold it). */
async function campaignWithLockedWatermark() {
  const campaign = await newCampaign(env.sql);
  const hourAgo = new Date(Date.now() - 3_600_000);
  await insertAttempts(env.sql, campaign.id, ['c1', 'c2', 'c3'].map((clientId) => ({ clientId, completedAt: hourAgo, collectedAt: hourAgo })));
  await env.sql`
    insert into report_watermarks (report_type, campaign_id, collected_through, last_run_id)
    values ('all-attempts', ${campaign.id}, ${new Date(Date.now() - 7_200_000)}, '')`;
  const definitionId = await createReportDefinition(env.sql, { campaignId: campaign.id });
  const holder: ReservedSql = await env.sql.reserve();
  await holder`begin`;
  await holder`select 1 from report_watermarks where report_type = 'all-attempts' and campaign_id = ${campaign.id} for update`;
  const release = async () => { await holder`rollback`; holder.release(); };
  return { campaign, definitionId, release };
}

/** The backend of a run waiting for the watermark lock (the run's generating transaction). */
async function waiterOnLock(): Promise<number | undefined> {
  const [row] = await env.sql<{ pid: number }[]>`
    select pid from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database() and query ~ 'report_watermarks'`;
  return row?.pid;
}

async function windowsOf(runId: string) {
  return env.sql`select 1 from report_windows where run_id = ${runId}`;
}

test('a run cancelled while generating commits nothing, and the next run delivers its window', async () => {
  const { definitionId, release } = await campaignWithLockedWatermark();
  let released = false;
  try {
    const handle = await startReport(env, { definitionId, runTime: new Date().toISOString() });
    await until('the run waiting for the watermark lock', waiterOnLock);
    await handle.cancel();
    // The activity sees the cancel on its next heartbeat and stops waiting (its statement is cancelled):
    // it no longer waits for the lock though the lock is still held.
    await until('the cancelled generation to stop waiting for the lock', async () => !(await waiterOnLock()), 40_000);
    await release();
    released = true;
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, `the run ends cancelled: ${String(err)}`);
    assert.equal((await windowsOf(handle.workflowId)).length, 0, 'the cancelled run committed no window');
    const [run] = await env.sql<{ status: string }[]>`select status from runs where run_id = ${handle.workflowId}`;
    assert.equal(run.status, 'cancelled');

    const next: ReportRunResult = await runReport(env, { definitionId, runTime: new Date().toISOString() });
    assert.equal(next.attempts, 3);
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, next.savedReportId)), ['c1', 'c2', 'c3']);
  } finally {
    if (!released) await release();
  }
});

test('a run terminated while generating cannot commit afterwards: the late commit is refused', async () => {
  const { definitionId, release } = await campaignWithLockedWatermark();
  let released = false;
  try {
    const handle = await startReport(env, { definitionId, runTime: new Date().toISOString() });
    const pid = await until('the run waiting for the watermark lock', waiterOnLock);
    await handle.terminate('stopped by the test');
    // What the API (on read) and the worker's reconciler do: copy Temporal's truth into the run's record.
    const execution = await handle.describe();
    assert.equal(closedState(execution.status.name), 'terminated');
    assert.ok(await recordClosedRun(env.sql, env.client, handle.workflowId, 'terminated', execution));
    // Let the orphaned activity through the lock, and wait until its transaction has ended either way.
    await release();
    released = true;
    await until('the terminated run\'s transaction to end', async () => {
      const [row] = await env.sql<{ state: string | null }[]>`select state from pg_stat_activity where pid = ${pid}`;
      return !row || row.state === 'idle';
    }, 40_000);
    assert.equal((await windowsOf(handle.workflowId)).length, 0, 'the terminated run committed no window');
    assert.equal((await env.sql`select 1 from saved_reports where run_id = ${handle.workflowId}`).length, 0, 'and saved no report');

    const next = await runReport(env, { definitionId, runTime: new Date().toISOString() });
    assert.equal(next.attempts, 3);
  } finally {
    if (!released) await release();
  }
});
