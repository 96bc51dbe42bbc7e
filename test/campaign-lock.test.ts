// The campaign lock's owner (lib/campaign-lock/) and its workflow, for every process type that takes the lock
// (import, export, delete, status change), against a real PostgreSQL and Temporal. A holder that must stay
// open is a run on a task queue no worker polls; one that closed is that run terminated.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createListImportActivities } from '../activities/list-import.js';
import {
  acquireCampaignLock, admitLockRequest, assertCampaignUnlocked, CampaignLockAwaitedError, CampaignLockedError, campaignLockOf,
  runOpenIn, type IsRunOpen,
} from '../lib/campaign-lock/index.js';
import type { Sql } from '../db/sql.js';
import {
  acquireLockSignal, CAMPAIGN_LOCK_FAILURES, CAMPAIGN_LOCK_WORKFLOW_TYPE, campaignLockWorkflowId, LOCK_TYPES, lockStateQuery, type CampaignLockInput,
} from '../contracts/campaign-lock.js';
import type { ListImportInput } from '../contracts/list-import.js';
import { createTestEnv, type RunningWorker, type TestEnv } from './harness/env.js';
import { until } from './harness/wait.js';

let env: TestEnv;
let worker: RunningWorker;
let isRunOpen: IsRunOpen;
const opened: { terminate(reason: string): Promise<unknown> }[] = [];

before(async () => {
  env = await createTestEnv();
  worker = await env.startWorker();
  isRunOpen = runOpenIn(env.client);
});
after(async () => {
  await Promise.all(opened.map((handle) => handle.terminate('test done').catch(() => undefined)));
  await worker?.stop();
  await env?.stop();
});

let campaigns = 0;
async function newCampaign(): Promise<string> {
  const [{ id }] = await env.sql<{ id: string }[]>`
    insert into campaigns (name, timezone) values (${`owner-${++campaigns}-${randomBytes(3).toString('hex')}`}, 'UTC') returning id`;
  return id;
}

/** A run that stays open until the test terminates it. */
async function openRun(name: string): Promise<{ runId: string; close(): Promise<void> }> {
  const runId = `${name}/${randomBytes(4).toString('hex')}`;
  const handle = await env.client.workflow.start('listImport', { taskQueue: `unpolled-${randomBytes(4).toString('hex')}`, workflowId: runId, args: [] });
  opened.push(handle);
  return { runId, close: async () => { await handle.terminate('closed by the test'); } };
}

const inTx = <T>(work: (tx: Sql) => Promise<T>) => env.sql.begin((tx) => work(tx as unknown as Sql)) as Promise<T>;

describe('the campaign lock owner', () => {
  test('every process type takes and holds the lock, and a contact edit is refused while it does', async () => {
    for (const type of LOCK_TYPES) {
      const campaignId = await newCampaign();
      const holder = await openRun(`holder-${type}`);
      assert.deepEqual(await acquireCampaignLock(env.sql, campaignId, { runId: holder.runId, type }, isRunOpen), { acquired: true, reaped: null });
      assert.equal((await campaignLockOf(env.sql, campaignId))?.type, type);
      await assert.rejects(inTx((tx) => assertCampaignUnlocked(tx, campaignId, isRunOpen)),
        (err) => err instanceof CampaignLockedError && err.lock.heldBy === holder.runId && err.lock.type === type);
      await holder.close();
    }
  });

  test('a contact edit frees a lock whose holder closed without releasing it, instead of refusing', async () => {
    const campaignId = await newCampaign();
    const holder = await openRun('closed-holder');
    await acquireCampaignLock(env.sql, campaignId, { runId: holder.runId, type: 'delete' }, isRunOpen);
    await holder.close();
    await inTx((tx) => assertCampaignUnlocked(tx, campaignId, isRunOpen));
    assert.equal(await campaignLockOf(env.sql, campaignId), null);
  });

  test('a no-wait start is refused while another process holds the lock or waits for it, and admitted when it is free', async () => {
    const campaignId = await newCampaign();
    const waiting = await openRun('waiting');
    await inTx((tx) => admitLockRequest(tx, campaignId, { runId: waiting.runId, type: 'status-change', wait: true, asksNow: true }, isRunOpen));
    await assert.rejects(inTx((tx) => admitLockRequest(tx, campaignId, { runId: 'no-wait/1', type: 'export', wait: false, asksNow: true }, isRunOpen)),
      (err) => err instanceof CampaignLockAwaitedError && err.waiting.runId === waiting.runId && err.waiting.type === 'status-change');
    await acquireCampaignLock(env.sql, campaignId, { runId: waiting.runId, type: 'status-change' }, isRunOpen);
    await assert.rejects(inTx((tx) => admitLockRequest(tx, campaignId, { runId: 'no-wait/2', type: 'export', wait: false, asksNow: true }, isRunOpen)),
      (err) => err instanceof CampaignLockedError && err.lock.heldBy === waiting.runId);
    await waiting.close();
    await inTx((tx) => admitLockRequest(tx, campaignId, { runId: 'no-wait/3', type: 'export', wait: false, asksNow: false }, isRunOpen));
  });
});

describe('a holder\'s own work', () => {
  test('an import whose lock another process holds applies nothing and fails at once (CampaignLockLost, not retried)', async () => {
    const campaignId = await newCampaign();
    const exporter = await openRun('export');
    await acquireCampaignLock(env.sql, campaignId, { runId: exporter.runId, type: 'export' }, isRunOpen);
    const runId = `list-import/${campaignId}/lost`;
    const input = { campaignId, importRule: 'append', updateRule: 'nothing', mergeRule: 'nothing', deleteAllBeforeImport: false } as ListImportInput;
    await assert.rejects(new MockActivityEnvironment().run(createListImportActivities(env.deps).applyImport, runId, input),
      (err) => err instanceof ApplicationFailure && err.type === CAMPAIGN_LOCK_FAILURES.lost && err.nonRetryable && err.message.includes(exporter.runId));
    assert.equal((await env.sql`select 1 from list_import_results where run_id = ${runId}`).length, 0);
  });
});

describe('the campaign lock workflow', () => {
  test('a restarted lock workflow watches a holder it did not grant with that holder\'s own process type', async () => {
    // The lock row of an export (taken before this lock workflow existed, as after a termination); an import
    // then asks. The workflow used to take every such holder for an import.
    const campaignId = await newCampaign();
    const exporter = await openRun('export');
    await acquireCampaignLock(env.sql, campaignId, { runId: exporter.runId, type: 'export' }, isRunOpen);
    const importer = await openRun('import');
    const input: CampaignLockInput = { campaignId, checkEverySeconds: 60 };
    const lockWorkflow = await env.client.workflow.signalWithStart(CAMPAIGN_LOCK_WORKFLOW_TYPE, {
      workflowId: campaignLockWorkflowId(campaignId), taskQueue: env.taskQueue, args: [input],
      signal: acquireLockSignal, signalArgs: [{ runId: importer.runId, type: 'import', wait: true }],
    });
    opened.push(lockWorkflow);
    const state = await until('the lock workflow to watch the holder it found', async () => {
      const s = await lockWorkflow.query(lockStateQuery);
      return s.holder ? s : undefined;
    });
    assert.deepEqual(state.holder, { runId: exporter.runId, type: 'export', wait: true });
    assert.deepEqual(state.queue.map((q) => q.runId), [importer.runId]);
  });
});
