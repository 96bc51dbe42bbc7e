// Import: a calling list on SFTP merged into a campaign that already holds half of its contacts, by the
// listImport workflow (worker in a child process, peak RSS read from /proc) against the baseline
// `sftp get` + `psql \copy` into a staging table + one INSERT … ON CONFLICT merge (contacts, then phones).
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sql } from '../db/sql.js';
import { createCampaign } from '../lib/generator/index.js';
import { createTestEnv, type TestEnv } from '../test/harness/env.js';
import type { SshdServer } from '../test/harness/servers/index.js';
import { createDestination } from '../test/recording-export-helpers.js';
import { listImportWorkflowId, type ListImportInput, type ListImportResult } from '../contracts/list-import.js';
import { runSearchAttributes } from '../contracts/search-attributes.js';
import { runProfile } from './profile.js';
import { count, fmt, MB, peakRss, psql, scaled, sh, timeFigure, plainFigure, timed, workerReady, type BenchContext, type Figure, distinctCampaignIds } from './lib.js';
import { sftpBatch } from './sftp.js';

const FULL_ROWS = 1_000_000;

function csvRows(rows: number): Readable {
  return Readable.from((function* () {
    yield 'client_id,name,phone,email\n';
    let chunk = '';
    for (let i = 0; i < rows; i++) {
      chunk += `C${i},Name ${i} Updated,+1555${String(i).padStart(7, '0')},c${i}@example.com\n`;
      if (chunk.length > 64 * 1024) { yield chunk; chunk = ''; }
    }
    if (chunk) yield chunk;
  })());
}

/** A campaign holding the first half of the file's contacts (older names, one phone each). */
async function seededCampaign(sql: Sql, rows: number): Promise<string> {
  const campaignId = await createCampaign(sql, { name: `bench-import-${randomBytes(3).toString('hex')}`, timezone: 'UTC' });
  await sql`
    insert into contacts (campaign_id, client_id, name, email)
    select ${campaignId}, 'C' || g, 'Name ' || g, null from generate_series(0, ${Math.floor(rows / 2) - 1}::int) g`;
  await sql`
    insert into contact_phones (contact_id, position, number)
    select id, 1, '+1999' || lpad(id::text, 7, '0') from contacts where campaign_id = ${campaignId}`;
  await sql`analyze contacts`;
  await sql`analyze contact_phones`;
  return campaignId;
}

async function contactCount(sql: Sql, campaignId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from contacts where campaign_id = ${campaignId}`;
  return row.n;
}

async function ours(env: TestEnv, sshd: SshdServer, file: string, campaignId: string): Promise<{ seconds: number; rss: number; idleRss: number; result: ListImportResult; profile: string }> {
  const destinationId = await createDestination(env.sql, env.deps.keyring,
    { protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, path: sshd.rootDir }, { privateKey: sshd.privateKey });
  const worker = await env.spawnWorker();
  const idleRss = await workerReady(worker);
  const input: ListImportInput = {
    campaignId, source: { destinationId, path: file }, separator: ',', hasHeader: true, keyField: 'clientId', wait: true,
    importRule: 'append', updateRule: 'nothing', mergeRule: 'append', deleteAllBeforeImport: false,
  };
  const workflowId = listImportWorkflowId(campaignId, new Date());
  const { seconds, value: result } = await timed(async () => {
    const handle = await env.client.workflow.start('listImport', {
      workflowId, taskQueue: env.taskQueue, args: [input],
      typedSearchAttributes: runSearchAttributes({ kind: 'list-import', campaignId, triggeredBy: 'bench' }),
    });
    return (await handle.result()) as ListImportResult;
  });
  const rss = await peakRss(worker.pid!);
  worker.kill('SIGTERM');
  return { seconds, rss, idleRss, result, profile: await runProfile(env.client, workflowId) };
}

async function baseline(env: TestEnv, sshd: SshdServer, file: string, campaignId: string): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-import-'));
  try {
    const local = path.join(dir, 'list.csv');
    const script = path.join(dir, 'merge.sql');
    // The same merge as the workflow's append/append rules: new contacts added, existing ones get name,
    // e-mail and phone 1 from the file. Campaign id is a number we created, so it is inlined safely.
    const id = Number(campaignId);
    await writeFile(script, `
begin;
create temp table staging (client_id text, name text, phone text, email text) on commit drop;
\\copy staging from '${local}' with (format csv, header true)
insert into contacts (campaign_id, client_id, name, email)
  select ${id}, client_id, name, email from staging
  on conflict (campaign_id, client_id) do update set name = excluded.name, email = excluded.email, updated_at = now();
insert into contact_phones (contact_id, position, number)
  select c.id, 1, s.phone from staging s join contacts c on c.campaign_id = ${id} and c.client_id = s.client_id
  on conflict (contact_id, position) do update set number = excluded.number, state = 'Active', retry_count = 0
  where contact_phones.number <> excluded.number;
commit;
`);
    const { seconds } = await timed(async () => {
      await sftpBatch(sshd, dir, [`get ${path.posix.join(sshd.rootDir, file)} ${local}`]);
      await psql(env.db.url, script);
    });
    return seconds;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function importBenchmark(ctx: BenchContext, sshd: SshdServer): Promise<Figure[]> {
  const rows = scaled(ctx, FULL_ROWS, 100);
  const env = await createTestEnv();
  await distinctCampaignIds(env.sql);
  try {
    const file = `list-${ctx.size}-${randomBytes(3).toString('hex')}.csv`;
    await pipeline(csvRows(rows), createWriteStream(path.join(sshd.rootDir, file)));
    const [mine, theirs] = [await seededCampaign(env.sql, rows), await seededCampaign(env.sql, rows)];
    ctx.log(`import: ${count(rows)} rows staged on SFTP; running the workflow`);
    const o = await ours(env, sshd, file, mine);
    if (o.result.rowsRead !== rows || o.result.rejected !== 0) throw new Error(`import read ${o.result.rowsRead} rows, rejected ${o.result.rejected}`);
    ctx.log(`import: ours ${fmt(o.seconds)} s; running the baseline`);
    const b = await baseline(env, sshd, file, theirs);
    const [n1, n2] = [await contactCount(env.sql, mine), await contactCount(env.sql, theirs)];
    if (n1 !== rows || n2 !== rows) throw new Error(`contacts after import: ours ${n1}, baseline ${n2}, expected ${rows}`);
    await sh('rm', ['-f', path.join(sshd.rootDir, file), path.join(sshd.rootDir, `${file}.log`)]);
    const size = `${count(rows)} rows`;
    return [
      timeFigure({
        benchmark: 'Import (SFTP → PostgreSQL, merge rules)', size, ours: o.seconds, baseline: b, limit: 1.5, goal: '≤ 1.5×',
        notes: `baseline: sftp get + psql \\copy + INSERT … ON CONFLICT; ours imported ${count(o.result.imported)}, updated ${count(o.result.updated)}. Where ours went: ${o.profile}`,
      }),
      plainFigure({
        benchmark: 'Import: peak worker RSS', size, ours: o.rss / MB, unit: 'MB', goal: '≤ 300 MB', met: o.rss <= 300 * MB,
        notes: `worker child process VmHWM; ${fmt(o.idleRss / MB, 0)} MB when idle before the run`,
      }),
    ];
  } finally {
    await env.stop();
  }
}
