// Worker processes SIGKILLed again and again while jobs made of steps run (issue 16; FAULT_TRIALS kills, default
// 10; FAULT_SEED): a report → copy → e-mail job completes with one report child, one copied file and its steps
// recorded once each; three files dropped for a file-arrival job start three runs — the poller asked again
// meanwhile, as after a restart — each list imported once and moved to processed/.
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pollArrivals } from '../../lib/jobs/arrivals.js';
import { testScratchDir } from '../harness/scratch.js';
import { startSmtp, type SmtpSink } from '../harness/servers/index.js';
import { createDestination } from '../recording-export-helpers.js';
import { createReportDefinition, newCampaign } from '../report-helpers.js';
import { crashLoop, faultSuiteEnv, kill, rngFor, sleep, TRIALS, until } from './crash-helpers.js';

const suite = faultSuiteEnv();
let smtp: SmtpSink;
before(async () => { smtp = await startSmtp(); });
after(async () => { await smtp?.stop(); });

async function createJob(body: Record<string, unknown>): Promise<string> {
  const res = await suite.api.call('POST', '/jobs', { body });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return res.json.id;
}

const stepRows = (runId: string) => suite.env.sql<{ name: string; status: string; child_id: string | null }[]>`
  select name, status, child_id from job_run_steps where run_id = ${runId} order by seq`;

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('report → copy → e-mail job: completes, one report child, one copied file, each step recorded once', async () => {
    const { env } = suite;
    const campaign = await newCampaign(env.sql, new Date('2025-01-01T00:00:00Z'));
    await env.sql`
      insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status, collected_at)
      select ${campaign.id}, 'C' || (g % 40000), '+1555' || lpad(g::text, 7, '0'), t - interval '40 seconds', t, 'NOANSWER', t
      from generate_series(1, 150000) as g, lateral (select timestamptz '2025-01-02T00:00:00Z' + g * interval '1 second') as x(t)`;
    const reportId = await createReportDefinition(env.sql, { campaignId: campaign.id, timeframe: { kind: 'entire-campaign' } });
    const folder = path.join(testScratchDir(), `sigkill-job-${process.pid}-${Date.now()}`);
    const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: folder });
    const jobId = await createJob({
      name: 'Report copy mail', trigger: { kind: 'manual' },
      steps: [
        { name: 'report', kind: 'report', reportId },
        { name: 'copy', kind: 'copy', destinationId, path: 'out/' },
        { name: 'mail', kind: 'email', to: ['ops@example.com'], attach: 'previous' },
      ],
    });
    const started = await suite.api.call('POST', `/jobs/${jobId}/run`, {});
    assert.equal(started.status, 202);
    const runId: string = started.json.runId;
    await crashLoop(env, {
      workflowId: runId,
      workerEnv: { REPORT_GENERATE_KBPS: '1500', SMTP_URL: `smtp://${smtp.host}:${smtp.port}` },
      progress: async () => (await stepRows(runId)).length,
      async finish() {
        const result = (await env.client.workflow.getHandle(runId).result()) as { outcome: string };
        assert.equal(result.outcome, 'completed');
        const steps = await stepRows(runId);
        assert.deepEqual(steps.map((s) => [s.name, s.status]), [['report', 'completed'], ['copy', 'completed'], ['mail', 'completed']]);
        const children = await env.sql`select run_id from runs where type = 'report' and run_id like ${`${runId}/%`}`;
        assert.equal(children.length, 1, 'one report child run');
        const saved = await env.sql`select 1 from saved_reports where run_id = ${steps[0].child_id} and kind = 'report'`;
        assert.equal(saved.length, 1, 'one saved report');
        assert.equal((await readdir(path.join(folder, 'out'))).filter((f) => !f.startsWith('.')).length, 1, 'one copied file, no half-written one');
        // An e-mail is sent at least once: a worker killed between the server's acceptance and the activity's
        // completion sends it again on the retry (SMTP has no idempotency key).
        assert.ok(smtp.messages.length >= 1);
      },
    }, rngFor('job'), { maxExtraMs: 6000, waitForProgress: false });
  });

  test('file arrival: three files dropped while workers die start three runs, each list imported once and moved', async () => {
    const { env } = suite;
    const [{ id: campaignId }] = await env.sql<{ id: string }[]>`insert into campaigns (name, timezone) values (${`arrivals-${Date.now()}`}, 'UTC') returning id`;
    const root = path.join(testScratchDir(), `sigkill-arrivals-${process.pid}-${Date.now()}`);
    await mkdir(path.join(root, 'in'), { recursive: true });
    const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: root });
    const jobId = await createJob({
      name: 'Lists in', trigger: { kind: 'file-arrival', destinationId, folder: 'in', pattern: '*.csv' },
      steps: [{ name: 'import', kind: 'list-import', campaignId, source: 'trigger-file' }],
    });
    await env.client.schedule.getHandle(`job/${jobId}`).pause('the test polls by itself');
    const rows = 20_000;
    for (const name of ['a', 'b', 'c']) {
      const lines = Array.from({ length: rows }, (_, i) => `${name}${i},Name ${i},+1555${String(i).padStart(7, '0')}`);
      await writeFile(path.join(root, 'in', `${name}.csv`), `client_id,name,phone\n${lines.join('\n')}\n`);
    }
    const t0 = Date.now();
    const poll = (minutes: number) => pollArrivals({ sql: env.sql, keyring: env.deps.keyring, client: env.client, taskQueue: env.taskQueue, now: new Date(t0 + minutes * 60_000) }, jobId);
    assert.deepEqual((await poll(0)).started, []);
    const runs = (await poll(1)).started;
    assert.equal(runs.length, 3);
    const rng = rngFor('job-arrivals');
    const allEnded = async () => (await env.sql`select 1 from runs where run_id = any(${runs}) and status not in ('running', 'scheduled')`).length === runs.length;
    for (let t = 0; t < TRIALS && !(await allEnded()); t++) {
      const worker = await env.spawnWorker({ LOG_LEVEL: 'error' });
      await sleep(rng.int(500, 5000));
      await kill(worker);
      // The poller asks again, as a restarted one would: the files still there start nothing new.
      assert.deepEqual((await poll(2 + t)).started, []);
    }
    const last = await env.spawnWorker();
    try {
      await until('the three runs to end', allEnded, 180_000);
    } finally {
      await kill(last);
    }
    const statuses = await env.sql<{ status: string }[]>`select status from runs where run_id = any(${runs})`;
    assert.deepEqual(statuses.map((s) => s.status), ['completed', 'completed', 'completed']);
    const [{ count }] = await env.sql<{ count: number }[]>`select count(*)::int as count from contacts where campaign_id = ${campaignId}`;
    assert.equal(count, rows * 3, 'each list imported once');
    assert.deepEqual((await readdir(path.join(root, 'in'))).filter((f) => f.endsWith('.csv')), []);
    assert.deepEqual((await readdir(path.join(root, 'in', 'processed'))).sort(), ['a.csv', 'b.csv', 'c.csv']);
    const imports = await env.sql`select 1 from runs where type = 'list-import' and run_id like ${`job/${jobId}/%`}`;
    assert.equal(imports.length, 3, 'one list-import child per file');
  });
});
