// Worker processes SIGKILLed at seeded random points of one results export run (FAULT_TRIALS kills, default 10;
// FAULT_SEED): after a last worker finishes it, the destination holds the run's file once, whole, with every
// result of the window; the job's watermark moved once, to the run's end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { RESULTS_EXPORT_WORKFLOW, type ResultsExportResult } from '../../contracts/results.js';
import { createDestination, filesUnder } from '../recording-export-helpers.js';
import { crashLoop, faultSuiteEnv, rngFor, TRIALS, type JobRun } from './crash-helpers.js';

const suite = faultSuiteEnv();
const RECORDS = 100_000; // a run that outlasts the kills on an idle CI machine (20,000 finished before the first one)

async function startResultsExportRun(): Promise<JobRun> {
  const { env } = suite;
  const [{ id: campaignId }] = await env.sql<{ id: string }[]>`
    insert into campaigns (name, timezone) values (${`sigkill-results-${randomBytes(3).toString('hex')}`}, 'UTC') returning id::text`;
  const [{ id: listId }] = await env.sql<{ id: string }[]>`insert into calling_lists (campaign_id, name) values (${campaignId}, 'default') returning id::text`;
  // RECORDS closed records of two attempts each, collected in 2025 (inside the job's first window).
  await env.sql`
    insert into contacts (campaign_id, list_id, client_id, name, status, closed_at, custom_fields)
    select ${campaignId}, ${listId}, 'K' || g, 'Name ' || g, 'Closed', timestamptz '2025-02-01T00:00:00Z' + g * interval '1 second',
           jsonb_build_object('region', 'R' || (g % 7))
    from generate_series(1, ${RECORDS}) g`;
  await env.sql`
    insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status, disposition, record_status, collected_at)
    select ${campaignId}, 'K' || g, '+1555' || lpad(g::text, 7, '0'), t - interval '30 seconds' - k * interval '1 hour', t - k * interval '1 hour',
           'DELIVEREDPERSON', 'Sale', case when k = 0 then 'Closed' else 'Callback' end, t - k * interval '1 hour' + interval '1 minute'
    from generate_series(1, ${RECORDS}) g, generate_series(0, 1) k,
         lateral (select timestamptz '2025-02-01T00:00:00Z' + g * interval '1 second') x(t)`;
  const root = path.join(env.config.fileDestinationRoot, `sigkill-results-${randomBytes(3).toString('hex')}`);
  const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: root });
  const [{ id: jobId }] = await env.sql<{ id: string }[]>`
    insert into job_definitions (kind, name, enabled, campaign_id, config)
    values ('results-export', ${`sigkill-${randomBytes(3).toString('hex')}`}, false, ${campaignId},
            ${env.sql.json({ format: 'detailed', listIds: [], dispositions: 'all', schedule: { startAt: '2025-01-01T00:00:00Z', every: '1h' }, destinationId, path: 'out/results.csv' })})
    returning id::text`;
  const workflowId = `results-export/${jobId}/sigkill`;
  const handle = await env.client.workflow.start(RESULTS_EXPORT_WORKFLOW, { taskQueue: env.taskQueue, workflowId, args: [{ jobId }] });
  return {
    workflowId,
    workerEnv: {},
    progress: async () => 0,
    async finish() {
      const result = (await handle.result()) as ResultsExportResult;
      assert.equal(result.exported, true);
      assert.equal(result.rows, RECORDS * 2);
      const files = await filesUnder(root);
      assert.deepEqual(files, [`out/${result.fileName}`], 'the file once, no temporary file left');
      const rows = parse(await readFile(path.join(root, files[0])), { columns: true }) as Record<string, string>[];
      assert.equal(rows.length, RECORDS * 2);
      assert.equal(new Set(rows.map((r) => `${r.client_id}#${r.attempt_number}`)).size, RECORDS * 2, 'no row twice');
      assert.equal(rows[0].region, 'R1');
      const [saved] = await env.sql<{ n: number; sent: number }[]>`
        select count(*)::int as n, count(sent_at)::int as sent from results_files where job_id = ${jobId}`;
      assert.deepEqual({ ...saved }, { n: 1, sent: 1 });
      const [mark] = await env.sql<{ collected_through: Date; last_run_id: string }[]>`select collected_through, last_run_id from results_export_watermarks where job_id = ${jobId}`;
      assert.equal(mark.last_run_id, workflowId);
      assert.equal(mark.collected_through.toISOString(), result.range!.end);
    },
  };
}

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('results export: the file sent once, with every row of its window', async () => {
    const run = await startResultsExportRun();
    await crashLoop(suite.env, run, rngFor('results-export'), { maxExtraMs: 1500, waitForProgress: false });
  });
});
