// The campaign lock's queue and the edges of an import's lifetime, through the API and a real worker: a
// waiter whose lock workflow was terminated still gets the lock; `wait: false` is refused (409), never
// accepted and then failed, while another import waits for the lock; a retried request with the same
// Idempotency-Key gets its run back; a cancel that lands between the apply's statements prevents the commit;
// a cancel after the commit reports the completed import with its statistics log. Where timing matters the
// run is held still by a real row lock (a test transaction on one contact) or by a gate in front of one
// activity, so "waiting", "before the grant" and "between statements" are facts, not races.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Context } from '@temporalio/activity';
import { createCampaignLockActivities } from '../activities/campaign-lock.js';
import { createListImportActivities } from '../activities/list-import.js';
import { createApp } from '../api/app.js';
import { connect } from '../db/sql.js';
import { campaignLockWorkflowId, lockStateQuery, type LockRequest } from '../contracts/campaign-lock.js';
import type { ListImportInput } from '../contracts/list-import.js';
import { createTestEnv, type RunningWorker, type TestEnv } from './harness/env.js';
import { holdContact, lockWatch, seededCampaign as seededCampaignIn, waitFor } from './list-import-helpers.js';

const ADMIN_KEY = `admin-${randomBytes(12).toString('hex')}`;
let env: TestEnv;
const { lockRow, lockHeldBy, lockFreed } = lockWatch(() => env.sql);
let server: Server;
let base: string;
let worker: RunningWorker;

/** A gate in front of one activity: `reached` once a run arrived at it, which waits (up to 30 s, so a failed
 *  test never hangs) until the test opens it. */
interface Gate { open: boolean; reached: string[] }
const gates = new Map<string, Gate>();
const gate = (key: string): Gate => { const g = { open: false, reached: [] }; gates.set(key, g); return g; };
async function pass(key: string, runId: string): Promise<void> {
  const g = gates.get(key);
  if (!g) return;
  g.reached.push(runId);
  for (const deadline = Date.now() + 30_000; !g.open && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 50));
}
const campaignOfRun = (runId: string) => runId.split('/')[1];
/** Aborts seen by the apply step, by run; the lock workflow's grant answers, in order. */
const applyAborted = new Set<string>();
const grantAnswers: { runId: string; status: string; at: Date }[] = [];
let onePool: ReturnType<typeof connect>;

async function startGatedWorker() {
  const real = createListImportActivities(env.deps);
  const lock = createCampaignLockActivities(env.deps);
  // The apply runs on a pool of one connection: the query that would cancel its statement (pg_cancel_backend)
  // then waits until the transaction has ended, exactly as when a cancel lands while no statement runs.
  onePool ??= connect(env.db.url, { max: 1 });
  const applyOnOneConnection = createListImportActivities({ ...env.deps, sql: onePool }).applyImport;
  return env.startWorker({
    activityOverrides: {
      async grantLock(campaignId: string, request: LockRequest, options?: { yieldToEarlierNoWait?: boolean }) {
        await pass(`grant/${campaignId}`, request.runId);
        const answer = await lock.grantLock(campaignId, request, options);
        grantAnswers.push({ runId: request.runId, status: answer.status, at: new Date() });
        return answer;
      },
      async requestCampaignLock(campaignId: string, request: LockRequest) {
        if (!request.wait) await pass(`no-wait request/${campaignId}`, request.runId);
        return lock.requestCampaignLock(campaignId, request);
      },
      async markImportStep(runId: string, step: string) {
        await pass(`${step}/${campaignOfRun(runId)}`, runId);
        return real.markImportStep(runId, step);
      },
      async applyImport(runId: string, input: ListImportInput) {
        Context.current().cancellationSignal.addEventListener('abort', () => applyAborted.add(runId));
        return gates.has(`one-connection/${input.campaignId}`) ? applyOnOneConnection(runId, input) : real.applyImport(runId, input);
      },
    },
  });
}

before(async () => {
  env = await createTestEnv({ env: { ADMIN_API_KEY: ADMIN_KEY, CAMPAIGN_LOCK_CHECK_SECONDS: '1' } });
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  worker = await startGatedWorker();
});

after(async () => {
  for (const g of gates.values()) g.open = true;
  await new Promise((resolve) => server.close(resolve));
  await worker.stop();
  await onePool?.end();
  await env.stop();
});

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
  const res = await fetch(base + url, {
    signal, method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
  });
  const text = await res.text();
  return { status: res.status, json: text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined };
}

const seededCampaign = () => seededCampaignIn(env.sql, 'queue');

const FILE = 'client_id,name,phone\nK1,Kay One,+15550000001\nK2,Kay Two,+15550000002\nK3,Kay Three,+15550000003\nN1,New One,+15550000101\n';

async function uploaded(text = FILE): Promise<{ uploadId: string }> {
  const stored = await env.deps.store.put(Readable.from([Buffer.from(text)]), { prefix: 'uploads' });
  const uploadId = `upl_queue_${stored.key.replace(/\W/g, '').slice(-16)}`;
  await env.sql`insert into uploads (id, store_key, size_bytes, sha256) values (${uploadId}, ${stored.key}, ${stored.sizeBytes}, ${stored.sha256})`;
  return { uploadId };
}

async function startImport(campaignId: string, rules: Record<string, unknown>, headers?: Record<string, string>, signal?: AbortSignal) {
  return call('POST', `/campaigns/${campaignId}/imports`, { source: await uploaded(), ...rules }, headers, signal);
}
async function started(campaignId: string, rules: Record<string, unknown>): Promise<string> {
  const res = await startImport(campaignId, rules);
  assert.equal(res.status, 202, JSON.stringify(res.json));
  return res.json.runId;
}

const runRow = async (runId: string) => (await env.sql<{ status: string; step: string; ended_at: Date | null; error: string | null; result: any }[]>`
  select status, step, ended_at, error, result from runs where run_id = ${runId}`)[0];
const finished = (runId: string, timeoutMs?: number) => waitFor(`run ${runId} to end`, async () => {
  const run = await runRow(runId);
  return run?.ended_at && run;
}, timeoutMs);
const statuses = async (campaignId: string) => Object.fromEntries((await env.sql<{ client_id: string; status: string }[]>`
  select client_id, status from contacts where campaign_id = ${campaignId} order by client_id`).map((c) => [c.client_id, c.status]));
const results = async (runId: string) => (await env.sql`select count(*)::int as n from list_import_results where run_id = ${runId}`)[0].n as number;


/** The apply transaction of `runId` is waiting on a row lock. */
const applyBlocked = (runId: string) => waitFor(`the apply of ${runId} to wait on the held contact`, async () => {
  if ((await runRow(runId))?.step !== 'applying') return false;
  const [waiting] = await env.sql`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
  return !!waiting;
});

describe('a queued import', () => {
  test('whose lock workflow was terminated while it waited gets the lock after the holder and completes; nothing runs twice', async () => {
    const campaignId = await seededCampaign();
    const held = await holdContact(env.sql, campaignId, 'K1');
    let a: string, b: string;
    try {
      a = await started(campaignId, { mergeRule: 'inactivate' });
      await lockHeldBy(campaignId, a);
      await applyBlocked(a);
      b = await started(campaignId, { mergeRule: 'activate-contact', importRule: 'nothing' });
      const lockWorkflow = env.client.workflow.getHandle(campaignLockWorkflowId(campaignId));
      await waitFor('the second import to be queued', async () => (await lockWorkflow.query(lockStateQuery)).queue.some((q) => q.runId === b));
      await lockWorkflow.terminate('test: lock workflow terminated from Temporal UI');
    } finally {
      await held.release();
    }
    assert.equal((await finished(a)).status, 'completed');
    // A later import on the campaign (as in the report of the defect) does not help or hurt the forgotten one.
    const c = await started(campaignId, { mergeRule: 'nothing', importRule: 'nothing' });
    assert.equal((await finished(c)).status, 'completed');
    const second = await finished(b, 30_000);
    assert.equal(second.status, 'completed', second.error ?? undefined);
    assert.deepEqual([await results(a), await results(b), await results(c)], [1, 1, 1], 'each import applied exactly once');
    const grantedB = grantAnswers.filter((g) => g.runId === b && g.status === 'granted').map((g) => g.at);
    assert.equal(grantedB.length, 1, 'the queued import was granted the lock once');
    assert.ok((await finished(a)).ended_at! <= grantedB[0], 'and only after the holder had ended: never two holders');
    assert.deepEqual(await statuses(campaignId), { K1: 'Remaining', K2: 'Remaining', K3: 'Remaining', K4: 'Remaining', K5: 'Remaining', N1: 'Remaining' },
      'inactivated by the first, activated again by the queued one');
    await lockFreed(campaignId);
  });
});

describe('wait: false', () => {
  test('is 409 while another import has asked for the lock and not been granted it yet, and the other one runs', async () => {
    const campaignId = await seededCampaign();
    const beforeGrant = gate(`grant/${campaignId}`);
    const first = await started(campaignId, { mergeRule: 'inactivate' });
    await waitFor('the first import to reach the grant', async () => beforeGrant.reached.includes(first));
    assert.equal(await lockRow(campaignId), null, 'nobody holds the lock yet');
    const refused = await startImport(campaignId, { wait: false });
    assert.equal(refused.status, 409, JSON.stringify(refused.json));
    assert.equal(refused.json.waiting.runId, first);
    assert.match(refused.json.detail, /retry later or send wait: true/);
    beforeGrant.open = true;
    assert.equal((await finished(first)).status, 'completed');
    assert.deepEqual((await call('GET', `/processes?campaignId=${campaignId}`)).json.items.map((p: any) => p.runId), [first], 'the refused request started nothing');
    await lockFreed(campaignId);
  });

  test('is 409 right after another import was accepted, before that run has even asked for the lock', async () => {
    const campaignId = await seededCampaign();
    const beforeAsking = gate(`waiting for campaign lock/${campaignId}`);
    const first = await started(campaignId, {});
    await waitFor('the first import to be held before it asks', async () => beforeAsking.reached.includes(first));
    const refused = await startImport(campaignId, { wait: false });
    assert.equal(refused.status, 409, JSON.stringify(refused.json));
    assert.equal(refused.json.waiting.runId, first);
    beforeAsking.open = true;
    assert.equal((await finished(first)).status, 'completed');
    await lockFreed(campaignId);
    const next = await started(campaignId, { wait: false });
    assert.equal((await finished(next)).status, 'completed', 'once the campaign is free, wait: false runs');
  });

  test('two no-wait requests at the same moment on a free campaign: one is accepted and completes, the other is 409', async () => {
    const campaignId = await seededCampaign();
    const answers = await Promise.all([startImport(campaignId, { wait: false }), startImport(campaignId, { wait: false })]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [202, 409], JSON.stringify(answers.map((a) => a.json)));
    const accepted = answers.find((a) => a.status === 202)!.json.runId;
    assert.equal((await finished(accepted)).status, 'completed');
    await lockFreed(campaignId);
  });

  test('an accepted no-wait import goes first even when a waiting import accepted after it asks the lock workflow first', async () => {
    const campaignId = await seededCampaign();
    const held = gate(`no-wait request/${campaignId}`);
    const noWait = await startImport(campaignId, { wait: false, mergeRule: 'inactivate' });
    assert.equal(noWait.status, 202, JSON.stringify(noWait.json));
    await waitFor('the no-wait import to be held before asking', async () => held.reached.includes(noWait.json.runId));
    const waiting = await started(campaignId, { mergeRule: 'activate-contact', importRule: 'nothing' });
    // The waiting import asks first; the lock workflow does not grant it the lock the no-wait one was promised.
    await waitFor('the lock workflow to try the waiting import first', async () => grantAnswers.some((a) => a.runId === waiting));
    held.open = true;
    const first = await finished(noWait.json.runId);
    assert.equal(first.status, 'completed', first.error ?? undefined);
    const second = await finished(waiting);
    assert.equal(second.status, 'completed', second.error ?? undefined);
    assert.ok(first.ended_at! <= second.ended_at!);
    assert.deepEqual(await statuses(campaignId), { K1: 'Remaining', K2: 'Remaining', K3: 'Remaining', K4: 'Remaining', K5: 'Remaining', N1: 'Remaining' });
  });

  test('is answered at once while another import is applying (its new contacts key-share-lock the campaign row)', async () => {
    const campaignId = await seededCampaign();
    const connection = await env.sql.reserve();
    let runId: string;
    try {
      await connection`begin`;
      const applying = gate(`applying/${campaignId}`);
      runId = await started(campaignId, {});
      await waitFor('the run to be about to apply', async () => applying.reached.includes(runId));
      await connection`select 1 from list_imports where run_id = ${runId} for update`;
      applying.open = true;
      // Its apply inserts the new contacts, then waits on the run's list_imports row held here.
      await waitFor('the apply to wait after its inserts', async () => (await env.sql`
        select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ~ 'list_import_results|update list_imports'`).length > 0);
      const refused = await startImport(campaignId, { wait: false }, {}, AbortSignal.timeout(10_000));
      assert.equal(refused.status, 409);
      assert.equal(refused.json.lock.heldBy, runId);
    } finally {
      await connection`rollback`;
      connection.release();
    }
    assert.equal((await finished(runId)).status, 'completed');
  });

  test('a retry with the same Idempotency-Key gets its own run back (202), not 409 for its own lock', async () => {
    const campaignId = await seededCampaign();
    const reading = gate(`reading/${campaignId}`);
    const key = { 'idempotency-key': `import-${randomBytes(4).toString('hex')}` };
    // A retry repeats the request as it was (same upload): a key names one request.
    const body = { source: await uploaded(), wait: false };
    const first = await call('POST', `/campaigns/${campaignId}/imports`, body, key);
    assert.equal(first.status, 202, JSON.stringify(first.json));
    await lockHeldBy(campaignId, first.json.runId);
    const retry = await call('POST', `/campaigns/${campaignId}/imports`, body, key);
    assert.equal(retry.status, 202, JSON.stringify(retry.json));
    assert.equal(retry.json.runId, first.json.runId);
    const other = await startImport(campaignId, { wait: false });
    assert.equal(other.status, 409, 'a different request is still refused');
    reading.open = true;
    assert.equal((await finished(first.json.runId)).status, 'completed');
  });
});

describe('cancelling the apply', () => {
  test('a cancel that lands between the apply\'s statements prevents the commit: reported cancelled, nothing applied', async () => {
    const campaignId = await seededCampaign();
    const before = await statuses(campaignId);
    gate(`one-connection/${campaignId}`);
    const held = await holdContact(env.sql, campaignId, 'K2');
    let runId: string;
    try {
      runId = await started(campaignId, { mergeRule: 'inactivate', updateRule: 'delete' });
      await applyBlocked(runId);
      assert.equal((await call('POST', `/runs/${encodeURIComponent(runId)}/cancel`)).status, 202);
      await waitFor('the apply to see the cancel', async () => applyAborted.has(runId));
    } finally {
      await held.release();   // the statement it waited on finishes; the next ones run
    }
    const run = await finished(runId);
    assert.equal(run.status, 'cancelled', `status ${run.status}: ${JSON.stringify(run.result)}`);
    assert.equal(await results(runId), 0);
    assert.deepEqual(await statuses(campaignId), before, 'nothing applied');
    await lockFreed(campaignId);
  });

  test('a cancel after the commit reports the import completed, with its counts and statistics log', async () => {
    const campaignId = await seededCampaign();
    const logStep = gate(`writing the statistics log/${campaignId}`);
    const runId = await started(campaignId, { mergeRule: 'inactivate' });
    await waitFor('the apply to have committed', async () => logStep.reached.includes(runId));
    assert.equal((await call('POST', `/runs/${encodeURIComponent(runId)}/cancel`)).status, 202);
    const run = await finished(runId);
    logStep.open = true;
    assert.equal(run.status, 'completed');
    assert.deepEqual([run.result.imported, run.result.updated, run.result.rejected], [1, 3, 0]);
    assert.ok(run.result.logKey, 'the statistics log was written');
    assert.equal(await results(runId), 1);
    assert.equal((await statuses(campaignId)).K1, 'Inactive');
    await lockFreed(campaignId);
  });
});
