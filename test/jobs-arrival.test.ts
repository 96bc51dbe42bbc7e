// File-arrival jobs (issue 16, seed 002 "FTPin") on a real SFTP server: each arrived file starts exactly one run
// (two pollers at once included), a file still growing is not taken, a list-import step imports the trigger's
// file, and the file is moved to processed/ — or to failed/ with a notification when its import fails.
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { pollArrivals } from '../lib/jobs/arrivals.js';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startSmtp, startSshd, type SmtpSink, type SshdServer } from './harness/servers/index.js';
import { until } from './harness/wait.js';
import { closedRun, createJob } from './jobs-helpers.js';
import { seededCampaign } from './list-import-helpers.js';

let env: TestEnv;
let api: Api;
let sshd: SshdServer;
let smtp: SmtpSink;
let destinationId: string;

before(async () => {
  [sshd, smtp] = await Promise.all([startSshd(), startSmtp()]);
  env = await createTestEnv({ env: { SMTP_URL: `smtp://${smtp.host}:${smtp.port}` } });
  await env.startWorker();
  api = await startApi(env);
  const res = await api.call('POST', '/destinations', { body: {
    name: 'ftpin', protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, path: path.join(sshd.rootDir, 'ftpin'),
  } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  destinationId = res.json.id;
});

after(async () => {
  await api?.close();
  await env?.stop();
  await Promise.all([sshd?.stop(), smtp?.stop()]);
});

/** A file-arrival job importing each arrived list into the campaign; its schedule is paused so the test polls itself. */
async function arrivalJob(campaignId: string, folder: string, pattern = '*.csv'): Promise<string> {
  const jobId = await createJob(api, {
    name: `Lists into ${campaignId} ${randomBytes(2).toString('hex')}`, notify: { onFailure: ['ops@example.com'] },
    trigger: { kind: 'file-arrival', destinationId, folder, pattern },
    steps: [{ name: 'import list', kind: 'list-import', campaignId, source: 'trigger-file', importRule: 'append' }],
  });
  const view = (await api.call('GET', `/jobs/${jobId}`)).json;
  assert.equal(view.scheduleId, `job/${jobId}`, 'the folder is polled by the job\'s schedule');
  await env.client.schedule.getHandle(view.scheduleId).pause('the test polls by itself');
  return jobId;
}

/** The polls' clock: each `poll` at `minutes` after the test's start (a file is taken once unchanged for 30 s). */
const start = Date.now();
const poll = (jobId: string, minutes: number) => pollArrivals({
  sql: env.sql, keyring: env.deps.keyring, client: env.client, taskQueue: env.taskQueue, now: new Date(start + minutes * 60_000),
}, jobId);
/** Two pollers at once (two workers, or one restarted mid-poll): the runs each started. */
const pollTwice = async (jobId: string, minutes: number) => (await Promise.all([poll(jobId, minutes), poll(jobId, minutes)])).flatMap((p) => p.started);

const list = (rows: string[]) => `client_id,name,phone\n${rows.map((id, i) => `${id},Name ${id},+1555123${String(i).padStart(4, '0')}`).join('\n')}\n`;

it('each arrived file starts one run, once it stopped growing, is imported once and moved to processed/', async () => {
  const campaignId = await seededCampaign(env.sql, 'arrivals');
  const folder = path.join(sshd.rootDir, 'ftpin', 'lists');
  await mkdir(folder, { recursive: true });
  const jobId = await arrivalJob(campaignId, 'lists');
  await writeFile(path.join(folder, 'a.csv'), list(['A1', 'A2']));
  await writeFile(path.join(folder, 'b.csv'), list(['B1']));
  await writeFile(path.join(folder, 'c.csv'), list(['C1']));
  await writeFile(path.join(folder, 'ignored.txt'), 'not a list');

  assert.deepEqual(await pollTwice(jobId, 0), [], 'first sighting: nothing is taken yet');
  await appendFile(path.join(folder, 'c.csv'), 'C2,Name C2,+15551239999\n'); // still being written
  const second = await pollTwice(jobId, 1);
  assert.equal(second.length, 2, `a.csv and b.csv, one run each: ${second.join(', ')}`);
  assert.equal(new Set(second).size, 2);
  const third = await pollTwice(jobId, 2);
  assert.equal(third.length, 1, 'c.csv once it stopped growing');
  const runs = [...second, ...third];
  for (const runId of runs) assert.equal((await closedRun(env, runId)).status, 'completed');

  const imported = await env.sql<{ client_id: string }[]>`select client_id from contacts where campaign_id = ${campaignId} and client_id !~ '^K' order by client_id`;
  assert.deepEqual(imported.map((c) => c.client_id), ['A1', 'A2', 'B1', 'C1', 'C2'], 'each list imported once, c.csv complete');
  assert.deepEqual((await readdir(folder)).filter((f) => f.endsWith('.csv')), [], 'no list is left in the folder (the imports\' statistics logs are written beside them)');
  assert.ok((await readdir(folder)).includes('ignored.txt'), 'a file not matching the pattern is left alone');
  assert.deepEqual((await readdir(path.join(folder, 'processed'))).sort(), ['a.csv', 'b.csv', 'c.csv']);
  const arrivals = await env.sql<{ status: string }[]>`select status from job_file_arrivals where definition_id = ${jobId}`;
  assert.deepEqual(arrivals.map((a) => a.status), ['processed', 'processed', 'processed']);
  assert.deepEqual(await pollTwice(jobId, 3), [], 'nothing left to take');
});

it('a file whose import fails is moved to failed/ and the recipients are notified', async () => {
  const campaignId = await seededCampaign(env.sql, 'arrivals-bad');
  const folder = path.join(sshd.rootDir, 'ftpin', 'bad');
  await mkdir(folder, { recursive: true });
  const jobId = await arrivalJob(campaignId, 'bad');
  await writeFile(path.join(folder, 'broken.csv'), Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(2000).map((b) => (b % 2 ? 0 : b))]));
  assert.deepEqual(await poll(jobId, 10).then((p) => p.started), []);
  const before = smtp.messages.length;
  const [runId] = (await poll(jobId, 11)).started;
  assert.ok(runId);
  const run = await closedRun(env, runId);
  assert.equal(run.status, 'failed');
  assert.deepEqual((await readdir(folder)).filter((f) => f.endsWith('.csv')), []);
  assert.deepEqual(await readdir(path.join(folder, 'failed')), ['broken.csv']);
  const [notice] = (await smtp.waitForMessages(before + 1)).slice(before);
  assert.deepEqual(notice.to, ['ops@example.com']);
  assert.match(notice.raw.toString('utf8'), /import list/);
});

it('the job\'s schedule polls the folder through the worker (jobFilePoll)', async () => {
  const campaignId = await seededCampaign(env.sql, 'arrivals-poll');
  const folder = path.join(sshd.rootDir, 'ftpin', 'polled');
  await mkdir(folder, { recursive: true });
  const jobId = await arrivalJob(campaignId, 'polled');
  await writeFile(path.join(folder, 'new.csv'), list(['P1']));
  const handle = env.client.schedule.getHandle(`job/${jobId}`);
  await handle.trigger();
  const pollId = await until('the poll to start', async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId);
  assert.match(pollId, new RegExp(`^job/${jobId}/poll`));
  const result = await env.client.workflow.getHandle(pollId).result();
  assert.deepEqual(result, { started: [], waiting: 1 }, 'first sighting: the file waits for the next poll');
  const [row] = await env.sql<{ state: { arrivals: Record<string, unknown> } }[]>`select state from job_definitions where id = ${jobId}`;
  assert.deepEqual(Object.keys(row.state.arrivals), ['polled/new.csv']);
});

it('the statistics log an import writes beside its file is not taken as an arrival (pattern "*")', async () => {
  const campaignId = await seededCampaign(env.sql, 'arrivals-logs');
  const folder = path.join(sshd.rootDir, 'ftpin', 'all');
  await mkdir(folder, { recursive: true });
  const jobId = await arrivalJob(campaignId, 'all', '*');
  await writeFile(path.join(folder, 'feed.csv'), list(['L1']));
  await writeFile(path.join(folder, 'other.log'), list(['L2'])); // a .log the job did not write is a file like any other
  assert.deepEqual((await poll(jobId, 20)).started, []);
  const runs = (await poll(jobId, 21)).started;
  assert.equal(runs.length, 2);
  for (const runId of runs) assert.equal((await closedRun(env, runId)).status, 'completed');
  assert.ok((await readdir(folder)).includes('feed.csv.log'), 'the import wrote its statistics log beside the list');
  assert.deepEqual([await poll(jobId, 22), await poll(jobId, 23)].map((p) => p.started), [[], []], 'the log is not an arrival');
  const arrivals = await env.sql<{ path: string }[]>`select path from job_file_arrivals where definition_id = ${jobId} order by path`;
  assert.deepEqual(arrivals.map((a) => a.path), ['all/feed.csv', 'all/other.log']);
});

it('a run whose file cannot be moved to processed/ ends failed, recorded and notified, not left running', async () => {
  const campaignId = await seededCampaign(env.sql, 'arrivals-unmovable');
  const folder = path.join(sshd.rootDir, 'ftpin', 'unmovable');
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'processed'), 'a file where the processed/ folder would go');
  const jobId = await arrivalJob(campaignId, 'unmovable');
  await writeFile(path.join(folder, 'list.csv'), list(['U1']));
  assert.deepEqual((await poll(jobId, 30)).started, []);
  const before = smtp.messages.length;
  const [runId] = (await poll(jobId, 31)).started;
  assert.ok(runId);
  const run = await closedRun(env, runId);
  assert.equal(run.status, 'failed', 'the steps succeeded but the file stayed: the run fails');
  assert.match(String(run.error), /unmovable\/list\.csv could not be moved to unmovable\/processed\//);
  const imported = await env.sql<{ client_id: string }[]>`select client_id from contacts where campaign_id = ${campaignId} and client_id = 'U1'`;
  assert.equal(imported.length, 1, 'the import step itself ran once');
  const [notice] = (await smtp.waitForMessages(before + 1)).slice(before);
  assert.deepEqual(notice.to, ['ops@example.com']);
  assert.match(notice.raw.toString('utf8'), /could not be moved/);
  assert.ok((await readdir(folder)).includes('list.csv'), 'the file is where it arrived');
});
