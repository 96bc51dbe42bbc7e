// Jobs made of steps (issue 16): definitions and their graph validation, and runs against real servers —
// report → copy to SFTP → e-mail end to end, a failure followed along onFailure with a notification, a
// definition changed during a run, and a run cancelled while its report step runs.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startSmtp, startSshd, type SmtpSink, type SshdServer } from './harness/servers/index.js';
import { until } from './harness/wait.js';
import { closedRun, createJob, holdWatermark, reportWithRows, runJob, stepsOf } from './jobs-helpers.js';

let env: TestEnv;
let api: Api;
let sshd: SshdServer;
let smtp: SmtpSink;
let sftpDestination: string;

before(async () => {
  [sshd, smtp] = await Promise.all([startSshd(), startSmtp()]);
  env = await createTestEnv({ env: { SMTP_URL: `smtp://${smtp.host}:${smtp.port}`, REPORT_TIMEZONE: 'UTC' } });
  await env.startWorker();
  api = await startApi(env);
  const res = await api.call('POST', '/destinations', { body: {
    name: 'client-sftp', protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, path: path.join(sshd.rootDir, 'jobs'),
  } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  sftpDestination = res.json.id;
});

after(async () => {
  await api?.close();
  await env?.stop();
  await Promise.all([sshd?.stop(), smtp?.stop()]);
});

const email = (name: string, extra: Record<string, unknown> = {}) => ({ name, kind: 'email', to: ['ops@example.com'], ...extra });

describe('job definitions', () => {
  it('refuses a step graph with an unknown step, a cycle or an unreachable step, naming the step; nothing is saved', async () => {
    const { reportId } = await reportWithRows(env, { rows: 0 });
    const report = { name: 'r', kind: 'report', reportId };
    const cases: [string, unknown[], RegExp][] = [
      ['unknown', [report, email('m', { onSuccess: 'nowhere' })], /step "m" links to unknown step "nowhere"/],
      ['cycle', [{ ...report, onSuccess: 'm' }, email('m', { onSuccess: 'r' })], /step "[rm]" is part of a cycle/],
      ['unreachable', [{ ...report, onSuccess: 'end' }, email('orphan')], /step "orphan" is unreachable/],
      ['duplicate', [report, { ...report }], /step name "r" is used twice/],
      ['missing report', [{ name: 'r', kind: 'report', reportId: '999999' }], /report 999999 does not exist/],
      ['copy first', [{ name: 'c', kind: 'copy', destinationId: sftpDestination, path: 'x/' }], /step "c" passes on the previous step's file/],
    ];
    for (const [what, steps, message] of cases) {
      const res = await api.call('POST', '/jobs', { body: { name: `bad ${what}`, trigger: { kind: 'manual' }, steps } });
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.json)}`);
      assert.match((res.json.errors as { message: string }[]).map((e) => e.message).join('\n'), message, what);
    }
    const badKind = await api.call('POST', '/jobs', { body: { name: 'bad kind', trigger: { kind: 'manual' }, steps: [{ name: 'x', kind: 'fax' }] } });
    assert.equal(badKind.status, 400);
    const badParams = await api.call('POST', '/jobs', { body: { name: 'bad params', trigger: { kind: 'manual' }, steps: [{ name: 'x', kind: 'email', to: ['not-an-address'] }] } });
    assert.equal(badParams.status, 400);
    const [{ count }] = await env.sql<{ count: number }[]>`select count(*)::int as count from job_definitions where kind = 'job' and name like 'bad %'`;
    assert.equal(count, 0);
  });

  it('lists by name filter, hides disabled jobs unless asked, changes and deletes', async () => {
    const a = await createJob(api, { name: 'Filter alpha', trigger: { kind: 'manual' }, steps: [email('m')] });
    const b = await createJob(api, { name: 'Filter beta', enabled: false, trigger: { kind: 'manual' }, steps: [email('m')] });
    const names = async (query: string) => (await api.call('GET', `/jobs?${query}`)).json.items.map((j: { name: string }) => j.name);
    assert.deepEqual(await names('q=filter'), ['Filter alpha']);
    assert.deepEqual(await names('q=FILTER&showDisabled=true'), ['Filter alpha', 'Filter beta']);
    const changed = await api.call('PATCH', `/jobs/${b}`, { body: { enabled: true, steps: [email('first'), email('second')] } });
    assert.equal(changed.status, 200, JSON.stringify(changed.json));
    assert.deepEqual(changed.json.steps.map((s: { name: string }) => s.name), ['first', 'second']);
    const refused = await api.call('PATCH', `/jobs/${b}`, { body: { steps: [email('first', { onSuccess: 'end' }), email('second')] } });
    assert.equal(refused.status, 400);
    assert.deepEqual((await api.call('GET', `/jobs/${b}`)).json.steps.map((s: { name: string }) => s.name), ['first', 'second'], 'a refused change changes nothing');
    assert.equal((await api.call('POST', '/jobs', { body: { name: 'Filter alpha', trigger: { kind: 'manual' }, steps: [email('m')] } })).status, 409);
    assert.equal((await api.call('DELETE', `/jobs/${a}`)).status, 204);
    assert.equal((await api.call('GET', `/jobs/${a}`)).status, 404);
  });
});

describe('job runs', () => {
  it('report → copy to SFTP → e-mail: the report file reaches the SFTP server and the mail, with per-step history', async () => {
    const { reportId } = await reportWithRows(env);
    const jobId = await createJob(api, {
      name: 'Report to client', trigger: { kind: 'manual' },
      steps: [
        { name: 'daily report', kind: 'report', reportId },
        { name: 'to client sftp', kind: 'copy', destinationId: sftpDestination, path: 'outbound/' },
        email('mail it', { to: ['client@example.com'], attach: 'previous', subject: 'Your daily report' }),
      ],
    });
    const before = smtp.messages.length;
    const runId = await runJob(api, jobId);
    assert.match(runId, new RegExp(`^job/${jobId}/`));
    const run = await closedRun(env, runId);
    assert.equal(run.status, 'completed', run.error ?? '');
    assert.equal(run.type, 'job');
    const steps = await stepsOf(env, runId);
    assert.deepEqual(steps.map((s) => [s.name, s.status]), [['daily report', 'completed'], ['to client sftp', 'completed'], ['mail it', 'completed']]);
    assert.match(steps[0].child_id!, new RegExp(`^${runId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/step-0-daily_report$`));
    const [child] = await env.sql<{ type: string; status: string }[]>`select type, status from runs where run_id = ${steps[0].child_id}`;
    assert.deepEqual(child, { type: 'report', status: 'completed' }, 'the report ran as its own workflow, a child of the job');

    const copied = await readFile(path.join(sshd.rootDir, 'jobs', steps[1].output.path), 'utf8');
    assert.match(copied, /c1/);
    assert.equal(copied.trim().split('\n').length, 4, 'header and three rows');
    const [mail] = (await smtp.waitForMessages(before + 1)).slice(before);
    assert.deepEqual(mail.to, ['client@example.com']);
    const raw = mail.raw.toString('latin1');
    assert.match(raw, /Subject: Your daily report/);
    assert.match(raw, /Content-Disposition: attachment/);
    assert.ok(raw.replace(/\r\n /g, ' ').includes(`filename="${steps[1].output.path.split('/').pop()}"`), 'the copied file is attached under its name');

    const history = await api.call('GET', `/jobs/${jobId}/history`);
    assert.equal(history.status, 200);
    assert.equal(history.json.items[0].runId, runId);
    assert.deepEqual(history.json.items[0].steps.map((s: { status: string }) => s.status), ['completed', 'completed', 'completed']);
    const view = await api.call('GET', `/runs/${encodeURIComponent(runId)}`);
    assert.equal(view.status, 200);
    assert.equal(view.json.type, 'job');
  });

  it('a failing step follows its onFailure link, no other step runs, the run fails and the recipients are notified', async () => {
    const { reportId } = await reportWithRows(env, { rows: 0, skipIfEmpty: true });
    const jobId = await createJob(api, {
      name: 'Empty report to client', trigger: { kind: 'manual' }, notify: { onFailure: ['oncall@example.com'] },
      steps: [
        { name: 'daily report', kind: 'report', reportId },
        { name: 'to client sftp', kind: 'copy', destinationId: sftpDestination, path: 'outbound/', onFailure: 'tell ops' },
        email('mail it', { attach: 'previous', onSuccess: 'end' }),
        email('tell ops', { to: ['ops@example.com'], subject: 'Copy failed', onSuccess: 'fail' }),
      ],
    });
    const before = smtp.messages.length;
    const runId = await runJob(api, jobId);
    const run = await closedRun(env, runId);
    assert.equal(run.status, 'failed');
    assert.match(run.error!, /to client sftp/);
    const steps = await stepsOf(env, runId);
    assert.deepEqual(steps.map((s) => [s.name, s.status]), [['daily report', 'completed'], ['to client sftp', 'failed'], ['tell ops', 'completed']]);
    assert.match(steps[1].error!, /needs the previous step's file/);
    const mails = (await smtp.waitForMessages(before + 2)).slice(before);
    const notice = mails.find((m) => m.to.includes('oncall@example.com'));
    assert.ok(notice, 'the failure notification was sent');
    const text = notice.raw.toString('utf8').replace(/=\r\n/g, '');
    assert.match(text, /Empty report to client/);
    assert.match(text, /to client sftp/);
    assert.match(text, /needs the previous step/);
    assert.ok(text.includes(`/runs/${encodeURIComponent(runId)}`), 'a link to the run');
    assert.ok(mails.some((m) => m.to.includes('ops@example.com')), 'the onFailure step ran');
  });

  it('a results-export step runs the results export job as its child workflow', async () => {
    const { campaign } = await reportWithRows(env);
    const created = await api.call('POST', '/results-export-jobs', { body: {
      name: 'Results for a job', campaignId: campaign.id, format: 'detailed', dispositions: 'all',
      schedule: { startAt: new Date().toISOString(), every: '1d' }, destinationId: sftpDestination, path: 'results/job.csv',
    } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const missing = await api.call('POST', '/jobs', { body: { name: 'Results missing', trigger: { kind: 'manual' }, steps: [{ name: 'x', kind: 'results-export', jobId: '999999' }] } });
    assert.equal(missing.status, 400);
    const jobId = await createJob(api, { name: 'Results in a job', trigger: { kind: 'manual' }, steps: [{ name: 'results', kind: 'results-export', jobId: created.json.id }] });
    const runId = await runJob(api, jobId);
    const run = await closedRun(env, runId);
    assert.equal(run.status, 'completed', run.error ?? '');
    const [step] = await stepsOf(env, runId);
    const [child] = await env.sql<{ type: string; status: string }[]>`select type, status from runs where run_id = ${step.child_id}`;
    assert.deepEqual(child, { type: 'results-export', status: 'completed' });
  });

  it('a definition changed while a run is in flight does not change that run', async () => {
    const { campaign, reportId } = await reportWithRows(env);
    const jobId = await createJob(api, {
      name: 'Changed mid-run', trigger: { kind: 'manual' },
      steps: [{ name: 'report', kind: 'report', reportId }, email('mail', { to: ['before@example.com'] })],
    });
    const lock = await holdWatermark(env, campaign.id);
    try {
      const runId = await runJob(api, jobId);
      await until('the report step waiting for the watermark', lock.waited);
      const patched = await api.call('PATCH', `/jobs/${jobId}`, { body: { steps: [{ name: 'report', kind: 'report', reportId }, email('mail', { to: ['after@example.com'] }), email('extra')] } });
      assert.equal(patched.status, 200);
      const before = smtp.messages.length;
      await lock.release();
      const run = await closedRun(env, runId);
      assert.equal(run.status, 'completed', run.error ?? '');
      assert.deepEqual((await stepsOf(env, runId)).map((s) => s.name), ['report', 'mail']);
      const [mail] = (await smtp.waitForMessages(before + 1)).slice(before);
      assert.deepEqual(mail.to, ['before@example.com']);
    } finally {
      await lock.release();
    }
  });

  it('cancelling a run mid-step cancels the running child and runs no further step', async () => {
    const { campaign, reportId } = await reportWithRows(env);
    const jobId = await createJob(api, {
      name: 'Cancelled mid-step', trigger: { kind: 'manual' },
      steps: [{ name: 'report', kind: 'report', reportId, onFailure: 'after' }, email('after', { onSuccess: 'end' })],
    });
    const lock = await holdWatermark(env, campaign.id);
    try {
      const runId = await runJob(api, jobId);
      await until('the report step waiting for the watermark', lock.waited);
      const tasks = await api.call('GET', '/tasks?type=job');
      const task = tasks.json.items.find((t: { runId?: string }) => t.runId === runId);
      assert.equal(task?.step, 'report', 'the task view shows the step running');
      assert.equal((await api.call('POST', `/runs/${encodeURIComponent(runId)}/cancel`, {})).status, 202);
      await until('the child to stop waiting for the lock', async () => !(await lock.waited()), 40_000);
      await lock.release();
      const run = await closedRun(env, runId);
      assert.equal(run.status, 'cancelled');
      const steps = await stepsOf(env, runId);
      assert.deepEqual(steps.map((s) => [s.name, s.status]), [['report', 'cancelled']]);
      const child = await closedRun(env, steps[0].child_id!);
      assert.equal(child.status, 'cancelled');
    } finally {
      await lock.release();
    }
  });
});
