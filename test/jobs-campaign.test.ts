// Campaign state and campaign triggers (issue 16, seed 000): setting a campaign completed starts each enabled
// campaign-end job on it exactly once, however often (or concurrently) it is set; the automatic start and stop
// schedules change the state at their times and show in the task views as campaign-trigger with step start|stop.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { scheduleTaskQueue } from '../lib/temporal/schedules.js';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startSmtp, type SmtpSink } from './harness/servers/index.js';
import { until } from './harness/wait.js';
import { closedRun, createJob } from './jobs-helpers.js';
import { newCampaign } from './report-helpers.js';

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

const hello = (to: string) => [{ name: 'tell client', kind: 'email', to: [to], subject: 'Campaign ended' }];
const setState = (campaignId: string, state: string) => api.call('POST', `/campaigns/${campaignId}/state`, { body: { state } });

it('setting a campaign completed twice (and twice at once) starts each enabled campaign-end job once', async () => {
  const campaign = await newCampaign(env.sql);
  const other = await newCampaign(env.sql);
  const jobId = await createJob(api, { name: 'End of campaign mail', trigger: { kind: 'campaign-end', campaignId: campaign.id }, steps: hello('client@example.com') });
  await createJob(api, { name: 'Disabled end mail', enabled: false, trigger: { kind: 'campaign-end', campaignId: campaign.id }, steps: hello('nobody@example.com') });
  await createJob(api, { name: 'Other campaign end mail', trigger: { kind: 'campaign-end', campaignId: other.id }, steps: hello('other@example.com') });

  assert.deepEqual((await setState(campaign.id, 'stopped')).json.startedRuns, []);
  const replies = await Promise.all([setState(campaign.id, 'completed'), setState(campaign.id, 'completed')]);
  for (const reply of replies) assert.equal(reply.status, 200, JSON.stringify(reply.json));
  const started = replies.flatMap((reply) => reply.json.startedRuns);
  assert.deepEqual(started, [`job/${jobId}/campaign-end-${campaign.id}`], 'one run, of the enabled job on this campaign');
  const run = await closedRun(env, started[0]);
  assert.equal(run.status, 'completed', run.error ?? '');
  assert.deepEqual((await setState(campaign.id, 'completed')).json.startedRuns, [], 'completed again after the run ended: nothing new');
  await smtp.waitForMessages(1);
  assert.deepEqual(smtp.messages.map((m) => m.to), [['client@example.com']]);
  const [{ count }] = await env.sql<{ count: number }[]>`select count(*)::int as count from runs where definition_id = ${jobId}`;
  assert.equal(count, 1);
  assert.equal((await api.call('GET', `/campaigns/${campaign.id}`)).json.state, 'completed');

  assert.equal((await setState(campaign.id, 'finished')).status, 400);
  assert.equal((await setState('999999', 'stopped')).status, 404);
});

it('automatic stop and start schedules change the state at their times and show as campaign-trigger tasks', async () => {
  const campaign = await newCampaign(env.sql);
  const patched = await api.call('PATCH', `/campaigns/${campaign.id}`, { body: { autoStop: { cron: '* * * * *' }, autoStart: { cron: '0 13 * * 1-5' } } });
  assert.equal(patched.status, 200, JSON.stringify(patched.json));
  assert.ok(patched.json.autoStop.nextRunAt && patched.json.autoStart.nextRunAt);
  const tasks = (await api.call('GET', '/tasks?type=campaign-trigger')).json.items
    .filter((t: { scheduleId?: string }) => [patched.json.autoStart.scheduleId, patched.json.autoStop.scheduleId].includes(t.scheduleId));
  assert.deepEqual(tasks.map((t: { step: string }) => t.step).sort(), ['start', 'stop']);

  // The stop schedule fires at the next minute.
  await until('the automatic stop', async () => (await api.call('GET', `/campaigns/${campaign.id}`)).json.state === 'stopped', 75_000, 1_000);
  const [stopRun] = await env.sql<{ run_id: string; type: string; step: string }[]>`
    select run_id, type, step from runs where campaign_id = ${campaign.id} and type = 'campaign-trigger'`;
  assert.deepEqual([stopRun.type, stopRun.step], ['campaign-trigger', 'stop']);

  const startDefinition = tasks.find((t: { step: string }) => t.step === 'start').definitionId;
  const now = await api.call('POST', `/tasks/${startDefinition}/run`, {});
  assert.equal(now.status, 202, JSON.stringify(now.json));
  await until('the automatic start', async () => (await api.call('GET', `/campaigns/${campaign.id}`)).json.state === 'running');

  const removed = await api.call('PATCH', `/campaigns/${campaign.id}`, { body: { autoStop: null, autoStart: null } });
  assert.deepEqual([removed.json.autoStart, removed.json.autoStop], [null, null]);
  assert.equal(await scheduleTaskQueue(env.client, patched.json.autoStop.scheduleId), null);
  assert.equal(await scheduleTaskQueue(env.client, patched.json.autoStart.scheduleId), null);
});
