// Worker processes SIGKILLed again and again at seeded random points of one bulk deletion and one bulk status
// change (FAULT_TRIALS kills, default 10; FAULT_SEED; issue 14): after a last worker finishes each, it completed
// exactly once — the counts exact, the matched contacts deleted or changed and every other one left alone, one
// result row, the deleted contacts' CSV complete — and no campaign lock is left behind.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { campaignLockOf } from '../../lib/campaign-lock/index.js';
import { contactProcessWorkflowId, type ContactProcessInput, type ContactProcessResult } from '../../contracts/contact-process.js';
import { JOB_KINDS, runSearchAttributes } from '../../contracts/search-attributes.js';
import type { TestEnv } from '../harness/env.js';
import { newCampaign } from '../recording-export-helpers.js';
import { crashLoop, faultSuiteEnv, rngFor, TRIALS, type JobRun } from './crash-helpers.js';

const suite = faultSuiteEnv();
const CONTACTS = 200_000;

/** `count` contacts, one phone each (retry count 2); even ones Closed, odd ones Inactive. */
async function bigCampaign(env: TestEnv, count: number): Promise<string> {
  const campaign = await newCampaign(env.sql);
  await env.sql`
    with c as (
      insert into contacts (campaign_id, client_id, name, status, custom_fields)
      select ${campaign.id}, 'C' || g, 'Name ' || g, case when g % 2 = 0 then 'Closed' else 'Inactive' end, jsonb_build_object('n', g::text)
      from generate_series(0, ${count - 1}::int) g returning id, client_id
    ) insert into contact_phones (contact_id, position, number, retry_count) select id, 1, '+1555' || substr(client_id, 2), 2 from c`;
  await env.sql`analyze contacts`;
  return campaign.id;
}

async function startProcess(env: TestEnv, input: ContactProcessInput): Promise<string> {
  const workflowId = contactProcessWorkflowId(input.type, input.campaignId, new Date());
  const kind = input.type === 'delete' ? JOB_KINDS.listDelete : JOB_KINDS.listStatusChange;
  await env.client.workflow.start('contactProcess', {
    workflowId, taskQueue: env.taskQueue, args: [input], typedSearchAttributes: runSearchAttributes({ kind, campaignId: input.campaignId, triggeredBy: 'faults' }),
  });
  return workflowId;
}

async function countLines(env: TestEnv, key: string): Promise<number> {
  let lines = 0;
  for await (const chunk of await env.deps.store.get(key)) for (const byte of chunk as Buffer) if (byte === 10) lines++;
  return lines;
}

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('bulk deletion: the matched contacts deleted once, the rest untouched, the CSV complete, lock released', async () => {
    const { env } = suite;
    const campaignId = await bigCampaign(env, CONTACTS);
    const workflowId = await startProcess(env, { type: 'delete', campaignId, filter: { statuses: ['Closed'] }, wait: true });
    const run: JobRun = {
      workflowId, workerEnv: {}, progress: async () => 0,
      async finish() {
        const result = (await env.client.workflow.getHandle(workflowId).result()) as ContactProcessResult;
        assert.deepEqual([result.matched, result.deleted], [CONTACTS / 2, CONTACTS / 2]);
        const [left] = await env.sql`
          select count(*)::int as n, count(*) filter (where status = 'Closed')::int as closed,
                 (select count(*)::int from contact_phones p join contacts c on c.id = p.contact_id where c.campaign_id = ${campaignId}) as phones
          from contacts where campaign_id = ${campaignId}`;
        assert.deepEqual({ ...left }, { n: CONTACTS / 2, closed: 0, phones: CONTACTS / 2 });
        const results = await env.sql<{ file_key: string }[]>`select file_key from contact_process_results where run_id = ${workflowId}`;
        assert.equal(results.length, 1);
        assert.equal(await countLines(env, results[0].file_key), CONTACTS / 2 + 1, 'the header and every deleted contact');
        assert.equal(await campaignLockOf(env.sql, campaignId), null);
      },
    };
    await crashLoop(env, run, rngFor('contact-delete'), { maxExtraMs: 6000, waitForProgress: false });
  });

  test('bulk status change: the matched contacts changed once, the rest untouched, lock released', async () => {
    const { env } = suite;
    const campaignId = await bigCampaign(env, CONTACTS);
    const workflowId = await startProcess(env, {
      type: 'status-change', campaignId, filter: { statuses: ['Inactive'] }, set: { status: 'Remaining', priority: 7 },
      clearRetryCount: true, activatePhones: false, wait: true,
    });
    const run: JobRun = {
      workflowId, workerEnv: {}, progress: async () => 0,
      async finish() {
        const result = (await env.client.workflow.getHandle(workflowId).result()) as ContactProcessResult;
        assert.deepEqual([result.matched, result.changed, result.phonesChanged], [CONTACTS / 2, CONTACTS / 2, CONTACTS / 2]);
        const [state] = await env.sql`
          select count(*) filter (where c.status = 'Remaining' and c.priority = 7 and p.retry_count = 0)::int as changed,
                 count(*) filter (where c.status = 'Closed' and c.priority = 0 and p.retry_count = 2)::int as untouched,
                 count(*)::int as n
          from contacts c join contact_phones p on p.contact_id = c.id where c.campaign_id = ${campaignId}`;
        assert.deepEqual({ ...state }, { changed: CONTACTS / 2, untouched: CONTACTS / 2, n: CONTACTS });
        assert.equal((await env.sql`select 1 from contact_process_results where run_id = ${workflowId}`).length, 1);
        assert.equal(await campaignLockOf(env.sql, campaignId), null);
      },
    };
    await crashLoop(env, run, rngFor('contact-status-change'), { maxExtraMs: 6000, waitForProgress: false });
  });
});
