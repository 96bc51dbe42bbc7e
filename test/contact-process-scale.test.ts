// A 1,000,000-contact export, status change and deletion in bounded worker memory (issue 14): the export streams
// from COPY through the transcoder into the content store, the deletion streams `delete … returning` through a
// cursor into its CSV, the status change runs in the database. RSS of the process hosting the worker is sampled
// while each runs and must stay under a fixed cap whatever the contact count; the flat-memory check is on what the
// heap and the Buffers keep after a forced GC (every 2 s), which must not grow with the list. CONTACT_PROCESS_SCALE_ROWS sets
// another size.
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { after, before, test } from 'node:test';
import { contactProcessWorkflowId, type ContactProcessInput, type ContactProcessResult } from '../contracts/contact-process.js';
import { JOB_KINDS, runSearchAttributes } from '../contracts/search-attributes.js';
import { distinctCampaignIds } from './faults/crash-helpers.js';
import { createTestEnv, type TestEnv } from './harness/env.js';

const ROWS = Number(process.env.CONTACT_PROCESS_SCALE_ROWS ?? 1_000_000);
// RSS also holds what the collector has not handed back yet (measured 112-219 MB for the deletion on a loaded
// 2-core machine): the cap catches a process that buffers the list; the flat-memory check is the retained one.
const RSS_CAP_MB = 300;
const RETAINED_CAP_MB = 40;
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
let env: TestEnv;
let campaignId: string;

before(async () => {
  env = await createTestEnv({ env: { CAMPAIGN_LOCK_CHECK_SECONDS: '1' } });
  await distinctCampaignIds(env.sql);
  await env.startWorker();
  [{ id: campaignId }] = await env.sql<{ id: string }[]>`insert into campaigns (name, timezone) values ('scale', 'UTC') returning id::text`;
  await env.sql`
    with c as (
      insert into contacts (campaign_id, client_id, name, email, status, custom_fields)
      select ${campaignId}, 'S' || g, 'Name ' || g, 's' || g || '@example.com', case when g % 2 = 0 then 'Closed' else 'Inactive' end,
             jsonb_build_object('region', 'r' || (g % 7), 'notes', repeat('n', 100))
      from generate_series(1, ${ROWS}::int) g returning id, client_id
    ) insert into contact_phones (contact_id, position, number, retry_count) select id, 1, '+1555' || lpad(substr(client_id, 2), 7, '0'), 1 from c`;
  await env.sql`analyze contacts`;
  await env.sql`analyze contact_phones`;
});
after(async () => { await env?.stop(); });

async function measured(what: string, input: ContactProcessInput): Promise<ContactProcessResult> {
  gc();
  const baseline = process.memoryUsage().rss;
  const retainedNow = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
  const heapBase = retainedNow();
  let peak = baseline;
  let retainedPeak = 0;
  const collector = setInterval(() => {
    gc();
    retainedPeak = Math.max(retainedPeak, retainedNow() - heapBase);
  }, 2000);
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 100);
  const started = Date.now();
  let result: ContactProcessResult;
  try {
    const kind = { export: JOB_KINDS.listExport, delete: JOB_KINDS.listDelete, 'status-change': JOB_KINDS.listStatusChange }[input.type];
    const handle = await env.client.workflow.start('contactProcess', {
      workflowId: contactProcessWorkflowId(input.type, campaignId, new Date()), taskQueue: env.taskQueue, args: [input],
      typedSearchAttributes: runSearchAttributes({ kind, campaignId, triggeredBy: 'test' }),
    });
    result = await handle.result() as ContactProcessResult;
  } finally {
    clearInterval(sampler);
    clearInterval(collector);
  }
  const growthMb = (peak - baseline) / 2 ** 20;
  const retainedMb = retainedPeak / 2 ** 20;
  console.log(`${what} of ${ROWS} contacts: ${((Date.now() - started) / 1000).toFixed(1)} s, RSS grew ${growthMb.toFixed(0)} MB, heap kept after GC ${retainedMb.toFixed(0)} MB`);
  assert.ok(retainedMb < RETAINED_CAP_MB, `${what}: the heap kept ${retainedMb.toFixed(0)} MB after GC; the cap is ${RETAINED_CAP_MB} MB`);
  assert.ok(growthMb < RSS_CAP_MB, `${what}: RSS grew ${growthMb.toFixed(0)} MB; the cap is ${RSS_CAP_MB} MB`);
  return result;
}

test(`export of ${ROWS} contacts (Windows-1252) in bounded memory`, async () => {
  const result = await measured('export', {
    type: 'export', campaignId, filter: {}, fields: ['client_id', 'name', 'phone', 'email', 'status', 'region', 'notes'], separator: ',',
    hasHeader: true, encoding: 'windows-1252', wait: true,
  });
  assert.equal(result.exported, ROWS);
  assert.ok((result.sizeBytes ?? 0) > ROWS * 100);
});

test(`status change of ${ROWS / 2} of ${ROWS} contacts in bounded memory`, async () => {
  const result = await measured('status change', {
    type: 'status-change', campaignId, filter: { statuses: ['Inactive'] }, set: { status: 'Remaining', priority: 3 }, clearRetryCount: true,
    activatePhones: false, wait: true,
  });
  assert.deepEqual([result.matched, result.changed], [ROWS / 2, ROWS / 2]);
});

test(`deletion of ${ROWS / 2} of ${ROWS} contacts, kept as CSV, in bounded memory`, async () => {
  const result = await measured('deletion', { type: 'delete', campaignId, filter: { statuses: ['Closed'] }, wait: true });
  assert.equal(result.deleted, ROWS / 2);
  const [{ n }] = await env.sql`select count(*)::int as n from contacts where campaign_id = ${campaignId}`;
  assert.equal(n, ROWS / 2);
});
