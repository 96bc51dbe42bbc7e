// The campaign lock across the list processes (issue 14): import, export, deletion and status change on one
// campaign run one at a time — while one holds the lock (held still in the middle of its work by a row or table
// lock the test takes), the others wait pending and change nothing, `wait: false` is refused with 409, and they
// all complete after it, never two at once; processes on two campaigns run side by side; a scheduled process is
// pending until its time and cancellable without ever taking the lock.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { startApi, type Api } from './erasure-fixtures.js';
import { distinctCampaignIds } from './faults/crash-helpers.js';
import { createTestEnv, type TestEnv, type RunningWorker } from './harness/env.js';
import { contactsOf, holdContact, lockOf, runOf, seedProcessCampaign, waitFor } from './contact-process-helpers.js';

let env: TestEnv;
let api: Api;
let worker: RunningWorker;

before(async () => {
  env = await createTestEnv({ env: { CAMPAIGN_LOCK_CHECK_SECONDS: '1' } });
  await distinctCampaignIds(env.sql);
  worker = await env.startWorker();
  api = await startApi(env);
});
after(async () => { await api?.close(); await worker?.stop(); await env?.stop(); });

type Kind = 'import' | 'export' | 'delete' | 'status-change';
const KINDS: Kind[] = ['import', 'export', 'delete', 'status-change'];

let uploads = 0;
async function upload(text: string): Promise<string> {
  const stored = await env.deps.store.put(Readable.from([Buffer.from(text)]), { prefix: 'uploads' });
  const id = `upl_cplock_${++uploads}_${Date.now()}`;
  await env.sql`insert into uploads (id, store_key, size_bytes, sha256) values (${id}, ${stored.key}, ${stored.sizeBytes}, ${stored.sha256})`;
  return id;
}

/** Starts a process of `kind` through the API; each one changes (or reads) P1..P6. */
async function start(kind: Kind, campaignId: string, wait = true): Promise<{ status: number; runId?: string; json: any }> {
  const paths: Record<Kind, [string, unknown]> = {
    import: ['imports', { source: { uploadId: await upload('client_id,name\nP1,Imported\nP6,Imported\n') }, mergeRule: 'inactivate', wait }],
    export: ['exports', { fields: ['client_id', 'name', 'phone'], wait }],
    delete: ['deletions', { filter: { statuses: ['Postponed'] }, wait }],
    'status-change': ['status-changes', { filter: { statuses: ['Closed', 'Callback'] }, set: { priority: 42 }, wait }],
  };
  const [path, body] = paths[kind];
  const res = await api.call('POST', `/campaigns/${campaignId}/${path}`, { body });
  return { status: res.status, runId: res.json?.runId, json: res.json };
}

/** Holds the process still in the middle of its work: a contact row it changes, or (export) the phones table its COPY reads. */
async function holdFor(kind: Kind, campaignId: string): Promise<{ release(): Promise<void> }> {
  if (kind === 'export') {
    const holder = await env.sql.reserve();
    await holder`begin`;
    await holder`lock table contact_phones in access exclusive mode`;
    return { async release() { await holder`rollback`; holder.release(); } };
  }
  return holdContact(env.sql, campaignId, kind === 'delete' ? 'P3' : kind === 'import' ? 'P1' : 'P6');
}

const WORK_STEP: Record<Kind, string> = { import: 'applying', export: 'exporting', delete: 'deleting', 'status-change': 'changing' };

/** The run is in its work step and some statement waits on a lock. */
const blocked = (runId: string, kind: Kind) => waitFor(`${runId} to be held in its ${WORK_STEP[kind]} step`, async () => {
  const run = await runOf(env.sql, runId);
  if (run?.step !== WORK_STEP[kind]) return false;
  const [waiting] = await env.sql`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
  return !!waiting;
});

/** The contacts without their phones (an export held still holds the phones table). */
const plainContacts = async (campaignId: string) =>
  [...await env.sql`select client_id, name, status, priority, list_id from contacts where campaign_id = ${campaignId} order by client_id`];

const ended = async (runId: string) => { await env.client.workflow.getHandle(runId).result().catch(() => undefined); return runOf(env.sql, runId); };

for (const first of KINDS) {
  test(`while a${first === 'import' || first === 'export' ? 'n' : ''} ${first} holds the campaign, the other processes wait, then run one at a time`, async () => {
    const { campaignId } = await seedProcessCampaign(env.sql, `lock-${first}`);
    const others = KINDS.filter((k) => k !== first);
    const held = await holdFor(first, campaignId);
    const queued: { kind: Kind; runId: string }[] = [];
    let holder: string;
    try {
      const started = await start(first, campaignId);
      assert.equal(started.status, 202, JSON.stringify(started.json));
      holder = started.runId!;
      await blocked(holder, first);
      assert.equal((await lockOf(env.sql, campaignId))?.held_by, holder);
      for (const kind of others) {
        const refused = await start(kind, campaignId, false);
        assert.equal(refused.status, 409, `${kind} with wait: false while ${first} holds the lock: ${JSON.stringify(refused.json)}`);
        assert.equal(refused.json.lock?.heldBy, holder);
      }
      const snapshot = await plainContacts(campaignId);
      for (const kind of others) {
        const res = await start(kind, campaignId);
        assert.equal(res.status, 202, JSON.stringify(res.json));
        queued.push({ kind, runId: res.runId! });
      }
      const expected = JSON.stringify(queued.map((q) => q.runId).sort());
      await waitFor('the others to be listed as pending', async () => {
        const processes = await api.call('GET', `/processes?campaignId=${campaignId}&status=pending`);
        return JSON.stringify(processes.json.items.map((p: any) => p.runId).sort()) === expected;
      });
      assert.equal((await lockOf(env.sql, campaignId))?.held_by, holder, 'the holder still holds the lock');
      assert.deepEqual(await plainContacts(campaignId), snapshot, 'the queued processes changed nothing while waiting');
    } finally {
      await held.release();
    }
    // Drain: never two of them holding or working at once.
    let overlap: string | null = null;
    const watching = (async () => {
      for (;;) {
        const working = await env.sql<{ run_id: string }[]>`
          select r.run_id from runs r join list_imports p using (run_id)
          where p.campaign_id = ${campaignId} and r.status = 'running' and r.step in ('applying', 'reading', 'exporting', 'deleting', 'changing', 'sending')`;
        if (working.length > 1) overlap = working.map((w) => w.run_id).join(' and ');
        const open = await env.sql`select 1 from runs r join list_imports p using (run_id) where p.campaign_id = ${campaignId} and r.status in ('running', 'scheduled')`;
        if (open.length === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const firstEnd = await ended(holder!);
    assert.equal(firstEnd.status, 'completed', JSON.stringify(firstEnd));
    for (const q of queued) assert.equal((await ended(q.runId)).status, 'completed', `${q.kind}: ${JSON.stringify(await runOf(env.sql, q.runId))}`);
    await watching;
    assert.equal(overlap, null, `two processes worked at once: ${overlap}`);
    const all = [holder!, ...queued.map((q) => q.runId)];
    const results = await env.sql<{ run_id: string; applied_at: Date }[]>`
      select run_id, applied_at from contact_process_results where run_id in ${env.sql(all)}
      union all select run_id, applied_at from list_import_results where run_id in ${env.sql(all)}`;
    assert.equal(results.length, 4, 'each process applied once');
    const holderAt = results.find((r) => r.run_id === holder)!.applied_at;
    for (const r of results) if (r.run_id !== holder) assert.ok(r.applied_at > holderAt, `${r.run_id} applied after the holder ${holder}`);
    const [{ priority }] = await env.sql`select priority from contacts where campaign_id = ${campaignId} and client_id = 'P5'`;
    assert.equal(priority, 42);
    const [{ n }] = await env.sql`select count(*)::int as n from contacts where campaign_id = ${campaignId} and status = 'Postponed'`;
    assert.equal(n, 0, 'the deletion ran');
    assert.equal(await lockOf(env.sql, campaignId), null, 'the lock is free at the end');
  });
}

test('two campaigns side by side: a status change completes while a deletion holds the other campaign', async () => {
  const a = await seedProcessCampaign(env.sql, 'side-a');
  const b = await seedProcessCampaign(env.sql, 'side-b');
  const held = await holdFor('delete', a.campaignId);
  let deletion: string;
  try {
    deletion = (await start('delete', a.campaignId)).runId!;
    await blocked(deletion, 'delete');
    const other = await start('status-change', b.campaignId, false);
    assert.equal(other.status, 202, JSON.stringify(other.json));
    assert.equal((await ended(other.runId!)).status, 'completed');
    assert.equal((await runOf(env.sql, deletion)).status, 'running', 'the other campaign\'s deletion is still held');
  } finally {
    await held.release();
  }
  assert.equal((await ended(deletion!)).status, 'completed');
});

test('a scheduled deletion is pending until its time, cancellable, and never takes the lock', async () => {
  const { campaignId } = await seedProcessCampaign(env.sql, 'sched');
  const before = await contactsOf(env.sql, campaignId);
  const at = new Date(Date.now() + 3_600_000).toISOString();
  const res = await api.call('POST', `/campaigns/${campaignId}/deletions`, { body: { filter: {}, scheduledAt: at } });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  await waitFor('the scheduled process to be listed', async () => {
    const list = await api.call('GET', `/processes?campaignId=${campaignId}`);
    return list.json.items[0]?.status === 'pending' && list.json.items[0].scheduledAt === at;
  });
  assert.equal(await lockOf(env.sql, campaignId), null);
  const edit = await start('status-change', campaignId, false);
  assert.equal(edit.status, 202, 'a scheduled process does not block others before its time');
  await ended(edit.runId!);
  const cancel = await api.call('POST', `/runs/${encodeURIComponent(res.json.runId)}/cancel`);
  assert.ok([200, 202, 204].includes(cancel.status), JSON.stringify(cancel.json));
  assert.equal((await ended(res.json.runId)).status, 'cancelled');
  const afterCancel = await contactsOf(env.sql, campaignId);
  assert.equal(afterCancel.length, before.length, 'nothing deleted');
});
