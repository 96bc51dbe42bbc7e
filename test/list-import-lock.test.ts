// The campaign lock and the apply step under faults, on a real worker process (worker/main.ts, with its lock
// sweep): a lock whose holder and lock workflow were both terminated is freed by the sweep; a cancel during
// the apply leaves the contacts as they were; a worker SIGKILLed during the apply imports exactly once; the
// lock workflow continues as new with its holder and queue, and a restarted one takes over a holder it did
// not grant. The apply step is held still by a real row lock a test transaction takes on one contact (as a
// concurrent edit would), so "during the apply" is a fact, not a race.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { campaignLockWorkflowId, lockStateQuery } from '../contracts/campaign-lock.js';
import { listImportWorkflowId, type ListImportInput } from '../contracts/list-import.js';
import { JOB_KINDS, runSearchAttributes } from '../contracts/search-attributes.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { holdContact, lockWatch, seededCampaign as seededCampaignIn, waitFor } from './list-import-helpers.js';

const { TaskQueueType } = proto.temporal.api.enums.v1;
let env: TestEnv;
const { lockRow, lockHeldBy, lockFreed } = lockWatch(() => env.sql);
let worker: ChildProcess;

before(async () => {
  env = await createTestEnv({ env: { CAMPAIGN_LOCK_CHECK_SECONDS: '1', CAMPAIGN_LOCK_REAP_SECONDS: '1' } });
  worker = await env.spawnWorker();
  await workerPolling();
});
after(async () => { await env.stop(); });

/** A child worker takes a while to start on a busy machine: wait until it polls the task queue. */
const workerPolling = () => waitFor('the worker to poll its task queue', async () => {
  const { pollers } = await env.client.workflowService.describeTaskQueue({
    namespace: env.config.TEMPORAL_NAMESPACE, taskQueue: { name: env.taskQueue }, taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (pollers?.length ?? 0) > 0;
}, 180_000);

const seededCampaign = () => seededCampaignIn(env.sql, 'lock');

async function uploaded(text: string): Promise<{ uploadId: string }> {
  const stored = await env.deps.store.put(Readable.from([Buffer.from(text)]), { prefix: 'uploads' });
  const uploadId = `upl_lock_${stored.key.replace(/\W/g, '').slice(-16)}`;
  await env.sql`insert into uploads (id, store_key, size_bytes, sha256) values (${uploadId}, ${stored.key}, ${stored.sizeBytes}, ${stored.sha256})`;
  return { uploadId };
}

let starts = 0;
async function startImport(campaignId: string, text: string, rules: Partial<ListImportInput> = {}): Promise<WorkflowHandle> {
  const input: ListImportInput = {
    campaignId, source: await uploaded(text), separator: ',', hasHeader: true, keyField: 'clientId', wait: true,
    importRule: 'append', updateRule: 'nothing', mergeRule: 'nothing', deleteAllBeforeImport: false, ...rules,
  };
  return env.client.workflow.start('listImport', {
    workflowId: listImportWorkflowId(campaignId, new Date(Date.now() + ++starts)), taskQueue: env.taskQueue, args: [input],
    typedSearchAttributes: runSearchAttributes({ kind: JOB_KINDS.listImport, campaignId, triggeredBy: 'test' }),
  });
}


/** The apply transaction of some import is waiting on a row lock. */
const applyBlocked = (runId: string) => waitFor(`the apply of ${runId} to wait on the held contact`, async () => {
  const [run] = await env.sql<{ step: string }[]>`select step from runs where run_id = ${runId}`;
  if (run?.step !== 'applying') return false;
  const [waiting] = await env.sql`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
  return !!waiting;
});

const contactsOf = (campaignId: string) => env.sql`
  select c.client_id, c.name, c.status, c.custom_fields,
    (select json_agg(json_build_object('position', p.position, 'number', p.number, 'state', p.state, 'retry', p.retry_count) order by p.position)
     from contact_phones p where p.contact_id = c.id) as phones
  from contacts c where c.campaign_id = ${campaignId} order by c.client_id`;
const runRow = async (runId: string) => (await env.sql<{ status: string; ended_at: Date }[]>`select status, ended_at from runs where run_id = ${runId}`)[0];

const FILE = 'client_id,name,phone\nK1,Kay One,+15550000001\nK2,Kay Two,+15550000002\nK3,Kay Three,+15550000003\nN1,New One,+15550000101\nN2,New Two,+15550000102\nN3,New Three,+15550000103\nN4,New Four,+15550000104\nN5,,not a phone\n';

describe('the campaign lock is always released', () => {
  test('when the holder and the lock workflow are both terminated, the worker sweep frees the lock within its interval', async () => {
    const campaignId = await seededCampaign();
    const held = await holdContact(env.sql, campaignId, 'K1');
    try {
      const handle = await startImport(campaignId, FILE, { mergeRule: 'inactivate' });
      await lockHeldBy(campaignId, handle.workflowId);
      await applyBlocked(handle.workflowId);
      const lockWorkflow = env.client.workflow.getHandle(campaignLockWorkflowId(campaignId));
      await handle.terminate('test: terminated from Temporal UI');
      await lockWorkflow.terminate('test: lock workflow terminated too');
      assert.equal((await lockWorkflow.describe()).status.name, 'TERMINATED');
      const started = Date.now();
      // The terminated import's apply is cancelled (its heartbeat finds the run gone) and rolls back; the
      // sweep's delete waits for that transaction's share lock on the row, then frees the campaign.
      await lockFreed(campaignId, 20_000);
      console.log(`lock freed ${Date.now() - started} ms after both workflows were terminated (sweep every 1 s)`);
    } finally {
      await held.release();
    }
    assert.equal((await contactsOf(campaignId)).filter((c) => c.status === 'Inactive').length, 0, 'the terminated import applied nothing');
  });
});

describe('the apply step', () => {
  test('a cancel during the apply rolls it back: the contacts are exactly as before and the lock is freed', async () => {
    const campaignId = await seededCampaign();
    const before = await contactsOf(campaignId);
    const held = await holdContact(env.sql, campaignId, 'K4');
    try {
      const handle = await startImport(campaignId, FILE, { deleteAllBeforeImport: true, updateRule: 'delete', mergeRule: 'replace' });
      await applyBlocked(handle.workflowId);
      await handle.cancel();
      const failure = await handle.result().then(() => undefined, (err: unknown) => err);
      assert.ok(failure instanceof WorkflowFailedError && failure.cause instanceof CancelledFailure, `cancelled, got ${String(failure)}`);
      assert.equal((await runRow(handle.workflowId)).status, 'cancelled');
      assert.equal((await env.sql`select count(*)::int as n from list_import_results where run_id = ${handle.workflowId}`)[0].n, 0);
    } finally {
      await held.release();
    }
    assert.deepEqual(await contactsOf(campaignId), before);
    await lockFreed(campaignId);
  });

  test('a worker SIGKILLed during the apply: the import completes exactly once on a new worker, counts exact', async () => {
    const campaignId = await seededCampaign();
    const held = await holdContact(env.sql, campaignId, 'K1');
    let handle: WorkflowHandle;
    try {
      handle = await startImport(campaignId, FILE, { mergeRule: 'inactivate' });
      await applyBlocked(handle.workflowId);
      worker.kill('SIGKILL');
      await new Promise((resolve) => worker.once('exit', resolve));
    } finally {
      // The killed worker's transaction goes on once the row is free, then finds its client gone and aborts.
      await held.release();
    }
    worker = await env.spawnWorker();
    const result = await handle.result() as { rowsRead: number; imported: number; updated: number; deleted: number; replaced: number; rejected: number };
    assert.deepEqual({ ...result, rowsRead: result.rowsRead, imported: result.imported, updated: result.updated, rejected: result.rejected },
      { ...result, rowsRead: 8, imported: 4, updated: 3, rejected: 1 });
    const contacts = await contactsOf(campaignId);
    assert.deepEqual(contacts.map((c) => [c.client_id, c.status]), [
      ['K1', 'Inactive'], ['K2', 'Inactive'], ['K3', 'Inactive'], ['K4', 'Remaining'], ['K5', 'Remaining'],
      ['N1', 'Remaining'], ['N2', 'Remaining'], ['N3', 'Remaining'], ['N4', 'Remaining'],
    ]);
    assert.equal((await env.sql`select count(*)::int as n from list_import_results where run_id = ${handle.workflowId}`)[0].n, 1);
    assert.equal((await runRow(handle.workflowId)).status, 'completed');
    await lockFreed(campaignId);
  });
});

describe('the lock workflow', () => {
  test('continues as new with its holder and its queue: the waiting import is granted the lock after the holder', async () => {
    const campaignId = await seededCampaign();
    const lockWorkflow = await env.client.workflow.start('campaignLock', {
      workflowId: campaignLockWorkflowId(campaignId), taskQueue: env.taskQueue,
      args: [{ campaignId, checkEverySeconds: 1, maxHistoryEvents: 40 }],
    });
    const firstRunId = lockWorkflow.firstExecutionRunId;
    const held = await holdContact(env.sql, campaignId, 'K1');
    let first: WorkflowHandle, second: WorkflowHandle;
    try {
      first = await startImport(campaignId, FILE, { mergeRule: 'inactivate' });
      await applyBlocked(first.workflowId);
      second = await startImport(campaignId, FILE, { mergeRule: 'activate-contact' });
      await waitFor('the lock workflow to continue as new', async () =>
        (await env.client.workflow.getHandle(campaignLockWorkflowId(campaignId), firstRunId).describe()).status.name === 'CONTINUED_AS_NEW');
      const state = await waitFor('the new run to know the queue', async () => {
        const s = await env.client.workflow.getHandle(campaignLockWorkflowId(campaignId)).query(lockStateQuery);
        return s.queue.length > 0 && s;
      });
      assert.notEqual((await lockWorkflow.describe()).runId, firstRunId);
      assert.equal(state.holder?.runId, first.workflowId);
      assert.deepEqual(state.queue.map((q) => q.runId), [second.workflowId]);
    } finally {
      await held.release();
    }
    await first.result();
    await second.result();
    assert.ok((await runRow(first.workflowId)).ended_at <= (await runRow(second.workflowId)).ended_at);
    assert.deepEqual((await contactsOf(campaignId)).filter((c) => ['K1', 'K2', 'K3'].includes(c.client_id)).map((c) => c.status),
      ['Remaining', 'Remaining', 'Remaining'], 'inactivated by the first, activated again by the second');
    await lockFreed(campaignId);
  });

  test('a lock workflow restarted while an import holds the lock takes over that holder and grants the next import when it releases', async () => {
    const campaignId = await seededCampaign();
    const held = await holdContact(env.sql, campaignId, 'K1');
    let first: WorkflowHandle, second: WorkflowHandle;
    try {
      first = await startImport(campaignId, FILE, { mergeRule: 'inactivate' });
      await applyBlocked(first.workflowId);
      await env.client.workflow.getHandle(campaignLockWorkflowId(campaignId)).terminate('test: lock workflow lost');
      second = await startImport(campaignId, FILE, { mergeRule: 'activate-contact' });   // starts a fresh lock workflow
      // A query reaches the terminated run until the new one has started: wait for the new run's state.
      const state = await waitFor('the new lock workflow to watch the holder it did not grant', async () => {
        const handle = env.client.workflow.getHandle(campaignLockWorkflowId(campaignId));
        if ((await handle.describe()).status.name !== 'RUNNING') return false;
        const s = await handle.query(lockStateQuery).catch(() => undefined);
        return s?.holder && s.queue.length > 0 && s;
      });
      assert.equal(state.holder?.runId, first.workflowId);
      assert.deepEqual(state.queue.map((q) => q.runId), [second.workflowId]);
      assert.equal((await lockRow(campaignId))?.held_by, first.workflowId);
    } finally {
      await held.release();
    }
    await first.result();
    await second.result();
    assert.ok((await runRow(first.workflowId)).ended_at <= (await runRow(second.workflowId)).ended_at);
    await lockFreed(campaignId);
  });
});
