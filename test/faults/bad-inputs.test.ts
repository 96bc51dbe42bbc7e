// A corpus of bad inputs, each answered with a clear error or a row rejection, and nothing half-applied:
// malformed API bodies, oversized bodies, hostile file-name templates, injection strings in names, paths and
// queries, and calling lists that are malformed, mis-encoded or not lists at all.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startApi, type Api } from '../erasure-fixtures.js';
import { createTestEnv, type RunningWorker, type TestEnv } from '../harness/env.js';
import { distinctCampaignIds } from './crash-helpers.js';

let env: TestEnv;
let api: Api;
let worker: RunningWorker;
let campaignId: string;
let destinationId: string;

before(async () => {
  env = await createTestEnv({ env: { CAMPAIGN_LOCK_CHECK_SECONDS: '1' } });
  await distinctCampaignIds(env.sql);
  api = await startApi(env);
  worker = await env.startWorker();
  const campaign = await api.call('POST', '/campaigns', { body: { name: `bad-inputs-${randomBytes(3).toString('hex')}`, timezone: 'UTC' } });
  campaignId = campaign.json.id;
  const destination = await api.call('POST', '/destinations', { body: { name: `d-${randomBytes(3).toString('hex')}`, protocol: 'file', path: `${env.dataDir}/dest` } });
  assert.equal(destination.status, 201, JSON.stringify(destination.json));
  destinationId = destination.json.id;
});
after(async () => {
  await worker?.stop();
  await api?.close();
  await env?.stop();
});

async function raw(method: string, url: string, body: string | Buffer, contentType = 'application/json') {
  const res = await fetch(`${api.base}${url}`, { method, headers: { authorization: `Bearer ${api.adminKey}`, 'content-type': contentType }, body });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text };
}

/** Table sizes that must not move when a request is refused. */
async function snapshot() {
  const [row] = await env.sql`
    select (select count(*)::int from campaigns) as campaigns, (select count(*)::int from contacts) as contacts,
           (select count(*)::int from destinations) as destinations, (select count(*)::int from job_definitions) as definitions`;
  return { ...row };
}

const exportJob = (fileNameTemplate: unknown) => ({
  name: `job-${randomBytes(3).toString('hex')}`, enabled: false, campaignId, contentType: 'complete', voiceSignatureOnly: false,
  dispositions: 'all', completedAfter: '2025-01-01T00:00:00Z', destinationId, fileNameTemplate, schedule: { every: '1h' },
});

describe('malformed, oversized and hostile API requests are refused with a problem and change nothing', () => {
  const bodies: [string, string, string][] = [
    ['truncated JSON', 'POST /campaigns', '{"name": "x", "timezone": "UTC"'],
    ['JSON with a trailing comma', 'POST /campaigns', '{"name": "x", "timezone": "UTC",}'],
    ['not JSON at all', 'POST /campaigns', 'name=x&timezone=UTC'],
    ['a JSON array instead of an object', 'POST /campaigns', '[{"name": "x", "timezone": "UTC"}]'],
    ['a JSON string', 'POST /campaigns', '"campaign"'],
    ['null', 'POST /campaigns', 'null'],
    ['the name as a number', 'POST /campaigns', '{"name": 42, "timezone": "UTC"}'],
    ['the name as an object', 'POST /campaigns', '{"name": {"$ne": null}, "timezone": "UTC"}'],
    ['an unknown time zone', 'POST /campaigns', '{"name": "x", "timezone": "Mars/Olympus_Mons"}'],
    ['a time zone with SQL in it', 'POST /campaigns', `{"name": "x", "timezone": "UTC'; drop table contacts; --"}`],
    ['an empty name', 'POST /campaigns', '{"name": "", "timezone": "UTC"}'],
    ['a destination with an unknown protocol', 'POST /destinations', '{"name": "d", "protocol": "gopher", "host": "x"}'],
    ['a destination port out of range', 'POST /destinations', '{"name": "d", "protocol": "sftp", "host": "h", "port": 70000, "username": "u", "password": "p"}'],
    ['a destination port as text', 'POST /destinations', '{"name": "d", "protocol": "sftp", "host": "h", "port": "22; rm -rf /", "username": "u", "password": "p"}'],
    ['attempts that are not a list', 'POST /attempts', '{"campaignId": "1"}'],
    ['an attempt with an unknown status', 'POST /attempts', '[{"campaignId": "1", "clientId": "A", "phone": "+15550000000", "startedAt": "2025-01-01T00:00:00Z", "completedAt": "2025-01-01T00:01:00Z", "status": "NOT_A_STATUS"}]'],
    ['an attempt with a date that is not a date', 'POST /attempts', '[{"campaignId": "1", "clientId": "A", "phone": "+15550000000", "startedAt": "yesterday", "completedAt": "2025-01-01T00:01:00Z", "status": "NOANSWER"}]'],
    ['a report of an unknown type', 'POST /reports', '{"name": "r", "type": "everything", "campaignId": "1", "timeframe": {"kind": "today"}, "output": {}}'],
    ['a report crontab with six fields', 'POST /reports', '{"name": "r", "type": "summary", "campaignId": "1", "timeframe": {"kind": "today"}, "output": {}, "schedule": {"cron": "* * * * * *"}}'],
    ['a report with an explicit timeframe ending before it starts', 'POST /reports', '{"name": "r", "type": "summary", "campaignId": "1", "timeframe": {"kind": "explicit", "start": "2025-02-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}, "output": {}}'],
    ['an import with an unknown merge rule', 'POST /campaigns/{c}/imports', '{"source": {"uploadId": "u"}, "separator": ",", "hasHeader": true, "importRule": "append", "updateRule": "nothing", "mergeRule": "merge-please"}'],
    ['an import with a separator that is not allowed', 'POST /campaigns/{c}/imports', '{"source": {"uploadId": "u"}, "separator": "|", "hasHeader": true, "importRule": "append", "updateRule": "nothing", "mergeRule": "append"}'],
    ['an erasure without a reason', 'POST /erasures/preview', '{"campaignId": "1", "items": ["voice-recording"], "date": "2025-07-01"}'],
    ['an erasure of an unknown item kind', 'POST /erasures/preview', '{"campaignId": "1", "items": ["everything"], "date": "2025-07-01", "reason": "r"}'],
  ];
  for (const [what, route, body] of bodies) {
    test(`${what}: 4xx problem, nothing written`, async () => {
      const [method, path] = route.split(' ');
      const before = await snapshot();
      const res = await raw(method, path.replace('{c}', campaignId), body);
      assert.ok(res.status >= 400 && res.status < 500, `${route} answered ${res.status}: ${res.text.slice(0, 300)}`);
      assert.match(res.type, /json/);
      assert.ok(JSON.parse(res.text).title || JSON.parse(res.text).detail, 'a problem document with a title or detail');
      assert.deepEqual(await snapshot(), before);
    });
  }

  test('a 5 MB JSON body: refused as too large, nothing written', async () => {
    const before = await snapshot();
    const res = await raw('POST', '/campaigns', JSON.stringify({ name: 'x'.repeat(5 * 1024 * 1024), timezone: 'UTC' }));
    assert.ok([400, 413].includes(res.status), `answered ${res.status}`);
    assert.deepEqual(await snapshot(), before);
  });

  test('a 100,000-element attempts array of junk: refused, nothing written', async () => {
    const before = await snapshot();
    const res = await raw('POST', '/attempts', JSON.stringify(Array.from({ length: 100_000 }, () => ({ junk: true }))));
    assert.ok(res.status >= 400 && res.status < 500, `answered ${res.status}`);
    const [{ n }] = await env.sql`select count(*)::int as n from call_attempts`;
    assert.equal(n, 0);
    assert.deepEqual(await snapshot(), before);
  });

  const ids = ["1 or 1=1", "1; drop table contacts", "../../etc/passwd", '%00', '99999999999999999999999', '-1', "1'--"];
  for (const id of ids) {
    test(`path id ${JSON.stringify(id)}: 400 or 404, nothing else happens`, async () => {
      const res = await api.call('GET', `/campaigns/${encodeURIComponent(id)}`);
      assert.ok([400, 404].includes(res.status), `answered ${res.status}`);
    });
  }

  test('a query string with injection and wrong types: refused or harmless', async () => {
    const res = await api.call('GET', `/campaigns/${campaignId}/contacts?limit=${encodeURIComponent('10; delete from contacts')}&status=${encodeURIComponent("' or ''='")}`);
    assert.ok(res.status === 400, `answered ${res.status}`);
  });
});

describe('names with injection strings are stored as text, never executed', () => {
  const names = ["Robert'); drop table contacts;--", '<script>alert(1)</script>', '${process.exit()}', '{{7*7}}', '\u202Egnp.exe', 'a\u0000b'];
  for (const name of names) {
    test(`campaign named ${JSON.stringify(name)}`, async () => {
      const res = await api.call('POST', '/campaigns', { body: { name: `${name} ${randomBytes(2).toString('hex')}`, timezone: 'UTC' } });
      if (res.status === 201) {
        const back = await api.call('GET', `/campaigns/${res.json.id}`);
        assert.ok(back.json.name.startsWith(name), 'read back exactly as sent');
      } else {
        assert.equal(res.status, 400, 'or refused as invalid');
      }
      const [{ n }] = await env.sql`select count(*)::int as n from information_schema.tables where table_name = 'contacts'`;
      assert.equal(n, 1, 'the contacts table is still there');
    });
  }
});

describe('hostile file-name templates are refused when the job is saved', () => {
  const templates = [
    '../../../etc/passwd', '/etc/cron.d/${recordingId}', '${recordingId}/../../../x.wav', 'a/../../${recordingId}.wav',
    '${notAPlaceholder}.wav', '${recordingId', 'x'.repeat(5000), '', '..\\..\\${recordingId}.wav', 'rec\u0000${recordingId}.wav',
    '${recordingId}\n.wav', 42,
  ];
  for (const template of templates) {
    test(`template ${JSON.stringify(template).slice(0, 60)}: 400 naming the template, no job`, async () => {
      const before = await snapshot();
      const res = await api.call('POST', '/recording-export-jobs', { body: exportJob(template) });
      assert.equal(res.status, 400, `answered ${res.status}: ${JSON.stringify(res.json).slice(0, 300)}`);
      assert.match(JSON.stringify(res.json), /fileNameTemplate|template/);
      assert.deepEqual(await snapshot(), before);
    });
  }
});

describe('bad calling lists: a clear failure with nothing applied, or exact row rejections', () => {
  async function contacts() {
    return env.sql<{ client_id: string; name: string }[]>`select client_id, name from contacts where campaign_id = ${campaignId} order by client_id`;
  }
  async function importFile(bytes: Buffer, separator = ',', hasHeader = true) {
    const up = await raw('POST', '/uploads', bytes, 'text/csv');
    assert.equal(up.status, 201, up.text);
    const started = await api.call('POST', `/campaigns/${campaignId}/imports`, {
      body: { source: { uploadId: JSON.parse(up.text).uploadId }, separator, hasHeader, importRule: 'append', updateRule: 'delete', mergeRule: 'replace' },
    });
    assert.equal(started.status, 202, JSON.stringify(started.json));
    const handle = env.client.workflow.getHandle(started.json.runId);
    try {
      return { ok: true as const, result: await handle.result() };
    } catch (err) {
      // The failure's message chain: workflow failure → activity failure → the activity's own error.
      const messages: string[] = [];
      for (let e: unknown = err; e instanceof Error; e = e.cause) messages.push(e.message);
      return { ok: false as const, error: messages.join(' ← ') };
    }
  }

  test('the campaign starts with two contacts from a good list', async () => {
    const run = await importFile(Buffer.from('client_id,name,phone\nA1,Ann,+15550000001\nA2,Bob,+15550000002\n'));
    assert.ok(run.ok, run.ok ? '' : run.error);
    assert.deepEqual((await contacts()).map((c) => c.client_id), ['A1', 'A2']);
  });

  const failing: [string, Buffer, RegExp][] = [
    ['an empty file', Buffer.alloc(0), /empty|no rows|no data|nothing/i],
    ['a PDF', Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i % 3 ? 0 : i % 256)))]), /not text|binary/i],
    ['a ZIP archive', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(2000, 0)]), /not text|binary/i],
    ['a header without client_id', Buffer.from('id,name,phone\n1,Ann,+15550000001\n'), /client_id/],
    ['a header naming a column twice', Buffer.from('client_id,name,name\nA1,Ann,Ann\n'), /twice/],
    ['an unterminated quote', Buffer.from('client_id,name,phone\nA1,"Ann,+15550000001\nA2,Bob,+15550000002\n'), /quote|line/i],
  ];
  for (const [what, bytes, message] of failing) {
    test(`${what}: the run fails clearly and the list is unchanged`, async () => {
      const before = await contacts();
      const run = await importFile(bytes);
      assert.equal(run.ok, false, 'the run failed');
      if (!run.ok) assert.match(run.error, message);
      assert.deepEqual(await contacts(), before, 'nothing half-applied (update rule delete would have removed contacts)');
      const [lock] = await env.sql`select count(*)::int as n from campaign_locks where campaign_id = ${campaignId}`;
      assert.equal(lock.n, 0, 'the campaign lock is released');
    });
  }

  const rejecting: [string, Buffer, number][] = [
    ['a bad phone, a too-long client id and a missing client id', Buffer.from(`client_id,name,phone\nA1,Ann,+15550000001\nA2,Bob,not a phone\n${'X'.repeat(500)},Long,+15550000003\n,NoId,+15550000004\n`), 3],
    ['a row with too many columns and a duplicate client id', Buffer.from('client_id,name,phone\nA1,Ann,+15550000001\nA2,Bob,+15550000002,extra\nA1,Again,+15550000009\n'), 2],
    ['Windows-1252 bytes and CRLF lines', Buffer.concat([Buffer.from('client_id,name,phone\r\nA1,Jos'), Buffer.from([0xe9]), Buffer.from(',+15550000001\r\nA2,Bob,+1 (555) 000-0002\r\n')]), 0],
    ['UTF-16 with a BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('client_id,name,phone\nA1,Ann,+15550000001\nA2,Bob,+15550000002\n', 'utf16le')]), 0],
    ['SQL and formula injection in the values', Buffer.from(`client_id,name,phone\nA1,"=cmd|' /C calc'!A0",+15550000001\nA2,"Bob'); drop table contacts;--",+15550000002\n`), 0],
  ];
  for (const [what, bytes, rejected] of rejecting) {
    test(`${what}: ${rejected} row(s) rejected with reasons, the good rows applied`, async () => {
      const run = await importFile(bytes);
      assert.ok(run.ok, run.ok ? '' : run.error);
      const result = run.result as { rejected: number; rejectedRows: { line: number; reason: string }[] };
      assert.equal(result.rejected, rejected, JSON.stringify(result.rejectedRows));
      for (const row of result.rejectedRows) assert.ok(row.line > 1 && row.reason.length > 5, `line ${row.line}: ${row.reason}`);
      const names = (await contacts()).map((c) => c.client_id);
      assert.ok(names.includes('A1'), 'the good rows are in the list');
    });
  }
});
