// The cluster-wide chores (issue 13): one Temporal Schedule per chore and installation, ensured by every worker
// at start (several at once make one each), whose passes run once per interval however many workers poll —
// checked on the ledger (chore_runs) against Temporal's own record of the schedules' actions — and do the
// chores' work (a stale campaign lock freed, an expired upload removed, a terminated run recorded).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { choreIntervals, ensureChoreSchedules } from '../worker/chores.js';
import { CHORE_WORKFLOW, CHORES, choreScheduleId, type ChoreName } from '../contracts/chores.js';
import { createTestEnv, type RunningWorker, type TestEnv } from './harness/env.js';
import { until } from './harness/wait.js';

let env: TestEnv;
const workers: RunningWorker[] = [];
const FAST: Record<ChoreName, number> = { 'reconcile-runs': 2, 'schedule-sync': 2, 'campaign-lock-reaper': 2, 'upload-retention': 2 };

before(async () => {
  env = await createTestEnv({ env: { UPLOAD_RETENTION_DAYS: '1' } });
});

after(async () => {
  for (const chore of CHORES) await env?.client.schedule.getHandle(choreScheduleId(chore, env.taskQueue)).delete().catch(() => {});
  for (const w of workers) await w.stop();
  await env?.stop();
});

const describe = (chore: ChoreName) => env.client.schedule.getHandle(choreScheduleId(chore, env.taskQueue)).describe();

test('workers starting together ensure one schedule per chore, with the intervals of the settings; a pause made in Temporal is kept', async () => {
  const intervals = choreIntervals({ RECONCILE_INTERVAL_SECONDS: 60, CAMPAIGN_LOCK_REAP_SECONDS: 30 });
  const ids = await Promise.all([1, 2, 3].map(() => ensureChoreSchedules(env.client, env.taskQueue, intervals)));
  assert.deepEqual(ids[0], CHORES.map((c) => choreScheduleId(c, env.taskQueue)));
  for (const chore of CHORES) {
    const d = await describe(chore);
    assert.equal(d.action.type === 'startWorkflow' && d.action.workflowType, CHORE_WORKFLOW);
    assert.equal(d.action.type === 'startWorkflow' && d.action.taskQueue, env.taskQueue);
    assert.deepEqual(d.spec.intervals?.map((i) => i.every), [intervals[chore] * 1000], chore);
    assert.equal(d.policies.overlap, ScheduleOverlapPolicy.SKIP);
    assert.equal(d.state.paused, false);
  }
  const ours = [];
  for await (const s of env.client.schedule.list()) if (s.scheduleId.endsWith(`@${env.taskQueue}`)) ours.push(s.scheduleId);
  assert.ok(ours.length <= CHORES.length, `no extra schedules: ${ours.join(', ')}`);

  // An engineer pauses one in Temporal UI; a restart changes the interval (new setting) but keeps the pause.
  await env.client.schedule.getHandle(choreScheduleId('upload-retention', env.taskQueue)).pause('investigating uploads');
  await ensureChoreSchedules(env.client, env.taskQueue, { ...intervals, 'reconcile-runs': 90 });
  assert.deepEqual((await describe('reconcile-runs')).spec.intervals?.map((i) => i.every), [90_000]);
  const paused = await describe('upload-retention');
  assert.equal(paused.state.paused, true);
  assert.equal(paused.state.note, 'investigating uploads');
});

test('with two workers polling, every chore runs once per interval and does its work', async () => {
  // Work for the chores: a campaign lock whose holder run is closed, an upload two days old, a run
  // recorded as running whose workflow was terminated in Temporal.
  const [campaign] = await env.sql<{ id: string }[]>`insert into campaigns (name, timezone) values (${`chores ${randomBytes(3).toString('hex')}`}, 'UTC') returning id`;
  const holder = await env.client.workflow.start('notHostedHere', { taskQueue: `${env.taskQueue}-nobody`, workflowId: `chores-holder-${Date.now()}`, args: [] });
  await holder.terminate('gone');
  await env.sql`insert into campaign_locks (campaign_id, held_by, type) values (${campaign.id}, ${holder.workflowId}, 'import')`;
  const uploadKey = (await env.deps.store.put(Readable.from([Buffer.from('a,b\n')]), { prefix: 'uploads' })).key;
  await env.sql`insert into uploads (id, store_key, size_bytes, sha256, uploaded_by, created_at)
    values ('old-upload', ${uploadKey}, 4, 'x', 'test', now() - interval '2 days')`;
  const runId = `chores-terminated-${Date.now()}`;
  const run = await env.client.workflow.start('notHostedHere', { taskQueue: `${env.taskQueue}-nobody`, workflowId: runId, args: [] });
  await env.sql`insert into runs (run_id, type, name, status, started_at) values (${runId}, 'report', 'Stuck report', 'running', now() - interval '1 minute')`;
  await run.terminate('engineer stopped it');

  workers.push(await env.startWorker(), await env.startWorker());
  await env.client.schedule.getHandle(choreScheduleId('upload-retention', env.taskQueue)).unpause();
  const started = new Date();
  await ensureChoreSchedules(env.client, env.taskQueue, FAST);

  await until('the chores did their work', async () => {
    const [lock] = await env.sql`select 1 from campaign_locks where campaign_id = ${campaign.id}`;
    const [upload] = await env.sql`select 1 from uploads where id = 'old-upload'`;
    const [row] = await env.sql<{ status: string }[]>`select status from runs where run_id = ${runId}`;
    return !lock && !upload && row.status === 'terminated';
  }, 60_000);
  // A few more intervals, then every schedule is paused so that its record and the ledger can be compared.
  await until('three passes of every chore', async () => {
    const rows = await env.sql<{ n: number }[]>`select count(*)::int as n from chore_runs where outcome = 'completed' and started_at >= ${started} group by chore`;
    return rows.length === CHORES.length && rows.every((r) => r.n >= 3);
  }, 60_000);
  for (const chore of CHORES) await env.client.schedule.getHandle(choreScheduleId(chore, env.taskQueue)).pause('test: compare');
  await until('the passes in flight to end', async () => {
    const [open] = await env.sql`select 1 from chore_runs where ended_at is null`;
    return !open;
  });

  const ledger = await env.sql<{ chore: string; workflow_id: string; scheduled_at: Date | null; worker: string; outcome: string }[]>`
    select chore, workflow_id, scheduled_at, worker, outcome from chore_runs order by chore, scheduled_at`;
  for (const chore of CHORES) {
    const rows = ledger.filter((r) => r.chore === chore);
    const times = rows.map((r) => r.scheduled_at!.getTime());
    assert.ok(times.every((t) => Number.isFinite(t)), 'each pass knows the action time it ran for');
    assert.equal(new Set(times).size, times.length, `${chore}: one pass per scheduled time`);
    // Temporal's own record: every action the schedule took started exactly one workflow, and each ran once.
    const recent = (await describe(chore)).info.recentActions.map((a) => a.action.workflow.workflowId);
    for (const id of recent) assert.equal(rows.filter((r) => r.workflow_id === id).length, 1, `${id} ran once`);
    // Visibility (eventually consistent) lists every pass of the ledger, and no more executions than passes (one
    // may have started just before the pause without its pass having begun yet).
    const executions = await until(`${chore}: visibility lists every pass`, async () => {
      const ids: string[] = [];
      for await (const e of env.client.workflow.list({ query: `WorkflowType = '${CHORE_WORKFLOW}' AND TaskQueue = '${env.taskQueue}'` })) {
        if (e.workflowId.startsWith(`${choreScheduleId(chore, env.taskQueue)}-`)) ids.push(e.workflowId);
      }
      return rows.every((r) => ids.includes(r.workflow_id)) && ids;
    });
    assert.ok(executions.length <= rows.length + 1, `${chore}: ${executions.length} executions, ${rows.length} ledger rows`);
    // Spaced by the interval: never two passes for one interval.
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= FAST[chore as ChoreName] * 1000, `${chore}: passes ${times[i - 1]} and ${times[i]}`);
  }
  assert.ok(ledger.every((r) => r.outcome === 'completed'), JSON.stringify(ledger.filter((r) => r.outcome !== 'completed')));
});
