// Bulk import of blacklist entries (seed 000 task type "Import exclusions by account"; API.md "Contact lists"):
// POST /blacklist/imports reads an upload or a destination file — one entry per line, or a CSV with a `uri`
// column — into the blacklist as an exclusions-import run: bad lines reported with their line numbers and
// skipped, entries already there counted as duplicates, matching contact phones Excluded; the run is in
// GET /runs/{runId}, the task log and GET /processes with its counts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startApi, newCampaign, type Api } from './erasure-fixtures.js';
import { createTestEnv, type RunningWorker, type TestEnv } from './harness/env.js';
import { waitFor } from './list-import-helpers.js';
import { createDestination } from './recording-export-helpers.js';

let env: TestEnv;
let api: Api;
let worker: RunningWorker;

before(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  worker = await env.startWorker();
});
after(async () => { await worker?.stop(); await api?.close(); await env?.stop(); });

async function upload(text: string | Buffer): Promise<string> {
  const res = await fetch(`${api.base}/uploads`, { method: 'POST', headers: { authorization: `Bearer ${api.adminKey}`, 'content-type': 'text/csv' }, body: text });
  assert.equal(res.status, 201);
  return (await res.json() as { uploadId: string }).uploadId;
}
const ended = (runId: string) => waitFor(`run ${runId}`, async () => {
  const r = (await api.call('GET', `/runs/${encodeURIComponent(runId)}`)).json;
  return ['completed', 'failed', 'cancelled'].includes(r.status) && r;
});
const phoneStates = async (contactId: string) => ((await api.call('GET', `/contacts/${contactId}`)).json.phones as { state: string }[]).map((p) => p.state);

describe('exclusions import', () => {
  test('a CSV with a uri column: entries added, bad lines by number, duplicates counted, contact phones excluded, in the run and the task log', async () => {
    const campaignId = await newCampaign(env);
    const contact = (await api.call('POST', `/campaigns/${campaignId}/contacts`, { body: { clientId: 'X1', phones: [{ number: '+1 555 880 0001' }, { number: '+15558800009' }] } })).json.id;
    assert.equal((await api.call('POST', '/blacklist', { body: { uri: '+15558800002' } })).status, 201);
    const csv = [
      'name;uri;note',           // 1: header (separator found from it)
      'Ann;+1 555 880 0001;x',   // 2: excludes the contact's first phone
      'Bob;15558800002;',        // 3: already on the blacklist
      '',                        // 4: empty
      'Cy;not a number;',        // 5: bad
      'Di;DI@Example.com;',      // 6: e-mail
      'Ann again;+15558800001;', // 7: duplicate within the file
      'Ed;;',                    // 8: no uri
      'Flo;+15558800003;',       // 9
    ].join('\r\n');
    const res = await api.call('POST', '/blacklist/imports', { body: { source: { uploadId: await upload(csv) } } });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.match(res.json.runId, /^exclusions-import\/\d{4}-/);
    const run = await ended(res.json.runId);
    assert.equal(run.status, 'completed', run.error);
    assert.equal(run.type, 'exclusions-import');
    assert.deepEqual({ ...run.result, file: undefined }, {
      file: undefined, linesRead: 9, added: 3, duplicates: 2, rejected: 2, phonesExcluded: 1,
      rejectedLines: [
        { line: 5, reason: '"not a number" must be a phone number (digits, optionally with +, spaces, dots, dashes or parentheses) or an e-mail address' },
        { line: 8, reason: 'no uri' },
      ],
    });
    const entries = (await api.call('GET', '/blacklist?limit=500')).json.items.filter((e: any) => e.runId === res.json.runId);
    assert.deepEqual(entries.map((e: any) => [e.uri, e.name]).sort(), [['+15558800001', 'Ann'], ['+15558800003', 'Flo'], ['di@example.com', 'Di']]);
    assert.deepEqual(await phoneStates(contact), ['Excluded', 'Active']);
    const history = (await api.call('GET', `/contacts/${contact}/history`)).json.items;
    assert.deepEqual([history[0].kind, history[0].runId], ['blacklist', res.json.runId]);
    const log = (await api.call('GET', '/task-log?type=exclusions-import')).json.items;
    assert.ok(log.some((entry: any) => entry.result === 'completed' && entry.type === 'exclusions-import'), JSON.stringify(log));
  });

  test('one entry per line from a destination file (UTF-16 with BOM); a missing file fails the run, adding nothing', async () => {
    const root = path.join(env.dataDir, `dnc-${randomBytes(3).toString('hex')}`);
    await mkdir(root, { recursive: true });
    const lines = ['+1 555 881 0001', 'mailto:x@example.org', 'garbage', '+15558810002'].join('\n');
    await writeFile(path.join(root, 'dnc.txt'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(lines, 'utf16le')]));
    const destinationId = await createDestination(env.sql, env.deps.keyring, { protocol: 'file', path: root } as never);
    const res = await api.call('POST', '/blacklist/imports', { body: { source: { destinationId, path: 'dnc.txt' } } });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const run = await ended(res.json.runId);
    assert.equal(run.status, 'completed', run.error);
    assert.deepEqual([run.result.file, run.result.linesRead, run.result.added, run.result.rejected, run.result.rejectedLines.map((l: any) => l.line)],
      ['dnc.txt', 4, 3, 1, [3]]);

    const missing = await api.call('POST', '/blacklist/imports', { body: { source: { destinationId, path: 'nope.txt' } } });
    assert.equal(missing.status, 202);
    const failed = await ended(missing.json.runId);
    assert.equal(failed.status, 'failed');
    const [{ n }] = await env.sql<{ n: number }[]>`select count(*)::int as n from blacklist_entries where run_id = ${missing.json.runId}`;
    assert.equal(n, 0);
  });

  test('exclusions imports are in GET /processes (no campaign), filtered by type, paged with the list processes by one id', async () => {
    const campaignId = await newCampaign(env);
    const listProcess = async (runId: string) => env.sql`
      insert into list_imports (run_id, campaign_id, type, source, options) values (${runId}, ${campaignId}, 'import', ${env.sql.json({ uploadId: 'u1' })}, '{}')`;
    await listProcess(`list-import/${campaignId}/a`);
    const res = await api.call('POST', '/blacklist/imports', { body: { source: { uploadId: await upload('+15558820001\n') } } });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal((await ended(res.json.runId)).status, 'completed');
    await listProcess(`list-import/${campaignId}/b`);

    const ours = await api.call('GET', '/processes?type=exclusions-import&limit=500');
    assert.equal(ours.status, 200, JSON.stringify(ours.json));
    assert.ok(ours.json.items.length >= 2 && ours.json.items.every((p: any) => p.type === 'exclusions-import' && p.campaignId === null && p.campaign === null));
    const mine = ours.json.items[0];
    assert.deepEqual([mine.runId, mine.status, mine.file, mine.details.linesRead, mine.details.added, mine.details.imported, mine.progress],
      [res.json.runId, 'finished', `upload:${mine.file.slice(7)}`, 1, 1, 1, 100]);
    assert.equal((await api.call('GET', '/processes?type=exclusions-import&status=failed')).json.items.every((p: any) => p.status === 'failed'), true);
    const ofCampaign = (await api.call('GET', `/processes?campaignId=${campaignId}`)).json.items.map((p: any) => p.runId);
    assert.deepEqual(ofCampaign, [`list-import/${campaignId}/b`, `list-import/${campaignId}/a`], 'a campaign\'s view has no exclusions imports');

    const all = (await api.call('GET', '/processes?limit=500')).json.items.map((p: any) => p.runId);
    assert.deepEqual(all.slice(0, 3), [`list-import/${campaignId}/b`, res.json.runId, `list-import/${campaignId}/a`], 'newest first across both kinds');
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = (await api.call('GET', `/processes?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json;
      paged.push(...page.items.map((p: any) => p.runId));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(paged, all, 'pages of 2 give the same list, each process once');
    const ids = (await api.call('GET', '/processes?limit=500')).json.items.map((p: any) => Number(p.processId));
    assert.equal(new Set(ids).size, ids.length, 'process ids are unique across both kinds');
  });

  test('bad input: 400 naming the field, 422 for an upload that does not exist; nothing started', async () => {
    const [{ before: runsBefore }] = await env.sql<{ before: number }[]>`select count(*)::int as before from runs where type = 'exclusions-import'`;
    const bad = await api.call('POST', '/blacklist/imports', { body: { source: { path: 'x' } } });
    assert.equal(bad.status, 400);
    assert.ok(bad.json.errors.every((e: any) => e.path.startsWith('source')), JSON.stringify(bad.json));
    assert.equal((await api.call('POST', '/blacklist/imports', { body: {} })).status, 400);
    assert.equal((await api.call('POST', '/blacklist/imports', { body: { source: { uploadId: 'upl_nope' } } })).status, 422);
    const [{ after: runsAfter }] = await env.sql<{ after: number }[]>`select count(*)::int as after from runs where type = 'exclusions-import'`;
    assert.equal(runsAfter, runsBefore);
  });
});
