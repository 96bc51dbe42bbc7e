// Worker processes SIGKILLed again and again at seeded random points of one list import run (FAULT_TRIALS
// kills, default 10; FAULT_SEED): after a last worker finishes it, nothing is lost or duplicated, the
// watermarks are exact and no campaign lock is left behind.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { campaignLockOf } from '../../lib/campaign-lock.js';
import { listImportWorkflowId, type ListImportInput, type ListImportResult } from '../../workflows/list-import-shared.js';
import { runSearchAttributes } from '../../workflows/shared/search-attributes.js';
import { startApi, type Api } from '../erasure-fixtures.js';
import { createTestEnv, type TestEnv } from '../harness/env.js';
import { newCampaign } from '../recording-export-helpers.js';
import { crashLoop, distinctCampaignIds, kill, rngFor, TRIALS } from './crash-helpers.js';

let env: TestEnv;
let api: Api;
before(async () => {
  env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC' } });
  await distinctCampaignIds(env.sql);
  api = await startApi(env);
});
after(async () => {
  await api?.close();
  await env?.stop();
});

const runEnded = (workflowId: string) => async () => {
  const { status } = await env.client.workflow.getHandle(workflowId).describe();
  return status.name !== 'RUNNING';
};

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('list import: every contact once with its merged values, counts exact, campaign lock released', async () => {
    const campaign = await newCampaign(env.sql);
    const rows = 60_000;
    await env.sql`insert into contacts (campaign_id, client_id, name) select ${campaign.id}, 'C' || g, 'Old ' || g from generate_series(0, ${rows / 2 - 1}::int) g`;
    const csv = ['client_id,name,phone', ...Array.from({ length: rows }, (_, i) => `C${i},New ${i},+1555${String(i).padStart(7, '0')}`)].join('\n');
    const stored = await env.deps.store.put(Readable.from([csv]), { prefix: 'uploads' });
    const [upload] = await env.sql`
      insert into uploads (id, store_key, size_bytes, sha256) values (${`fault-${campaign.id}`}, ${stored.key}, ${stored.sizeBytes}, ${stored.sha256}) returning id`;
    const input: ListImportInput = {
      campaignId: campaign.id, source: { uploadId: upload.id }, separator: ',', hasHeader: true, keyField: 'clientId', wait: true,
      importRule: 'append', updateRule: 'nothing', mergeRule: 'append', deleteAllBeforeImport: false,
    };
    const workflowId = listImportWorkflowId(campaign.id, new Date());
    const handle = await env.client.workflow.start('listImport', {
      workflowId, taskQueue: env.taskQueue, args: [input], typedSearchAttributes: runSearchAttributes({ kind: 'list-import', campaignId: campaign.id, triggeredBy: 'faults' }),
    });
    const landed = await crashLoop(env, rngFor('import'), { progress: async () => 0, ended: runEnded(workflowId) }, { maxExtraMs: 6000, waitForProgress: false });
    assert.ok(landed >= Math.min(TRIALS, 3), `${landed} kills landed mid-run`);
    const last = await env.spawnWorker();
    const result = (await handle.result()) as ListImportResult;
    await kill(last);
    assert.deepEqual([result.rowsRead, result.imported, result.updated, result.rejected], [rows, rows / 2, rows / 2, 0]);
    const [contacts] = await env.sql`
      select count(*)::int as n, count(*) filter (where name like 'New %')::int as merged,
             (select count(*)::int from contact_phones p join contacts c on c.id = p.contact_id where c.campaign_id = ${campaign.id}) as phones
      from contacts where campaign_id = ${campaign.id}`;
    assert.deepEqual({ ...contacts }, { n: rows, merged: rows, phones: rows });
    assert.equal(await campaignLockOf(env.sql, campaign.id), null);
  });
});
