// A report file is written before the saved_reports row that owns it (issue 20): when that row can never
// be inserted (here: the definition deleted between the write and the save, a foreign-key failure no retry
// fixes), the file must not stay in the content store forever. It is noted pending before the write, and
// the daily retention removes it once a saved report of that age would have expired.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createReportActivities } from '../activities/report.js';
import type { ContentStore } from '../lib/content-store/types.js';
import { SAVED_REPORT_DAYS } from '../lib/reports/definition.js';
import { loadReportDefinition } from '../lib/reports/definitions.js';
import { generateReportFile } from '../lib/reports/generate.js';
import { reportObjectKey } from '../lib/reports/run-objects.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { createReportDefinition, insertAttempts, newCampaign } from './report-helpers.js';

let env: TestEnv;

before(async () => {
  env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC', ACCOUNT_NAME: 'Acme' } });
});

after(async () => {
  await env?.stop();
});

const days = (n: number) => new Date(Date.now() + n * 86_400_000);

async function pendingNotes(key: string) {
  return env.sql`select 1 from report_pending_objects where store_key = ${key}`;
}

async function report(store: ContentStore = env.deps.store) {
  const campaign = await newCampaign(env.sql);
  await insertAttempts(env.sql, campaign.id, [{ clientId: 'c1', completedAt: new Date(Date.now() - 60_000) }]);
  const definitionId = await createReportDefinition(env.sql, { campaignId: campaign.id });
  const definition = (await loadReportDefinition(env.sql, definitionId))!;
  const runId = `report/${definitionId}/pending-${Date.now()}`;
  const generating = generateReportFile({ ...env.deps, store }, {
    runId, definition, runTime: new Date(), now: new Date(), accountName: 'Acme', reportTimezone: 'UTC',
  });
  return { definitionId, runId, key: reportObjectKey(runId, 'report'), generating };
}

test('a file whose saved report can never be inserted is removed by the retention, not left forever', async () => {
  let definitionId = '';
  // The definition is deleted once the file is written: the row's insert then fails for good.
  const store: ContentStore = {
    ...env.deps.store,
    async put(body, options) {
      const stored = await env.deps.store.put(body, options);
      await env.sql`delete from job_definitions where id = ${definitionId}`;
      return stored;
    },
  };
  const run = await report(store);
  definitionId = run.definitionId;
  await assert.rejects(run.generating, /foreign key/);
  assert.equal(await env.deps.store.exists(run.key), true, 'the file was written');
  assert.equal((await pendingNotes(run.key)).length, 1, 'and is noted pending: no saved report owns it');

  const retention = (at: Date) => createReportActivities({ ...env.deps, clock: () => at }).removeExpiredReports();
  await retention(days(SAVED_REPORT_DAYS - 1));
  assert.equal(await env.deps.store.exists(run.key), true, 'kept as long as a saved report would be');
  const { removed } = await retention(days(SAVED_REPORT_DAYS + 1));
  assert.ok(removed >= 1);
  assert.equal(await env.deps.store.exists(run.key), false, 'removed with the saved reports of its age');
  assert.equal((await pendingNotes(run.key)).length, 0);
});

test('a saved report owns its file: no pending note stays, and the retention keeps it until it expires', async () => {
  const run = await report();
  const saved = await run.generating;
  assert.ok(saved.fileId);
  assert.equal((await pendingNotes(run.key)).length, 0);
  await createReportActivities({ ...env.deps, clock: () => days(1) }).removeExpiredReports();
  assert.equal(await env.deps.store.exists(run.key), true);
});
