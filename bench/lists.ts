// Contact lists (issue 14): the three list processes of the contactProcess workflow (one worker child process,
// warmed up by one run of each process on a 10-contact campaign before anything is timed) against the single SQL statement a DBA would type:
//   - list export of every contact to SFTP vs `psql \copy (select …) to` a file + OpenSSH `sftp put`;
//   - bulk status change of half of them vs one `UPDATE` (ours also writes one history row per contact);
//   - bulk delete of the other half, kept as CSV, vs one `\copy (DELETE … RETURNING …) to` a CSV.
// Two identical campaigns: ours works on one, the baseline on the other, step by step in the same order, so
// both see the same table (and the same bloat the earlier steps left).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Sql } from '../db/sql.js';
import { exportQuery } from '../lib/contact-processes/export.js';
import { createTestEnv, type TestEnv } from '../test/harness/env.js';
import type { SshdServer } from '../test/harness/servers/index.js';
import { createDestination } from '../test/recording-export-helpers.js';
import { contactProcessWorkflowId, type ContactProcessInput, type ContactProcessResult } from '../contracts/contact-process.js';
import { JOB_KINDS, runSearchAttributes } from '../contracts/search-attributes.js';
import { runProfile } from './profile.js';
import { count, distinctCampaignIds, fmt, MB, peakRss, plainFigure, psql, scaled, timed, timeFigure, workerReady, type BenchContext, type Figure } from './lib.js';
import { sftpBatch } from './sftp.js';

const FULL_CONTACTS = 1_000_000;
const FIELDS = ['client_id', 'name', 'phone', 'email', 'status', 'region'];

/** A campaign of `rows` contacts in one list, half Closed and half Inactive, one phone each, two custom fields. */
async function seededCampaign(sql: Sql, rows: number, name: string): Promise<string> {
  const [{ id }] = await sql<{ id: string }[]>`insert into campaigns (name, timezone) values (${name}, 'UTC') returning id::text`;
  const [{ id: listId }] = await sql<{ id: string }[]>`insert into calling_lists (campaign_id, name) values (${id}, 'default') returning id::text`;
  await sql`
    with c as (
      insert into contacts (campaign_id, list_id, client_id, name, email, status, major_reason, closed_at, custom_fields)
      select ${id}, ${listId}, 'L' || g, 'Name ' || g, 'l' || g || '@example.com',
             case when g % 2 = 0 then 'Closed' else 'Inactive' end, case when g % 2 = 0 then 'SALE' end,
             case when g % 2 = 0 then timestamptz '2026-01-01' + g * interval '1 second' end,
             jsonb_build_object('region', 'r' || (g % 7), 'notes', repeat('n', 40))
      from generate_series(1, ${rows}::int) g returning id, client_id
    ) insert into contact_phones (contact_id, position, number, retry_count) select id, 1, '+1555' || lpad(substr(client_id, 2), 7, '0'), 1 from c`;
  return id;
}

interface Ours { seconds: number; rss: number; result: ContactProcessResult; profile: string }

async function ours(env: TestEnv, worker: ChildProcess, input: ContactProcessInput): Promise<Ours> {
  const kind = { export: JOB_KINDS.listExport, delete: JOB_KINDS.listDelete, 'status-change': JOB_KINDS.listStatusChange }[input.type];
  const workflowId = contactProcessWorkflowId(input.type, input.campaignId, new Date());
  const { seconds, value: result } = await timed(async () => {
    const handle = await env.client.workflow.start('contactProcess', {
      workflowId, taskQueue: env.taskQueue, args: [input],
      typedSearchAttributes: runSearchAttributes({ kind, campaignId: input.campaignId, triggeredBy: 'bench' }),
    });
    return (await handle.result()) as ContactProcessResult;
  });
  const rss = await peakRss(worker.pid!);
  return { seconds, rss, result, profile: await runProfile(env.client, workflowId) };
}

async function baselineScript(env: TestEnv, dir: string, name: string, script: string): Promise<number> {
  const file = path.join(dir, `${name}.sql`);
  await writeFile(file, script);
  return (await timed(() => psql(env.db.url, file))).seconds;
}

const rss = (o: Ours) => `worker peak RSS so far ${fmt(o.rss / MB, 0)} MB`;

export async function listsBenchmark(ctx: BenchContext, sshd: SshdServer): Promise<Figure[]> {
  const rows = scaled(ctx, FULL_CONTACTS, 1000);
  const half = rows / 2;
  const env = await createTestEnv();
  await distinctCampaignIds(env.sql);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-lists-'));
  try {
    const tag = randomBytes(3).toString('hex');
    const mine = await seededCampaign(env.sql, rows, `bench-lists-${tag}-ours`);
    const theirs = await seededCampaign(env.sql, rows, `bench-lists-${tag}-baseline`);
    await env.sql`vacuum analyze contacts`;
    await env.sql`vacuum analyze contact_phones`;
    const size = `${count(rows)} contacts`;
    const figures: Figure[] = [];
    const folder = `lists-${ctx.size}-${tag}`;
    const destinationId = await createDestination(env.sql, env.deps.keyring,
      { protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, path: sshd.rootDir }, { privateKey: sshd.privateKey });

    // One worker, its modules, workflow bundle, SFTP client and lock workflow warmed up by a run of each process.
    const worker = await env.spawnWorker();
    await workerReady(worker);
    const warm = await seededCampaign(env.sql, 10, `bench-lists-${tag}-warm-up`);
    await ours(env, worker, { type: 'export', campaignId: warm, filter: {}, wait: true, fields: FIELDS, separator: ',', hasHeader: true, encoding: 'utf8', destinationId, folder: `${folder}-warm-up` });
    await ours(env, worker, { type: 'status-change', campaignId: warm, filter: { statuses: ['Inactive'] }, wait: true, set: { priority: 1 }, clearRetryCount: false, activatePhones: false });
    await ours(env, worker, { type: 'delete', campaignId: warm, filter: { statuses: ['Closed'] }, wait: true });
    const warmRss = await peakRss(worker.pid!);

    // Export: every contact, six fields, UTF-8, to SFTP (with its .log).
    ctx.log(`lists: ${count(rows)} contacts × 2 seeded; exporting`);
    const ex = await ours(env, worker, {
      type: 'export', campaignId: mine, filter: {}, wait: true, fields: FIELDS, separator: ',', hasHeader: true, encoding: 'utf8', destinationId, folder,
    });
    if (ex.result.exported !== rows) throw new Error(`export wrote ${ex.result.exported} rows, expected ${rows}`);
    const sent = (await readdir(path.join(sshd.rootDir, folder))).filter((f) => !f.endsWith('.log'));
    if (sent.length !== 1) throw new Error(`export left ${sent.join(', ')} on the SFTP server`);
    const local = path.join(dir, 'export.csv');
    const exportBaseline = await timed(async () => {
      await baselineScript(env, dir, 'export', `\\copy (${exportQuery(theirs, {}, FIELDS)}) to '${local}' with (format csv, header true)\n`);
      await sftpBatch(sshd, dir, [`put ${local} ${path.posix.join(sshd.rootDir, folder, 'baseline.csv')}`]);
    });
    const theirBytes = (await stat(local)).size;
    figures.push(timeFigure({
      benchmark: 'List export (PostgreSQL → SFTP)', size, ours: ex.seconds, baseline: exportBaseline.seconds, limit: 1.5, goal: '≤ 1.5×',
      notes: `ours ${fmt((ex.result.sizeBytes ?? 0) / MB, 1)} MB (snapshot COPY, formula-neutralized, into the content store, then sent with its .log); baseline psql \\copy of the same query ${fmt(theirBytes / MB, 1)} MB + OpenSSH sftp put; ${rss(ex)}. Where ours went: ${ex.profile}`,
    }));

    // Status change: the Inactive half → Remaining, priority 3 (and one history row each).
    ctx.log(`lists: export ours ${fmt(ex.seconds)} s, baseline ${fmt(exportBaseline.seconds)} s; status change`);
    const st = await ours(env, worker, {
      type: 'status-change', campaignId: mine, filter: { statuses: ['Inactive'] }, wait: true,
      set: { status: 'Remaining', priority: 3 }, clearRetryCount: false, activatePhones: false,
    });
    if (st.result.changed !== half) throw new Error(`status change changed ${st.result.changed}, expected ${half}`);
    const stBaseline = await baselineScript(env, dir, 'status', `
update contacts set status = 'Remaining', priority = 3, closed_at = null, updated_at = now()
where campaign_id = ${Number(theirs)} and status = 'Inactive';
`);
    figures.push(timeFigure({
      benchmark: 'Bulk status change', size: `${count(half)} of ${size}`, ours: st.seconds, baseline: stBaseline, limit: 1.5, goal: '≤ 1.5×',
      notes: `status → Remaining, priority 3; ours also writes ${count(half)} history rows (contact_events) in the same statement, under the campaign lock; baseline one UPDATE; ${rss(st)}. Where ours went: ${st.profile}`,
    }));

    // Delete: the Closed half, kept as CSV.
    ctx.log(`lists: status change ours ${fmt(st.seconds)} s, baseline ${fmt(stBaseline)} s; deleting`);
    const del = await ours(env, worker, { type: 'delete', campaignId: mine, filter: { statuses: ['Closed'] }, wait: true });
    if (del.result.deleted !== half) throw new Error(`deletion deleted ${del.result.deleted}, expected ${half}`);
    const deletedCsv = path.join(dir, 'deleted.csv');
    const delBaseline = await baselineScript(env, dir, 'delete', `\\copy (delete from contacts c where c.campaign_id = ${Number(theirs)} and c.status = 'Closed' returning c.client_id, c.name, (select number from contact_phones p where p.contact_id = c.id and p.position = 1) as phone, (select number from contact_phones p where p.contact_id = c.id and p.position = 2) as phone2, (select number from contact_phones p where p.contact_id = c.id and p.position = 3) as phone3, c.email, c.status, c.priority, c.major_reason, c.minor_reason, c.closed_at, (select l.name from calling_lists l where l.id = c.list_id) as list, c.custom_fields ->> 'notes' as notes, c.custom_fields ->> 'region' as region) to '${deletedCsv}' with (format csv, header true)\n`);
    const [{ left }] = await env.sql<{ left: number }[]>`select count(*)::int as left from contacts where campaign_id = ${theirs}`;
    if (left !== half) throw new Error(`the baseline's deletion left ${left} contacts, expected ${half}`);
    figures.push(timeFigure({
      benchmark: 'Bulk delete (kept as CSV)', size: `${count(half)} of ${size}`, ours: del.seconds, baseline: delBaseline, limit: 1.5, goal: '≤ 1.5×',
      notes: `ours ${fmt((del.result.sizeBytes ?? 0) / MB, 1)} MB CSV (rows as text columns through a cursor, formula-neutralized CSV lines, encrypted into the content store before the commit); baseline psql \\copy (DELETE … RETURNING the same columns) ${fmt((await stat(deletedCsv)).size / MB, 1)} MB; both pay the cascades (phones, attempts); ${rss(del)}. Where ours went: ${del.profile}`,
    }));
    const peak = Math.max(ex.rss, st.rss, del.rss);
    figures.push(plainFigure({
      benchmark: 'List processes: peak worker RSS', size, ours: peak / MB, unit: 'MB', goal: '≤ 100 MB over the warmed-up worker',
      met: peak - warmRss <= 100 * MB,
      notes: `worker child process VmHWM after each: export ${fmt(ex.rss / MB, 0)}, status change ${fmt(st.rss / MB, 0)}, delete ${fmt(del.rss / MB, 0)} MB; `
        + `${fmt(warmRss / MB, 0)} MB after the warm-up runs (its floor: modules, workflow bundle, SFTP client), so +${fmt((peak - warmRss) / MB, 0)} MB for the lists`,
    }));
    ctx.log(`lists: delete ours ${fmt(del.seconds)} s, baseline ${fmt(delBaseline)} s`);
    worker.kill('SIGTERM');
    await rm(path.join(sshd.rootDir, folder), { recursive: true, force: true });
    await rm(path.join(sshd.rootDir, `${folder}-warm-up`), { recursive: true, force: true });
    return figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
    await env.stop();
  }
}
