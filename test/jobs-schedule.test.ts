// Schedule-triggered jobs (issue 16): a crontab or a preset becomes the job's Temporal Schedule (`job/<id>`),
// shown with its next run and in the task views, paused while the job is disabled, removed with the trigger
// or the job, made again by the schedule sync; a scheduled run runs the job's steps.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { syncJobSchedules } from '../lib/runs/schedule-sync.js';
import { scheduleTaskQueue } from '../lib/temporal/schedules.js';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startSmtp, type SmtpSink } from './harness/servers/index.js';
import { closedRun, createJob, stepsOf } from './jobs-helpers.js';

let env: TestEnv;
let api: Api;
let smtp: SmtpSink;

before(async () => {
  smtp = await startSmtp();
  env = await createTestEnv({ env: { SMTP_URL: `smtp://${smtp.host}:${smtp.port}` } });
  await env.startWorker();
  api = await startApi(env);
});

after(async () => {
  await api?.close();
  await env?.stop();
  await smtp?.stop();
});

const steps = [{ name: 'hello', kind: 'email', to: ['ops@example.com'], subject: 'scheduled hello' }];

it('a preset schedule is a Temporal Schedule with its next run, runs the steps when triggered, pauses when disabled and goes with the trigger', async () => {
  const jobId = await createJob(api, { name: 'Hourly hello', trigger: { kind: 'schedule', preset: 'hourly' }, steps });
  const view = (await api.call('GET', `/jobs/${jobId}`)).json;
  assert.equal(view.scheduleId, `job/${jobId}`);
  const next = new Date(view.nextRunAt);
  assert.equal(next.getUTCMinutes(), 0, 'hourly: on the hour');
  assert.ok(next.getTime() > Date.now() && next.getTime() <= Date.now() + 3_600_000);

  const tasks = (await api.call('GET', '/tasks?type=job')).json.items;
  assert.ok(tasks.some((t: { state: string; definitionId?: string }) => t.state === 'scheduled' && t.definitionId === jobId), 'shown as a scheduled task');

  const before = smtp.messages.length;
  const now = await api.call('POST', `/tasks/${jobId}/run`, {});
  assert.equal(now.status, 202, JSON.stringify(now.json));
  assert.match(now.json.runId, new RegExp(`^job/${jobId}/scheduled`));
  const run = await closedRun(env, now.json.runId);
  assert.equal(run.status, 'completed', run.error ?? '');
  assert.deepEqual((await stepsOf(env, now.json.runId)).map((s) => s.status), ['completed']);
  await smtp.waitForMessages(before + 1);

  const disabled = await api.call('PATCH', `/jobs/${jobId}`, { body: { enabled: false } });
  assert.equal(disabled.json.nextRunAt, null, 'a disabled job\'s schedule is paused');
  const described = await env.client.schedule.getHandle(`job/${jobId}`).describe();
  assert.equal(described.state.paused, true);

  const manual = await api.call('PATCH', `/jobs/${jobId}`, { body: { enabled: true, trigger: { kind: 'manual' } } });
  assert.equal(manual.json.scheduleId, null);
  assert.equal(await scheduleTaskQueue(env.client, `job/${jobId}`), null, 'the schedule went with the trigger');
});

it('a crontab schedule in the seed convention; the sync makes a lost schedule again; deleting the job deletes it', async () => {
  const jobId = await createJob(api, { name: 'Sunday hello', trigger: { kind: 'schedule', cron: '30 6 * * 7' }, steps });
  const view = (await api.call('GET', `/jobs/${jobId}`)).json;
  const next = new Date(view.nextRunAt);
  assert.deepEqual([next.getUTCDay(), next.getUTCHours(), next.getUTCMinutes()], [0, 6, 30], 'day 7 is Sunday, GMT');
  const bad = await api.call('POST', '/jobs', { body: { name: 'Bad cron', trigger: { kind: 'schedule', cron: '61 * * * *' }, steps } });
  assert.equal(bad.status, 400);

  await env.client.schedule.getHandle(`job/${jobId}`).delete();
  const report = await syncJobSchedules({ sql: env.sql, client: env.client }, { taskQueue: env.taskQueue, settleMs: 0 });
  assert.ok(report.recreated.includes(`job/${jobId}`), JSON.stringify(report));
  assert.equal(await scheduleTaskQueue(env.client, `job/${jobId}`), env.taskQueue);

  assert.equal((await api.call('DELETE', `/jobs/${jobId}`)).status, 204);
  assert.equal(await scheduleTaskQueue(env.client, `job/${jobId}`), null);
});
