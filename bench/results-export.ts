// Results export: one run of a periodic results export job, `detailed`, over a campaign's attempts (1,000,000
// at full size: 200,000 closed records of 5 attempts each, two custom fields), by the resultsExport workflow
// (claim the window, COPY the rows through the worker encrypted into the content store, save, send the file to a
// `file` destination), against `psql \copy (select <the same columns>) to` a local file: the same query text
// (lib/results/query.ts resultsCsvSql), its settings set in the psql session.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resultsCsvSql } from '../lib/results/query.js';
import { createDestination } from '../test/recording-export-helpers.js';
import { createTestEnv } from '../test/harness/env.js';
import { RESULTS_EXPORT_WORKFLOW, type ResultsExportResult } from '../contracts/results.js';
import { runProfile } from './profile.js';
import { count, distinctCampaignIds, fmt, MB, plainFigure, psql, scaled, timeFigure, timed, type BenchContext, type Figure } from './lib.js';

const FULL_ATTEMPTS = 1_000_000;
const ATTEMPTS_PER_RECORD = 5;
const WINDOW_FROM = '2025-01-01T00:00:00Z';
const CUSTOM_FIELDS = ['region', 'segment'];

/** The psql script: the query's settings (lib/results/query.ts setResultsParams) for the session, then \copy. */
function baselineScript(campaignId: string, runTime: string, out: string): string {
  const query = resultsCsvSql('detailed', 'collected', CUSTOM_FIELDS.length).replace(/\s+/g, ' ');
  return [
    `select set_config('cc_results.campaign', '${campaignId}', false), set_config('cc_results.from', '${WINDOW_FROM}', false),`,
    `  set_config('cc_results.to', '${runTime}', false), set_config('cc_results.lists', '', false),`,
    `  set_config('cc_results.dispositions', '', false), set_config('cc_results.fields', '${JSON.stringify(CUSTOM_FIELDS)}', false),`,
    `  set_config('TimeZone', 'UTC', false) \\g /dev/null`,
    `\\copy (${query}) to '${out}' with (format csv, header true)`,
    '',
  ].join('\n');
}

export async function resultsExportBenchmark(ctx: BenchContext): Promise<Figure[]> {
  const records = Math.max(200, Math.round(scaled(ctx, FULL_ATTEMPTS, 1000) / ATTEMPTS_PER_RECORD));
  const attempts = records * ATTEMPTS_PER_RECORD;
  const env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC' } });
  await distinctCampaignIds(env.sql);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-results-'));
  try {
    const [{ id: campaignId }] = await env.sql<{ id: string }[]>`
      insert into campaigns (name, timezone) values (${`bench-results-${randomBytes(3).toString('hex')}`}, 'UTC') returning id::text`;
    const [{ id: listId }] = await env.sql<{ id: string }[]>`insert into calling_lists (campaign_id, name) values (${campaignId}, 'default') returning id::text`;
    ctx.log(`results-export: inserting ${count(records)} records, ${count(attempts)} attempts`);
    await env.sql`
      insert into contacts (campaign_id, list_id, client_id, name, email, status, closed_at, custom_fields)
      select ${campaignId}, ${listId}, 'K' || g, 'Name ' || g, 'k' || g || '@example.com', 'Closed',
             timestamptz '2025-02-01T00:00:00Z' + g * interval '1 second',
             jsonb_build_object('region', 'R' || (g % 7), 'segment', 'S' || (g % 3))
      from generate_series(1, ${records}::int) g`;
    await env.sql`
      insert into contact_phones (contact_id, position, number)
      select id, 1, '+1555' || lpad(id::text, 7, '0') from contacts where campaign_id = ${campaignId}`;
    await env.sql`
      insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status, disposition, agent, record_status, collected_at)
      select ${campaignId}, 'K' || g, '+1555' || lpad(g::text, 7, '0'), t - interval '30 seconds' - k * interval '1 hour', t - k * interval '1 hour',
             case when k = 0 then 'DELIVEREDPERSON' else 'NOANSWER' end, case when k = 0 then 'Sale' else 'No answer' end, 'agent.' || (g % 20),
             case when k = 0 then 'Closed' else 'Callback' end, t - k * interval '1 hour' + interval '1 minute'
      from generate_series(1, ${records}::int) g, generate_series(0, ${ATTEMPTS_PER_RECORD - 1}::int) k,
           lateral (select timestamptz '2025-02-01T00:00:00Z' + g * interval '1 second') x(t)`;
    await env.sql`vacuum analyze contacts`;
    await env.sql`vacuum analyze call_attempts`;
    await env.sql`vacuum analyze contact_phones`;
    const root = path.join(env.config.fileDestinationRoot, `bench-results-${randomBytes(3).toString('hex')}`);
    await mkdir(root, { recursive: true });
    const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: root });
    const [{ id: jobId }] = await env.sql<{ id: string }[]>`
      insert into job_definitions (kind, name, enabled, campaign_id, config)
      values ('results-export', ${`bench-${randomBytes(3).toString('hex')}`}, false, ${campaignId},
              ${env.sql.json({ format: 'detailed', listIds: [], dispositions: 'all', schedule: { startAt: WINDOW_FROM, every: '1h' }, destinationId, path: 'out/results.csv' })})
      returning id::text`;
    // Both read the window (startAt, runTime]: every attempt was collected in 2025.
    const runTime = new Date(Math.ceil(Date.now() / 1000) * 1000).toISOString();

    const out = path.join(dir, 'baseline.csv');
    const script = path.join(dir, 'results.sql');
    await writeFile(script, baselineScript(campaignId, runTime, out));
    const b = await timed(() => psql(env.db.url, script));
    const baselineBytes = (await stat(out)).size;
    await rm(out);

    await env.startWorker();
    ctx.log(`results-export: baseline ${fmt(b.seconds)} s; running the workflow`);
    const workflowId = `results-export/${jobId}/bench-${Date.now()}`;
    const o = await timed(async () => {
      const handle = await env.client.workflow.start(RESULTS_EXPORT_WORKFLOW, { taskQueue: env.taskQueue, workflowId, args: [{ jobId, runTime }] });
      return (await handle.result()) as ResultsExportResult;
    });
    const profile = await runProfile(env.client, workflowId);
    if (o.value.rows !== attempts) throw new Error(`the export has ${o.value.rows} rows, expected ${attempts}`);
    const size = `${count(attempts)} attempts`;
    return [
      timeFigure({
        benchmark: 'Results export: detailed', size, ours: o.seconds, baseline: b.seconds, limit: 1.5, goal: '≤ 1.5×',
        notes: `ours: window claimed, ${fmt((o.value.sizeBytes ?? 0) / MB, 0)} MB CSV encrypted into the content store, saved, then sent to a file destination; `
          + `baseline psql \\copy of the same query ${fmt(baselineBytes / MB, 0)} MB to a local file. Where ours went: ${profile}`,
      }),
      plainFigure({ benchmark: 'Results export: records', size, ours: o.value.records ?? 0, unit: 'records', goal: 'informational', met: null, notes: `${ATTEMPTS_PER_RECORD} attempts each` }),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
    await env.stop();
  }
}
