// Worker processes SIGKILLed again and again at seeded random points of one list import run (FAULT_TRIALS
// kills, default 10; FAULT_SEED): after a last worker finishes it, nothing is lost or duplicated, the
// watermarks are exact and no campaign lock is left behind. The second test queues another import behind
// it and terminates the campaign's lock workflow, which alone knew that queue, before the kills begin.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { campaignLockWorkflowId, lockStateQuery } from '../../contracts/campaign-lock.js';
import { listImportWorkflowId, type ListImportInput, type ListImportResult } from '../../contracts/list-import.js';
import { runSearchAttributes } from '../../contracts/search-attributes.js';
import { campaignLockOf } from '../../lib/campaign-lock/index.js';
import { crashLoop, faultSuiteEnv, kill, rngFor, startImportRun, TRIALS, until, type JobRun } from './crash-helpers.js';

const suite = faultSuiteEnv();

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('list import: every contact once with its merged values, counts exact, campaign lock released', async () => {
    // Big enough that the import outlasts the 0-6 s kill delays on a fast, quiet machine (60,000 rows once
    // finished before the first kill landed): each kill restarts staging or the apply, so it always lands.
    const run = await startImportRun(suite.env, 500_000);
    await crashLoop(suite.env, run, rngFor('import'), { maxExtraMs: 6000, waitForProgress: false });
  });

  test('list import with a second one queued and the lock workflow terminated: both complete once, in turn', async () => {
    const { env } = suite;
    const run = await startImportRun(env, 500_000);
    const campaignId = run.workflowId.split('/')[1];
    // The queued import changes no contact (every rule "nothing"), so the first one's exact checks hold.
    const stored = await env.deps.store.put(Readable.from(['client_id,name\nC1,Queued\nC2,Queued\n']), { prefix: 'uploads' });
    await env.sql`insert into uploads (id, store_key, size_bytes, sha256) values (${`queued-${campaignId}`}, ${stored.key}, ${stored.sizeBytes}, ${stored.sha256})`;
    const input: ListImportInput = {
      campaignId, source: { uploadId: `queued-${campaignId}` }, separator: ',', hasHeader: true, keyField: 'clientId', wait: true,
      importRule: 'nothing', updateRule: 'nothing', mergeRule: 'nothing', deleteAllBeforeImport: false,
    };
    const lockWorkflow = env.client.workflow.getHandle(campaignLockWorkflowId(campaignId));
    const first = await env.spawnWorker({ LOG_LEVEL: 'error' });
    let queued: WorkflowHandle;
    try {
      await until('the first import to hold the lock', async () => (await campaignLockOf(env.sql, campaignId))?.heldBy === run.workflowId);
      queued = await env.client.workflow.start('listImport', {
        workflowId: listImportWorkflowId(campaignId, new Date(Date.now() + 1)), taskQueue: env.taskQueue, args: [input],
        typedSearchAttributes: runSearchAttributes({ kind: 'list-import', campaignId, triggeredBy: 'faults' }),
      });
      await until('the second import to queue behind the first', async () =>
        !!(await lockWorkflow.query(lockStateQuery).catch(() => null))?.queue.some((q) => q.runId === queued.workflowId));
      await lockWorkflow.terminate('faults: the lock workflow and its queue lost');
    } finally {
      await kill(first);
    }
    const both: JobRun = {
      ...run,
      async finish() {
        // The queued import asks again (every 4 × CAMPAIGN_LOCK_CHECK_SECONDS) and gets the lock after the first.
        let timer: NodeJS.Timeout | undefined;
        const result = await Promise.race([
          queued.result() as Promise<ListImportResult>,
          new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('the queued import never got the lock')), 300_000); }),
        ]).finally(() => clearTimeout(timer));
        assert.deepEqual([result.rowsRead, result.imported, result.updated, result.deleted], [2, 0, 0, 0]);
        await run.finish();
        const results = await env.sql<{ run_id: string; applied_at: Date }[]>`
          select run_id, applied_at from list_import_results where run_id in (${run.workflowId}, ${queued.workflowId}) order by applied_at`;
        assert.deepEqual(results.map((r) => r.run_id), [run.workflowId, queued.workflowId], 'each applied once, the queued one second');
      },
    };
    await crashLoop(env, both, rngFor('import-queued'), { maxExtraMs: 6000, waitForProgress: false });
  });
});
