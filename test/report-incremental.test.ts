// Incremental reports, one test per rule of seed 003 "Incremental Reports", against a real Temporal worker
// and PostgreSQL. Run times are passed explicitly (as a schedule would fix them) except where the test is
// about "now". Each test has its own campaign, so its watermark starts fresh.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { COMPLETION_STATUSES } from '../lib/domain/completion-statuses.js';
import { createReportActivities } from '../activities/report.js';
import type { ContentStore } from '../lib/content-store/types.js';
import { createTestEnv, type TestEnv, type RunningWorker } from './harness/env.js';
import {
  at, clients, createReportDefinition, insertAttempts, minutes, newCampaign, runReport, savedCsv, startReport,
} from './report-helpers.js';

let env: TestEnv;
let worker: RunningWorker;
/** What the generateReport override does on its next call (crash simulations). */
let nextGenerate: 'normal' | 'fail-after-commit' | 'fail-mid-stream' | 'fail-after-write' = 'normal';

before(async () => {
  env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC', ACCOUNT_NAME: 'Acme' } });
  const real = createReportActivities(env.deps);
  // A store whose put dies half-way through the stream, like a worker crashing mid-report.
  const dyingStore: ContentStore = {
    ...env.deps.store,
    async put(body) {
      for await (const chunk of body) { void chunk; break; }
      body.destroy();
      throw new Error('simulated crash while writing the report');
    },
  };
  const dying = createReportActivities({ ...env.deps, store: dyingStore });
  // A store whose put completes, then the worker "dies" before the transaction saving the report commits.
  const dyingAfterWrite = createReportActivities({
    ...env.deps,
    store: { ...env.deps.store, async put(body, options) { await env.deps.store.put(body, options); throw new Error('simulated crash after the CSV was stored'); } },
  });
  worker = await env.startWorker({
    activityOverrides: {
      async generateReport(input: Parameters<typeof real.generateReport>[0]) {
        const mode = nextGenerate;
        nextGenerate = 'normal';
        if (mode === 'fail-mid-stream') return dying.generateReport(input);
        if (mode === 'fail-after-write') return dyingAfterWrite.generateReport(input);
        const result = await real.generateReport(input);
        if (mode === 'fail-after-commit') throw new Error('simulated crash after the report was saved');
        return result;
      },
    },
  });
});

after(async () => {
  await worker?.stop();
  await env?.stop();
});

/** Every file under the content store's reports/ folder (objects and temp files), as store keys. */
async function storedReportObjects(): Promise<string[]> {
  const root = path.join(env.config.dataDir, 'content');
  const entries = await readdir(path.join(root, 'reports'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

async function setup(type: 'all-attempts' | 'best-contact' | 'summary' = 'all-attempts') {
  const campaign = await newCampaign(env.sql);
  const definitionId = await createReportDefinition(env.sql, { campaignId: campaign.id, type });
  return { campaign, definitionId };
}

const T10 = at('2025-05-05T10:00:00Z');

describe('incremental reports follow the seed rules', () => {
  test('the first run of a report type covers the 15 hours before it', async () => {
    const { campaign, definitionId } = await setup();
    await insertAttempts(env.sql, campaign.id, [
      { clientId: 'old', completedAt: minutes(T10, -16 * 60), collectedAt: minutes(T10, -16 * 60) },
      { clientId: 'in-14h', completedAt: minutes(T10, -14 * 60), collectedAt: minutes(T10, -14 * 60) },
      { clientId: 'in-1m', completedAt: minutes(T10, -1), collectedAt: minutes(T10, -1) },
      { clientId: 'later', completedAt: minutes(T10, 1), collectedAt: minutes(T10, 1) },
    ]);
    const result = await runReport(env, { definitionId, runTime: T10.toISOString() });
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, result.savedReportId)), ['in-14h', 'in-1m']);
    assert.deepEqual(result.range, { start: minutes(T10, -15 * 60).toISOString(), end: T10.toISOString(), incremental: true });
  });

  test('a manual run between two scheduled runs takes the data since the scheduled one, and the next scheduled run the data since the manual one', async () => {
    const { campaign, definitionId } = await setup();
    const attempt = (clientId: string, minute: number) => ({ clientId, completedAt: minutes(T10, minute), collectedAt: minutes(T10, minute) });
    await insertAttempts(env.sql, campaign.id, [attempt('09:50', -10), attempt('10:10', 10), attempt('10:40', 40), attempt('10:55', 55)]);
    const scheduled10 = await runReport(env, { definitionId, runTime: T10.toISOString() });
    const manual1030 = await runReport(env, { definitionId, runTime: minutes(T10, 30).toISOString(), triggeredBy: 'alice' });
    const scheduled11 = await runReport(env, { definitionId, runTime: minutes(T10, 60).toISOString() });
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, scheduled10.savedReportId)), ['09:50']);
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, manual1030.savedReportId)), ['10:10']);
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, scheduled11.savedReportId)), ['10:40', '10:55']);
    assert.equal(manual1030.range.start, T10.toISOString());
    assert.equal(scheduled11.range.start, minutes(T10, 30).toISOString());
  });

  test('a non-incremental run in between does not move the watermark', async () => {
    const { campaign, definitionId } = await setup();
    const last7 = await createReportDefinition(env.sql, { campaignId: campaign.id, timeframe: { kind: 'last-7-days' } });
    await insertAttempts(env.sql, campaign.id, [{ clientId: 'a', completedAt: minutes(T10, 20), collectedAt: minutes(T10, 20) }]);
    await runReport(env, { definitionId, runTime: T10.toISOString() });
    const weekly = await runReport(env, { definitionId: last7, runTime: minutes(T10, 30).toISOString() });
    assert.equal(weekly.range.incremental, false);
    const next = await runReport(env, { definitionId, runTime: minutes(T10, 60).toISOString() });
    assert.deepEqual(next.range, { start: T10.toISOString(), end: minutes(T10, 60).toISOString(), incremental: true });
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, next.savedReportId)), ['a']);
  });

  test('an attempt that starts before a run and completes after it is in the next run', async () => {
    const { campaign, definitionId } = await setup();
    const T11 = minutes(T10, 60);
    await insertAttempts(env.sql, campaign.id, [
      { clientId: 'in-flight', startedAt: minutes(T11, -10), completedAt: minutes(T11, 1), collectedAt: minutes(T11, 1) },
    ]);
    await runReport(env, { definitionId, runTime: T10.toISOString() });
    const at11 = await runReport(env, { definitionId, runTime: T11.toISOString() });
    const at12 = await runReport(env, { definitionId, runTime: minutes(T11, 60).toISOString() });
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, at11.savedReportId)), []);
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, at12.savedReportId)), ['in-flight']);
  });

  test('an attempt recorded late, its completion already behind the last run, is in the next run', async () => {
    const { campaign, definitionId } = await setup();
    const hourAgo = new Date(Date.now() - 3600_000);
    const first = await runReport(env, { definitionId, runTime: hourAgo.toISOString() });
    assert.equal(first.rows, 0);
    // Completed two hours ago, recorded by the platform only now (collected_at defaults to the insert time).
    await insertAttempts(env.sql, campaign.id, [{ clientId: 'late', completedAt: new Date(Date.now() - 7200_000) }]);
    const second = await runReport(env, { definitionId }); // a manual run: its time is its start time
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, second.savedReportId)), ['late']);
    assert.equal(second.range.start, hourAgo.toISOString());
  });

  test('an attempt collected before the run but committed after the run started is in this run, not lost', async () => {
    const { campaign, definitionId } = await setup();
    await runReport(env, { definitionId, runTime: new Date(Date.now() - 60_000).toISOString() });
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => { commit = resolve; });
    let inserted!: () => void;
    const insertedNow = new Promise<void>((resolve) => { inserted = resolve; });
    const slowWriter = env.sql.begin(async (tx) => {
      await tx`insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status)
               values (${campaign.id}, 'slow-commit', '+15550009999', now() - interval '1 minute', now(), 'BUSY')`;
      inserted();
      await committed;
    });
    await insertedNow;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const handle = await startReport(env, { definitionId });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    commit();
    await slowWriter;
    const result = await handle.result();
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, result.savedReportId)), ['slow-commit']);
  });

  test('incremental runs of the same report started at the same moment serialize: no overlap, no gap', async () => {
    const { campaign, definitionId } = await setup();
    await insertAttempts(env.sql, campaign.id, Array.from({ length: 12 }, (_, i) => ({
      clientId: `c${String(i).padStart(2, '0')}`, completedAt: minutes(T10, -i), collectedAt: minutes(T10, -i),
    })));
    const runTimes = [T10, minutes(T10, 1), minutes(T10, -1), T10];
    const handles = await Promise.all(runTimes.map((t) => startReport(env, { definitionId, runTime: t.toISOString() })));
    const results = await Promise.all(handles.map((h) => h.result()));
    const reported = (await Promise.all(results.map((r) => savedCsv(env.sql, env.deps.store, r.savedReportId)))).flatMap(clients).sort();
    assert.deepEqual(reported, Array.from({ length: 12 }, (_, i) => `c${String(i).padStart(2, '0')}`), 'every attempt exactly once');
    const windows = await env.sql<{ window_start: Date; window_end: Date }[]>`
      select window_start, window_end from report_windows w join runs r on r.run_id = w.run_id
      where r.definition_id = ${definitionId} order by w.window_start, w.window_end`;
    assert.equal(windows.length, 4);
    for (let i = 1; i < windows.length; i++) assert.equal(windows[i].window_start.getTime(), windows[i - 1].window_end.getTime(), 'each window starts where the previous ended');
    assert.equal(windows.at(-1)!.window_end.toISOString(), minutes(T10, 1).toISOString());
  });

  test('a run retried after a crash once its report was saved reuses the same window and file, with its exact counts', async () => {
    const { campaign, definitionId } = await setup();
    await insertAttempts(env.sql, campaign.id, [
      { clientId: 'x', completedAt: minutes(T10, -5), collectedAt: minutes(T10, -5) },
      { clientId: 'x', completedAt: minutes(T10, -4), collectedAt: minutes(T10, -4) },
      { clientId: 'z', completedAt: minutes(T10, -3), collectedAt: minutes(T10, -3) },
    ]);
    nextGenerate = 'fail-after-commit';
    const result = await runReport(env, { definitionId, runTime: T10.toISOString() });
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, result.savedReportId)), ['x', 'x', 'z']);
    assert.deepEqual({ rows: result.rows, attempts: result.attempts, contacts: result.contacts }, { rows: 3, attempts: 3, contacts: 2 });
    const [{ n }] = await env.sql<{ n: number }[]>`select count(*)::int as n from saved_reports s join runs r on r.run_id = s.run_id where r.definition_id = ${definitionId}`;
    assert.equal(n, 1);
    const next = await runReport(env, { definitionId, runTime: minutes(T10, 60).toISOString() });
    assert.equal(next.range.start, T10.toISOString());
  });

  test('a run that crashes while writing its report leaves the watermark alone, and its retry covers the same window', async () => {
    const { campaign, definitionId } = await setup();
    await runReport(env, { definitionId, runTime: minutes(T10, -60).toISOString() });
    await insertAttempts(env.sql, campaign.id, [{ clientId: 'y', completedAt: minutes(T10, -5), collectedAt: minutes(T10, -5) }]);
    nextGenerate = 'fail-mid-stream';
    const result = await runReport(env, { definitionId, runTime: T10.toISOString() });
    assert.deepEqual(result.range, { start: minutes(T10, -60).toISOString(), end: T10.toISOString(), incremental: true });
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, result.savedReportId)), ['y']);
  });

  test('a run that dies after storing its CSV but before saving the report leaves no orphaned object: the retry rewrites the same one', async () => {
    const { campaign, definitionId } = await setup();
    await insertAttempts(env.sql, campaign.id, [{ clientId: 'w', completedAt: minutes(T10, -5), collectedAt: minutes(T10, -5) }]);
    const before = await storedReportObjects();
    nextGenerate = 'fail-after-write';
    const result = await runReport(env, { definitionId, runTime: T10.toISOString() });
    assert.deepEqual(clients(await savedCsv(env.sql, env.deps.store, result.savedReportId)), ['w']);
    assert.deepEqual({ rows: result.rows, attempts: result.attempts, contacts: result.contacts }, { rows: 1, attempts: 1, contacts: 1 });
    const [saved] = await env.sql<{ store_key: string }[]>`select store_key from saved_reports where id = ${result.savedReportId}`;
    const added = (await storedReportObjects()).filter((f) => !before.includes(f));
    assert.deepEqual(added, [saved.store_key], 'the one object in the store is the saved report: no orphan, no temp file');
  });

  test('report types keep separate watermarks for the same campaign', async () => {
    const { campaign, definitionId } = await setup('all-attempts');
    const best = await createReportDefinition(env.sql, { campaignId: campaign.id, type: 'best-contact' });
    await runReport(env, { definitionId, runTime: T10.toISOString() });
    const bestRun = await runReport(env, { definitionId: best, runTime: minutes(T10, 30).toISOString() });
    assert.equal(bestRun.range.start, minutes(T10, 30 - 15 * 60).toISOString(), 'first Best Contact run: 15 hours back');
  });
});

describe('Best Contact ranks statuses by the seed table; ties go to the most recent attempt', () => {
  const rank = (status: string) => COMPLETION_STATUSES.find((s) => s.status === status)!.rank;
  // Each case: the attempts of one contact in time order, and the status of the best one.
  const cases: { name: string; statuses: string[]; best: number }[] = [
    { name: 'a live person beats no answer', statuses: ['NOANSWER', 'DELIVEREDPERSON', 'NOANSWER'], best: 1 },
    { name: 'a message on a machine beats busy', statuses: ['DELIVEREDMACHINE', 'BUSY'], best: 0 },
    { name: 'an undelivered machine loses to a delivered one', statuses: ['DELIVEREDMACHINE', 'UNDELIVEREDMACHINE'], best: 0 },
    { name: 'busy and no answer tie (rank 4): the later wins', statuses: ['BUSY', 'NOANSWER'], best: 1 },
    { name: 'no answer and busy tie: the later wins', statuses: ['NOANSWER', 'BUSY'], best: 1 },
    { name: 'the same status twice: the later wins', statuses: ['DELIVEREDPERSON', 'DELIVEREDPERSON'], best: 1 },
    { name: 'a bad number beats bad data', statuses: ['BADDATA', 'CALL_BAD_NUMBER', 'BADDATA'], best: 1 },
    { name: 'do-not-contact loses to anything dialed', statuses: ['BUSY', 'DNC'], best: 0 },
    { name: 'a single attempt is its own best', statuses: ['BLOCKED'], best: 0 },
  ];

  test('table-driven over All Attempts, Best Contact and Summary', async () => {
    const campaign = await newCampaign(env.sql);
    const base = at('2025-04-01T12:00:00Z');
    const ids = new Map<string, string[]>();
    for (const [i, c] of cases.entries()) {
      const attempts = c.statuses.map((status, k) => ({ clientId: `case${i}`, status, completedAt: minutes(base, i * 10 + k) }));
      ids.set(`case${i}`, await insertAttempts(env.sql, campaign.id, attempts));
      // The expected best is consistent with the table: highest rank, latest among equals.
      const top = Math.max(...c.statuses.map(rank));
      assert.equal(c.best, c.statuses.map(rank).lastIndexOf(top), `case "${c.name}" agrees with the status table`);
    }
    const timeframe = { kind: 'explicit' as const, start: '2025-04-01T00:00:00Z', end: '2025-04-02T00:00:00Z' };
    const def = (type: 'all-attempts' | 'best-contact' | 'summary') => createReportDefinition(env.sql, { campaignId: campaign.id, type, timeframe });
    const [all, best, summary] = await Promise.all([def('all-attempts'), def('best-contact'), def('summary')]);
    const [allRun, bestRun, summaryRun] = await Promise.all([all, best, summary].map((definitionId) => runReport(env, { definitionId })));

    const bestRows = await savedCsv(env.sql, env.deps.store, bestRun.savedReportId);
    const allRows = await savedCsv(env.sql, env.deps.store, allRun.savedReportId);
    for (const [i, c] of cases.entries()) {
      const expectedId = ids.get(`case${i}`)![c.best];
      const row = bestRows.find((r) => r.ClientId === `case${i}`);
      assert.equal(row?.AttemptId, expectedId, c.name);
      assert.equal(row?.Status, c.statuses[c.best], c.name);
      assert.equal(row?.AttemptsInRange, String(c.statuses.length), c.name);
      const flagged = allRows.filter((r) => r.ClientId === `case${i}` && r.BestContact === '1').map((r) => r.AttemptId);
      assert.deepEqual(flagged, [expectedId], `${c.name}: exactly the best attempt has BestContact = 1`);
    }
    assert.equal(allRows.length, cases.reduce((n, c) => n + c.statuses.length, 0));

    const summaryRows = await savedCsv(env.sql, env.deps.store, summaryRun.savedReportId);
    const total = summaryRows.at(-1)!;
    assert.deepEqual(total, { Status: 'TOTAL', StatusRank: '', Attempts: String(allRows.length), Contacts: String(cases.length) });
    const busy = summaryRows.find((r) => r.Status === 'BUSY')!;
    assert.equal(busy.Attempts, String(allRows.filter((r) => r.Status === 'BUSY').length));
    assert.equal(busy.Contacts, String(bestRows.filter((r) => r.Status === 'BUSY').length));
    const ranks = summaryRows.slice(0, -1).map((r) => Number(r.StatusRank));
    assert.deepEqual(ranks, [...ranks].sort((a, b) => b - a), 'summary rows by rank, best first');
  });
});
