// Job 3 end to end through the API, Temporal and PostgreSQL: imports from an upload and from an SFTP folder
// ($rdatetime$, the statistics log uploaded next to the file), the Contact List Processes view, and the
// campaign lock — waiting, wait:false, contact edits refused, campaigns independent, always released
// (success, failure, cancel, terminate, SIGKILL of the worker, which also must not import twice).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { createListImportActivities } from '../activities/list-import.js';
import { createApp } from '../api/app.js';
import type { ListImportInput } from '../contracts/list-import.js';
import { createTestEnv, type RunningWorker, type TestEnv } from './harness/env.js';
import { until } from './harness/wait.js';
import { startSshd, type SshdServer } from './harness/servers/index.js';

const ADMIN_KEY = `admin-${randomBytes(12).toString('hex')}`;
let env: TestEnv;
let sshd: SshdServer;
let server: Server;
let base: string;
let worker: RunningWorker;
// Imports of these campaigns hold still in the reading step until the test opens the gate.
const gates = new Map<string, { open: boolean }>();
// Imports of these campaigns hold still after taking the lock, before recording the reading step.
const lockedGates = new Map<string, { open: boolean }>();
const campaignOfRun = (runId: string) => runId.split('/')[1];

async function startGatedWorker() {
  const real = createListImportActivities(env.deps);
  return env.startWorker({
    activityOverrides: {
      async markImportStep(runId: string, step: string) {
        // At most 30 s (the activity's start-to-close timeout is a minute), so a failed test never hangs here.
        const gate = lockedGates.get(campaignOfRun(runId));
        for (const until = Date.now() + 30_000; step === 'reading' && gate && !gate.open && Date.now() < until;) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return real.markImportStep(runId, step);
      },
      async stageImport(runId: string, input: ListImportInput) {
        const gate = gates.get(input.campaignId);
        while (gate && !gate.open) {
          Context.current().heartbeat();
          if (Context.current().cancellationSignal.aborted) throw new CancelledFailure('cancelled at the gate');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return real.stageImport(runId, input);
      },
    },
  });
}

before(async () => {
  [env, sshd] = await Promise.all([createTestEnv({ env: { ADMIN_API_KEY: ADMIN_KEY, CAMPAIGN_LOCK_CHECK_SECONDS: '1' } }), startSshd()]);
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  worker = await startGatedWorker();
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await env.stop();
  await sshd.stop();
});

async function call(method: string, url: string, body?: unknown, raw?: Buffer) {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (raw) headers['content-type'] = 'text/csv';
  const res = await fetch(base + url, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await res.text();
  return { status: res.status, json: text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined, text };
}

/** Polls every 150 ms, for up to a minute unless told otherwise. */
const waitFor = <T>(what: string, check: () => Promise<T | undefined | false | null>, timeoutMs = 60_000) => until(what, check, timeoutMs, 150);

const newCampaign = async () => (await call('POST', '/campaigns', { name: `import-${randomBytes(4).toString('hex')}`, timezone: 'UTC' })).json.id as string;
const upload = async (text: string | Buffer) => (await call('POST', '/uploads', undefined, Buffer.from(text))).json.uploadId as string;
const startImport = (campaignId: string, body: Record<string, unknown>) => call('POST', `/campaigns/${campaignId}/imports`, body);
const runOf = async (runId: string) => (await call('GET', `/runs/${encodeURIComponent(runId)}`)).json;
const finished = (runId: string, timeoutMs?: number) => waitFor(`run ${runId} to end`, async () => {
  const run = await runOf(runId);
  return ['completed', 'failed', 'cancelled', 'terminated'].includes(run.status) && run;
}, timeoutMs);
const lockOf = async (campaignId: string) => (await call('GET', `/campaigns/${campaignId}`)).json.lock;
const lockHeldBy = (campaignId: string, runId: string) => waitFor(`lock of ${campaignId} held by ${runId}`, async () => (await lockOf(campaignId))?.heldBy === runId);
const lockFreed = (campaignId: string) => waitFor(`lock of ${campaignId} freed`, async () => (await lockOf(campaignId)) === null);
/** What a run is waiting for, to say why it did not finish in time. */
const pendingActivities = async (runId: string) => ((await env.client.workflow.getHandle(runId).describe()).raw.pendingActivities ?? []).map((a) => ({
  type: a.activityType?.name, state: a.state, attempt: a.attempt, lastFailure: a.lastFailure?.message,
  lastHeartbeat: a.lastHeartbeatTime?.seconds?.toString(), lastStarted: a.lastStartedTime?.seconds?.toString(),
  scheduled: a.scheduledTime?.seconds?.toString(), now: Math.floor(Date.now() / 1000),
}));
const contactsOf = async (campaignId: string) => env.sql`
  select c.client_id, c.name, c.status, (select json_agg(p.* order by p.position) from contact_phones p where p.contact_id = c.id) as phones
  from contacts c where c.campaign_id = ${campaignId} order by c.client_id`;

const LIST = 'client_id,name,phone,email,segment\nA1,Ann,+15550000001,ann@example.com,gold\nA2,Bob,+15550000002,,silver\nA3,Cy,not a phone,,\n';

async function seeded(): Promise<string> {
  const campaignId = await newCampaign();
  const { json } = await startImport(campaignId, { source: { uploadId: await upload(LIST) } });
  assert.equal((await finished(json.runId)).status, 'completed');
  return campaignId;
}

describe('importing', () => {
  test('an uploaded list is imported; the run, the processes view and the statistics log show the counts and rejected rows', async () => {
    const campaignId = await newCampaign();
    const res = await startImport(campaignId, { source: { uploadId: await upload(LIST) }, separator: ',', hasHeader: true, importRule: 'append' });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.match(res.json.runId, new RegExp(`^list-import/${campaignId}/\\d{4}-`));
    const run = await finished(res.json.runId);
    assert.equal(run.status, 'completed', run.error);
    assert.equal(run.type, 'list-import');
    assert.equal(run.progress.percent, 100);
    assert.deepEqual({ ...run.result, rejectedRows: undefined, logKey: undefined, startedAt: undefined, finishedAt: undefined, file: undefined },
      { rowsRead: 3, imported: 2, updated: 0, deleted: 0, replaced: 0, rejected: 1, encoding: 'utf-8', logLocation: null,
        rejectedRows: undefined, logKey: undefined, startedAt: undefined, finishedAt: undefined, file: undefined });
    assert.deepEqual(run.result.rejectedRows, [{ line: 4, reason: 'phone "not a phone" is not a phone number (digits, optionally +, spaces, dots, dashes, parentheses; 3-30 characters)' }]);
    const contacts = (await call('GET', `/campaigns/${campaignId}/contacts`)).json.items;
    assert.deepEqual(contacts.map((c: any) => [c.clientId, c.status, c.customFields, c.phones.map((p: any) => p.state)]),
      [['A1', 'Remaining', { segment: 'gold' }, ['Active']], ['A2', 'Remaining', { segment: 'silver' }, ['Active']]]);
    const processes = (await call('GET', `/processes?campaignId=${campaignId}`)).json.items;
    assert.equal(processes.length, 1);
    assert.deepEqual({ ...processes[0], processId: undefined, scheduledAt: undefined, startedAt: undefined, endedAt: undefined }, {
      processId: undefined, runId: res.json.runId, scheduledAt: undefined, type: 'import', campaignId, campaign: processes[0].campaign,
      user: 'key:ADMIN_API_KEY', status: 'finished', step: 'finished', progress: 100, startedAt: undefined, endedAt: undefined,
      file: processes[0].file, fileUrl: `/processes/${encodeURIComponent(res.json.runId)}/file`,
      details: { rowsRead: 3, imported: 2, updated: 0, deleted: 0, replaced: 0, rejected: 1 }, error: null,
    });
    assert.match(processes[0].file, /^upload:upl_/);
    const file = await call('GET', processes[0].fileUrl);
    assert.equal(file.status, 200);
    assert.equal(file.text, LIST, 'the source upload is downloadable as it was uploaded');
    const log = await call('GET', `/processes/${encodeURIComponent(res.json.runId)}/log`);
    assert.equal(log.status, 200);
    assert.match(log.text, /Imported: {3}2\n/);
    assert.match(log.text, /4: phone "not a phone" is not a phone number/);
    assert.equal(await lockOf(campaignId), null);
  });

  test('a list on SFTP: $rdatetime$ picks the newest file and the statistics log is uploaded next to it', async () => {
    const campaignId = await seeded();
    const destinationName = `sftp-${randomBytes(3).toString('hex')}`;
    const destination = await call('POST', '/destinations', {
      name: destinationName, protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username,
      privateKey: sshd.privateKey, path: sshd.rootDir,
    });
    assert.equal(destination.status, 201, JSON.stringify(destination.json));
    await writeFile(path.join(sshd.rootDir, 'calls_20250101080000.txt'), 'A1;Old;+15550000009\n');
    await writeFile(path.join(sshd.rootDir, 'calls_20250301080000.txt'), 'A1;Ann Updated;+15550000001\nA9;Zed;+15550000099\n');
    const res = await startImport(campaignId, {
      source: { destinationId: destination.json.id, path: 'calls_$rdatetime$.txt' }, separator: ';', hasHeader: false,
      importRule: 'append', mergeRule: 'append', updateRule: 'inactivate',
    });
    const run = await finished(res.json.runId);
    assert.equal(run.status, 'completed', run.error);
    assert.equal(run.result.file, 'calls_20250301080000.txt');
    assert.deepEqual([run.result.imported, run.result.updated], [1, 2]);   // A9 new; A1 merged, A2 inactivated
    const contacts = await contactsOf(campaignId);
    assert.deepEqual(contacts.map((c) => [c.client_id, c.name, c.status]), [['A1', 'Ann Updated', 'Remaining'], ['A2', 'Bob', 'Inactive'], ['A9', 'Zed', 'Remaining']]);
    const log = await readFile(path.join(sshd.rootDir, 'calls_20250301080000.txt.log'), 'utf8');
    assert.match(log, /File: {7}calls_20250301080000.txt/);
    assert.match(log, /Updated: {4}2/);
    assert.match(run.result.logLocation, /^sftp:\/\//);
    const [listed] = (await call('GET', `/processes?campaignId=${campaignId}`)).json.items;
    assert.equal(listed.file, `${destinationName}:calls_20250301080000.txt`, 'a remote source shows its destination and path');
    assert.equal(listed.fileUrl, null);
    const remote = await call('GET', `/processes/${encodeURIComponent(res.json.runId)}/file`);
    assert.equal(remote.status, 404);
    assert.match(remote.json.detail, /calls_20250301080000\.txt on destination/);
  });

  test('a file that is not a list fails cleanly, changes nothing and frees the lock', async () => {
    const campaignId = await seeded();
    const before = await contactsOf(campaignId);
    const binary = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(2000).map((b) => b % 2 ? 0 : b)]);
    const res = await startImport(campaignId, { source: { uploadId: await upload(binary) }, updateRule: 'delete' });
    const run = await finished(res.json.runId);
    assert.equal(run.status, 'failed');
    assert.match(run.error, /not text/);
    assert.deepEqual(await contactsOf(campaignId), before);
    assert.equal(await lockOf(campaignId), null);
  });

  test('invalid requests start nothing', async () => {
    const campaignId = await newCampaign();
    assert.equal((await startImport(campaignId, { source: { uploadId: 'nope' } })).status, 422);
    assert.equal((await startImport(campaignId, { source: { uploadId: 'x' }, mergeRule: 'merge-please' })).status, 400);
    assert.equal((await startImport('999999', { source: { uploadId: 'x' } })).status, 404);
    assert.equal((await call('GET', `/processes?campaignId=${campaignId}`)).json.items.length, 0);
  });
});

describe('the campaign lock', () => {
  test('holds edits and other imports: wait:false is 409, a waiting import runs after, contact edits are 409, other campaigns run side by side', async () => {
    const campaignId = await seeded();
    const other = await newCampaign();
    gates.set(campaignId, { open: false });
    lockedGates.set(campaignId, { open: false });
    const first = (await startImport(campaignId, { source: { uploadId: await upload(LIST) }, mergeRule: 'inactivate' })).json.runId;
    await lockHeldBy(campaignId, first);
    const lock = await lockOf(campaignId);
    assert.equal(lock.type, 'import');
    const [{ step }] = await env.sql`select step from runs where run_id = ${first}`;
    assert.equal(step, 'waiting for campaign lock', 'held between taking the lock and recording its next step');

    const refused = await startImport(campaignId, { source: { uploadId: await upload(LIST) }, wait: false });
    assert.equal(refused.status, 409);
    assert.equal(refused.json.lock.heldBy, first);
    // Right after the 409 the processes view agrees with it: the holder is running (even if its run has not
    // yet recorded the step after the lock), and the refused request left no process at all.
    const afterRefusal = (await call('GET', `/processes?campaignId=${campaignId}`)).json.items;
    assert.deepEqual(afterRefusal.filter((p: any) => p.status === 'pending').map((p: any) => p.runId), []);
    assert.deepEqual((await call('GET', `/processes?campaignId=${campaignId}&status=pending`)).json.items, []);
    assert.equal(afterRefusal.find((p: any) => p.runId === first).status, 'running');
    assert.deepEqual((await call('GET', `/processes?campaignId=${campaignId}&status=running`)).json.items.map((p: any) => p.runId), [first]);
    lockedGates.get(campaignId)!.open = true;

    const [contact] = await contactsOf(campaignId);
    const [{ id: contactId }] = await env.sql`select id from contacts where campaign_id = ${campaignId} and client_id = ${contact.client_id}`;
    const edit = await call('PATCH', `/contacts/${contactId}`, { status: 'Closed' });
    assert.equal(edit.status, 409);
    assert.match(edit.json.detail, new RegExp(first.replaceAll('/', '\\/')));

    const second = (await startImport(campaignId, { source: { uploadId: await upload(LIST) }, mergeRule: 'activate-contact' })).json.runId;
    // The waiting import is listed once its run has recorded its start; it is then the only pending process.
    const pending = await waitFor('the second import to be listed as pending', async () => {
      const items = (await call('GET', `/processes?campaignId=${campaignId}&status=pending`)).json.items;
      return items.length > 0 && items;
    });
    assert.deepEqual(pending.map((p: any) => p.runId), [second]);

    const elsewhere = (await startImport(other, { source: { uploadId: await upload(LIST) } })).json.runId;
    assert.equal((await finished(elsewhere)).status, 'completed', 'another campaign is not blocked');
    assert.equal((await runOf(second)).step, 'waiting for campaign lock');

    gates.get(campaignId)!.open = true;
    assert.equal((await finished(first)).status, 'completed');
    const secondRun = await finished(second);
    assert.equal(secondRun.status, 'completed');
    assert.ok(Date.parse((await runOf(first)).endedAt) <= Date.parse(secondRun.endedAt));
    assert.deepEqual((await contactsOf(campaignId)).map((c) => c.status), ['Remaining', 'Remaining'], 'inactivated by the first, activated by the second');
    await lockFreed(campaignId);
    assert.equal((await call('PATCH', `/contacts/${contactId}`, { status: 'Closed' })).status, 200);
  });

  test('cancelling a running import leaves the contacts exactly as they were and frees the lock', async () => {
    const campaignId = await seeded();
    const before = await contactsOf(campaignId);
    gates.set(campaignId, { open: false });
    const runId = (await startImport(campaignId, { source: { uploadId: await upload(LIST) }, updateRule: 'delete', mergeRule: 'replace', deleteAllBeforeImport: true })).json.runId;
    await lockHeldBy(campaignId, runId);
    await waitFor('reading step', async () => (await runOf(runId)).step === 'reading');
    assert.equal((await call('POST', `/runs/${encodeURIComponent(runId)}/cancel`)).status, 202);
    const run = await finished(runId);
    assert.equal(run.status, 'cancelled');
    assert.deepEqual(await contactsOf(campaignId), before);
    await lockFreed(campaignId);
    assert.equal((await env.sql`select count(*)::int as n from list_import_rows where run_id = ${runId}`)[0].n, 0, 'staging cleaned up');
    assert.equal((await call('GET', `/processes?campaignId=${campaignId}&status=cancelled`)).json.items.length, 1);
  });

  test('a pending (scheduled) import can be cancelled before it starts', async () => {
    const campaignId = await newCampaign();
    const runId = (await startImport(campaignId, { source: { uploadId: await upload(LIST) }, scheduledAt: new Date(Date.now() + 3_600_000).toISOString() })).json.runId;
    await waitFor('scheduled', async () => (await call('GET', `/processes?campaignId=${campaignId}`)).json.items[0]?.status === 'pending');
    await call('POST', `/runs/${encodeURIComponent(runId)}/cancel`);
    assert.equal((await finished(runId)).status, 'cancelled');
    assert.equal((await contactsOf(campaignId)).length, 0);
  });

  test('a holder terminated from Temporal (no cleanup runs) loses the lock within seconds', async () => {
    const campaignId = await seeded();
    gates.set(campaignId, { open: false });
    const runId = (await startImport(campaignId, { source: { uploadId: await upload(LIST) } })).json.runId;
    await lockHeldBy(campaignId, runId);
    await env.client.workflow.getHandle(runId).terminate('test: terminated from Temporal UI');
    await lockFreed(campaignId);
    gates.get(campaignId)!.open = true;
    const next = (await startImport(campaignId, { source: { uploadId: await upload(LIST) }, wait: false })).json.runId;
    assert.equal((await finished(next)).status, 'completed');
  });

  test('a holder terminated together with the lock workflow: GET /campaigns/{id} and a contact edit free the lock at once', async () => {
    for (const via of ['get', 'patch'] as const) {
      const campaignId = await seeded();
      gates.set(campaignId, { open: false });
      const runId = (await startImport(campaignId, { source: { uploadId: await upload(LIST) } })).json.runId;
      await lockHeldBy(campaignId, runId);
      await env.client.workflow.getHandle(`campaign-lock/${campaignId}`).terminate('test: lock workflow terminated');
      await env.client.workflow.getHandle(runId).terminate('test: holder terminated');
      gates.get(campaignId)!.open = true;
      assert.equal((await env.sql`select count(*)::int as n from campaign_locks where campaign_id = ${campaignId}`)[0].n, 1, 'no workflow is left to free it');
      if (via === 'get') {
        assert.equal(await lockOf(campaignId), null);
      } else {
        const [{ id: contactId }] = await env.sql`select id from contacts where campaign_id = ${campaignId} order by id limit 1`;
        const edit = await call('PATCH', `/contacts/${contactId}`, { status: 'Closed' });
        assert.equal(edit.status, 200, JSON.stringify(edit.json));
      }
      assert.equal((await env.sql`select count(*)::int as n from campaign_locks where campaign_id = ${campaignId}`)[0].n, 0);
    }
  });
});

describe('a worker killed mid-import', () => {
  // The killed attempt is retried once its heartbeat timeout (20 s) passes. On a loaded machine the retried
  // attempts must not time out in turn: workers send heartbeats at least every 3 s (worker/create-worker.ts),
  // not only every 16 s (80% of the timeout), and staging is quick. If the run still misses the deadline,
  // the failure names the activity it was waiting for, its attempt and last failure.
  test('SIGKILL while reading: the import completes once on another worker with exact counts and frees the lock', async () => {
    const rows = 150_000;
    const campaignId = await newCampaign();
    async function* lines() {
      yield 'client_id,name,phone\n';
      for (let i = 0; i < rows; i += 5000) {
        let chunk = '';
        for (let j = i; j < Math.min(rows, i + 5000); j++) chunk += `K${j},Name ${j},+1555${String(j).padStart(7, '0')}\n`;
        yield chunk;
      }
    }
    const stored = await env.deps.store.put(Readable.from(lines()), { prefix: 'uploads' });
    await env.sql`insert into uploads (id, store_key, size_bytes, sha256) values ('big-upload', ${stored.key}, ${stored.sizeBytes}, ${stored.sha256})`;
    await worker.stop();
    const child = await env.spawnWorker();
    const runId = (await startImport(campaignId, { source: { uploadId: 'big-upload' } })).json.runId;
    await waitFor('reading progress', async () => {
      const [row] = await env.sql`select progress_done from runs where run_id = ${runId}`;
      return row && Number(row.progress_done) > 0;
    }, 90_000);
    child.kill('SIGKILL');
    worker = await startGatedWorker();
    const run = await finished(runId, 300_000).catch(async (err: Error) => {
      throw new Error(`${err.message}; pending activities: ${JSON.stringify(await pendingActivities(runId))}`);
    });
    assert.equal(run.status, 'completed', run.error);
    assert.equal(run.result.imported, rows);
    assert.equal(run.result.rowsRead, rows);
    assert.equal((await env.sql`select count(*)::int as n from contacts where campaign_id = ${campaignId}`)[0].n, rows);
    assert.equal((await env.sql`select count(*)::int as n from contact_phones p join contacts c on c.id = p.contact_id where c.campaign_id = ${campaignId}`)[0].n, rows);
    // Progress went to the runs row and the heartbeats only: the history holds no progress signal (issue 12).
    const events = (await env.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
    assert.equal(events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'importProgress').length, 0);
    await lockFreed(campaignId);
  });
});
