// File arrival on a real SFTP server while worker processes are SIGKILLed and restarted (issue 16; FAULT_TRIALS
// kills, default 10; FAULT_SEED): three lists dropped into the watched folder during the kills start exactly three
// runs, each list imported once and moved to processed/; a fourth list being written all that time (a line
// appended every second) is not taken until its writer stops, and then once, whole. The folder is polled by three
// pollers at once: the job's schedule through the workers being killed (triggered again each round, overlapping),
// and two in the test process — still one run per file.
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pollArrivals } from '../../lib/jobs/arrivals.js';
import { startSshd, type SshdServer } from '../harness/servers/index.js';
import { faultSuiteEnv, kill, rngFor, sleep, TRIALS, until } from './crash-helpers.js';

const suite = faultSuiteEnv();
let sshd: SshdServer;
before(async () => { sshd = await startSshd(); });
after(async () => { await sshd?.stop(); });

const ROWS = 5_000;
const list = (prefix: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}${from + i},Name ${from + i},+1555${String(from + i).padStart(7, '0')}\n`).join('');

test(`SFTP file arrival with ${TRIALS} worker kills: three dropped files → three runs, a file being written waits, nothing taken twice`, async () => {
  const { env, api } = suite;
  const [{ id: campaignId }] = await env.sql<{ id: string }[]>`insert into campaigns (name, timezone) values (${`sftp-arrivals-${Date.now()}`}, 'UTC') returning id`;
  const base = path.join(sshd.rootDir, `arrivals-${process.pid}-${Date.now()}`);
  const folder = path.join(base, 'in');
  await mkdir(folder, { recursive: true });
  const dest = await api.call('POST', '/destinations', { body: {
    name: `ftpin-${Date.now()}`, protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, path: base,
  } });
  assert.equal(dest.status, 201, JSON.stringify(dest.json));
  const created = await api.call('POST', '/jobs', { body: {
    name: 'Lists in over SFTP', trigger: { kind: 'file-arrival', destinationId: dest.json.id, folder: 'in', pattern: '*.csv' },
    steps: [{ name: 'import', kind: 'list-import', campaignId, source: 'trigger-file' }],
  } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const jobId: string = created.json.id;
  const schedule = env.client.schedule.getHandle(`job/${jobId}`);

  // Three pollers at once: the schedule's poll on the worker (which may be killed mid-poll) and two here.
  const poll = () => pollArrivals({ sql: env.sql, keyring: env.deps.keyring, client: env.client, taskQueue: env.taskQueue, now: new Date() }, jobId);
  const pollAll = async () => {
    await schedule.trigger('ALLOW_ALL');
    await Promise.all([poll(), poll()]);
  };
  const arrivals = () => env.sql<{ path: string; status: string; run_id: string }[]>`
    select path, status, run_id from job_file_arrivals where definition_id = ${jobId} order by path`;
  const openRuns = async () => (await env.sql`
    select 1 from runs where type = 'job' and run_id like ${`job/${jobId}/file-%`} and status in ('running', 'scheduled')`).length;

  // The list still being written: a line every second, so no two looks 30 s apart see it the same.
  const growing = path.join(folder, 'd.csv');
  await writeFile(growing, `client_id,name,phone\n${list('d', 0, 100)}`);
  let grown = 100;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      await appendFile(growing, list('d', grown, 1));
      grown++;
      await sleep(1000);
    }
  })();

  const rng = rngFor('job-sftp-arrivals');
  const t0 = Date.now();
  // How far the runs got: files taken and settled, steps recorded, bytes the imports staged.
  const progress = async () => Number((await env.sql<{ p: string }[]>`
    select (select count(*) + count(*) filter (where status <> 'started') from job_file_arrivals where definition_id = ${jobId})
         + (select count(*) from job_run_steps where run_id like ${`job/${jobId}/%`})
         + (select coalesce(sum(progress_done), 0) from runs where run_id like ${`job/${jobId}/%`}) as p`)[0].p);
  const taken = async () => (await arrivals()).filter((a) => a.path !== 'in/d.csv');
  let landed = 0;
  let kills = 0;
  try {
    // The three lists are dropped while workers start and die (a worker may die before it even connects).
    for (const name of ['a', 'b', 'c']) {
      const worker = await env.spawnWorker({ LOG_LEVEL: 'error' });
      await sleep(rng.int(0, 2000));
      await writeFile(path.join(folder, `${name}.csv`), `client_id,name,phone\n${list(name, 0, ROWS)}`);
      await pollAll();
      await sleep(rng.int(500, 4000));
      await kill(worker);
      kills++;
    }
    // Then each worker is killed at a random point once it has made progress, polled all the while, until the
    // three lists are imported and moved.
    const allTaken = async () => { const rows = await taken(); return rows.length === 3 && rows.every((a) => a.status !== 'started'); };
    for (let t = 0; t < TRIALS && !(await allTaken()); t++) {
      const worker = await env.spawnWorker({ LOG_LEVEL: 'error' });
      const before = await progress();
      await pollAll();
      const deadline = Date.now() + 120_000;
      while ((await progress()) === before && Date.now() < deadline) {
        await sleep(2000);
        await Promise.all([poll(), poll()]);
      }
      await sleep(rng.int(0, 3000));
      const open = (await taken()).some((a) => a.status === 'started');
      await kill(worker);
      kills++;
      if (open) landed++;
      console.error(`kill ${kills} (${open ? 'mid-run' : 'idle'}) at ${Math.round((Date.now() - t0) / 1000)} s: ${(await arrivals()).map((a) => `${a.path} ${a.status}`).join(', ')}`);
    }
    assert.ok(landed >= Math.min(TRIALS, 3), `${landed} of ${kills} kills landed while a run was open: ${JSON.stringify(await arrivals())}`);
    assert.ok(!(await arrivals()).some((a) => a.path === 'in/d.csv'), 'the file being written was not taken');
  } finally {
    writing = false;
    await writer;
  }

  // The writer has stopped: d.csv settles and is taken once, whole. A last worker finishes everything.
  const last = await env.spawnWorker();
  try {
    await until('the four files to be taken and moved', async () => {
      await Promise.all([poll(), poll()]);
      const rows = await arrivals();
      return rows.length === 4 && rows.every((a) => a.status !== 'started') && (await openRuns()) === 0;
    }, 300_000);
  } finally {
    await kill(last);
  }

  const rows = await arrivals();
  assert.deepEqual(rows.map((a) => [a.path, a.status]), [['in/a.csv', 'processed'], ['in/b.csv', 'processed'], ['in/c.csv', 'processed'], ['in/d.csv', 'processed']]);
  const runs = await env.sql<{ run_id: string; status: string }[]>`select run_id, status from runs where type = 'job' and run_id like ${`job/${jobId}/%`}`;
  assert.deepEqual(runs.map((r) => r.status), ['completed', 'completed', 'completed', 'completed'], 'one run per file');
  assert.deepEqual(runs.map((r) => r.run_id).sort(), rows.map((a) => a.run_id).sort());
  const imports = await env.sql`select 1 from runs where type = 'list-import' and run_id like ${`job/${jobId}/%`}`;
  assert.equal(imports.length, 4, 'one list-import child per file');
  const counts = await env.sql<{ prefix: string; n: number; distinct_ids: number }[]>`
    select left(client_id, 1) as prefix, count(*)::int as n, count(distinct client_id)::int as distinct_ids
    from contacts where campaign_id = ${campaignId} group by 1 order by 1`;
  assert.deepEqual(counts.map((c) => ({ ...c })), [
    { prefix: 'a', n: ROWS, distinct_ids: ROWS }, { prefix: 'b', n: ROWS, distinct_ids: ROWS }, { prefix: 'c', n: ROWS, distinct_ids: ROWS },
    { prefix: 'd', n: grown, distinct_ids: grown },
  ], 'each list imported once; d.csv with every line its writer wrote');
  assert.deepEqual((await readdir(folder)).filter((f) => f.endsWith('.csv')), [], 'no list left in the folder');
  assert.deepEqual((await readdir(path.join(folder, 'processed'))).sort(), ['a.csv', 'b.csv', 'c.csv', 'd.csv']);
  assert.deepEqual((await Promise.all([poll(), poll()])).flatMap((p) => p.started), [], 'nothing left to take');
  const removed = await api.call('DELETE', `/jobs/${jobId}`);
  assert.ok(removed.status < 300, `the job and its poll schedule removed: ${removed.status}`);
});
