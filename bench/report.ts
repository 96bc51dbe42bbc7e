// Report: All Attempts over a campaign's attempts (entire campaign), by the report workflow (COPY … TO
// STDOUT streamed through the worker, encrypted into the content store, saved), against `psql \copy
// (select …) to` a local file running the same query text.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestEnv } from '../test/harness/env.js';
import { createReportDefinition, newCampaign, runReport } from '../test/report-helpers.js';
import { runProfile } from './profile.js';
import { count, fmt, MB, plainFigure, psql, scaled, timeFigure, timed, type BenchContext, type Figure, distinctCampaignIds } from './lib.js';

const FULL_ATTEMPTS = 5_000_000;

/** lib/reports/queries.ts's All Attempts query for one campaign, with its settings inlined for psql. */
function baselineQuery(campaignId: number): string {
  const ts = (c: string) => `to_char(a.${c}, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')`;
  return `(with a as (
      select a.id, a.client_id, a.phone, a.started_at, a.completed_at, a.collected_at, a.duration_s, a.status,
             coalesce(s.rank, 0) as rank, a.disposition, a.agent
      from call_attempts a left join completion_statuses s on s.status = a.status
      where a.campaign_id = ${campaignId} and a.completed_at >= '-infinity' and a.completed_at < 'infinity'
    ), c as (select name from campaigns where id = ${campaignId})
    select a.id as "AttemptId", c.name as "Campaign", a.client_id as "ClientId", a.phone as "Phone", ${ts('started_at')} as "StartedAt",
           ${ts('completed_at')} as "CompletedAt", ${ts('collected_at')} as "CollectedAt", a.duration_s as "DurationSeconds",
           a.status as "Status", a.rank as "StatusRank", a.disposition as "Disposition", a.agent as "Agent",
           case when row_number() over (partition by a.client_id order by a.rank desc, a.completed_at desc, a.id desc) = 1 then 1 else 0 end as "BestContact"
    from a cross join c order by a.completed_at, a.id)`.replace(/\s+/g, ' ');
}

export async function reportBenchmark(ctx: BenchContext): Promise<Figure[]> {
  const attempts = scaled(ctx, FULL_ATTEMPTS, 1000);
  const env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC' } });
  await distinctCampaignIds(env.sql);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-report-'));
  try {
    const campaign = await newCampaign(env.sql, new Date('2025-01-01T00:00:00Z'));
    ctx.log(`report: inserting ${count(attempts)} attempts`);
    await env.sql`
      insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status, collected_at)
      select ${campaign.id}, 'C' || (g % ${Math.max(1, Math.floor(attempts / 5))}), '+1555' || lpad((g % 10000000)::text, 7, '0'), t - interval '40 seconds', t,
             (array['DELIVEREDPERSON','NOANSWER','BUSY','DELIVEREDMACHINE','UNDELIVEREDMACHINE','CALL_BAD_NUMBER','DNC','BADDATA'])[1 + g % 8], t
      from generate_series(1, ${attempts}::int) as g, lateral (select timestamptz '2025-01-02T00:00:00Z' + g * interval '1 second') as x(t)`;
    await env.sql`vacuum analyze call_attempts`;
    const definitionId = await createReportDefinition(env.sql, { campaignId: campaign.id, timeframe: { kind: 'entire-campaign' } });

    // The baseline first this time: both read the same freshly-vacuumed table; the order is noted.
    const out = path.join(dir, 'baseline.csv');
    const script = path.join(dir, 'report.sql');
    await writeFile(script, `set timezone = 'UTC';\n\\copy ${baselineQuery(Number(campaign.id))} to '${out}' with (format csv, header true)\n`);
    const b = await timed(() => psql(env.db.url, script));
    const baselineBytes = (await stat(out)).size;
    await rm(out);

    // An in-process worker (see docs/benchmarks.md: a child worker process hung in this run's report
    // activity); this process does nothing else while the report runs, so its RSS is the worker's.
    await env.startWorker();
    const idle = process.memoryUsage().rss;
    let rss = idle;
    const sampler = setInterval(() => { rss = Math.max(rss, process.memoryUsage().rss); }, 50);
    ctx.log(`report: baseline ${fmt(b.seconds)} s; running the workflow`);
    const workflowId = `report/${definitionId}/bench-${Date.now()}`;
    const o = await timed(() => runReport(env, { definitionId }, workflowId)).finally(() => clearInterval(sampler));
    const profile = await runProfile(env.client, workflowId);
    if (o.value.rows !== attempts) throw new Error(`report has ${o.value.rows} rows, expected ${attempts}`);
    const size = `${count(attempts)} attempts`;
    return [
      timeFigure({
        benchmark: 'Report: All Attempts', size, ours: o.seconds, baseline: b.seconds, limit: 1.5, goal: '≤ 1.5×',
        notes: `ours ${fmt(o.value.sizeBytes / MB, 0)} MB CSV encrypted into the content store and saved; baseline psql \\copy of the same query ${fmt(baselineBytes / MB, 0)} MB to a local file. Where ours went: ${profile}`,
      }),
      plainFigure({
        benchmark: 'Report: peak RSS (in-process worker)', size, ours: rss / MB, unit: 'MB', goal: 'bounded (informational)', met: null,
        notes: `idle before the run ${fmt(idle / MB, 0)} MB`,
      }),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
    await env.stop();
  }
}
