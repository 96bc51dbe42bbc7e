// The results model against hand-computed rows (API.md "Campaign results"): records completed before, inside
// and after the range, several attempts per record, list and disposition filters, the time zone, custom fields
// by name, formula neutralization, and the collection-time range that catches a late-collected record.
import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { createTestDatabase, type TestDatabase } from './harness/db.js';
import { countResults, cursorResults, prepareResults, prepareResultsWithCounts, RESULT_COLUMNS, resultsCsvHeader, streamResultsCsvRows, type ResultsQueryParams } from '../lib/results/query.js';
import { csvRowCounter } from '../lib/results/files.js';
import { RESULT_FORMATS } from '../contracts/results.js';

let db: TestDatabase;
let campaignId: string;
let listA: string;
let listB: string;

const at = (hhmm: string) => `2025-03-01T${hhmm}:00.000Z`;
const plusMinute = (iso: string) => new Date(Date.parse(iso) + 60_000).toISOString();

async function contact(clientId: string, list: string, extra: { name?: string; custom?: Record<string, string>; phones?: string[] } = {}) {
  const [c] = await db.sql<{ id: string }[]>`
    insert into contacts (campaign_id, list_id, client_id, name, email, custom_fields)
    values (${campaignId}, ${list}, ${clientId}, ${extra.name ?? `Name ${clientId}`}, ${`${clientId.toLowerCase()}@example.com`},
            ${db.sql.json(extra.custom ?? {})}) returning id::text`;
  for (const [i, number] of (extra.phones ?? ['+1555000' + clientId.slice(1).padStart(4, '0')]).entries()) {
    await db.sql`insert into contact_phones (contact_id, position, number) values (${c.id}, ${i + 1}, ${number})`;
  }
  return c.id;
}

interface Att { completed: string; disposition?: string; closed?: boolean; collected?: string; agent?: string; reason?: string }
async function attempts(clientId: string, list: Att[]) {
  for (const a of list) {
    await db.sql`
      insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status, disposition, agent,
                                 major_reason, record_status, collected_at)
      values (${campaignId}, ${clientId}, '+15550009999', ${new Date(Date.parse(a.completed) - 30_000)}, ${a.completed},
              'DELIVEREDPERSON', ${a.disposition ?? null}, ${a.agent ?? 'alice'}, ${a.reason ?? null},
              ${a.closed ? 'Closed' : 'Callback'}, ${a.collected ?? plusMinute(a.completed)})`;
    if (a.closed) {
      await db.sql`update contacts set status = 'Closed', closed_at = ${a.completed} where campaign_id = ${campaignId} and client_id = ${clientId}`;
    }
  }
}

before(async () => {
  db = await createTestDatabase();
  [{ id: campaignId }] = await db.sql<{ id: string }[]>`insert into campaigns (name, timezone) values ('Results', 'UTC') returning id::text`;
  [{ id: listA }] = await db.sql<{ id: string }[]>`insert into calling_lists (campaign_id, name) values (${campaignId}, 'List A') returning id::text`;
  [{ id: listB }] = await db.sql<{ id: string }[]>`insert into calling_lists (campaign_id, name) values (${campaignId}, 'List B') returning id::text`;
  await contact('R1', listA, { name: '=HYPERLINK("x")', custom: { region: 'North' }, phones: ['+15550000001', '+15550000011'] });
  await contact('R2', listA);
  await contact('R3', listB, { custom: { tier: 'Gold' } });
  await contact('R4', listA);
  await contact('R5', listB);
  await attempts('R1', [{ completed: at('10:00'), disposition: 'Busy' }, { completed: at('11:00'), disposition: 'Sale', closed: true, reason: 'SALE' }]);
  // Closed before the range (by completion) but collected late, inside the collection range.
  await attempts('R2', [{ completed: at('09:00'), disposition: 'Sale', closed: true, collected: at('11:50') }]);
  await attempts('R3', [{ completed: at('10:45'), disposition: 'NoAnswer' }, { completed: at('11:30'), disposition: 'NoSale', closed: true }]);
  await attempts('R4', [{ completed: at('11:15'), disposition: 'Busy' }, { completed: at('12:30'), disposition: 'Sale', closed: true }]);
  await attempts('R5', [{ completed: at('10:40'), disposition: 'Sale' }]);
});
after(async () => { await db?.drop(); });

const params = (over: Partial<ResultsQueryParams> = {}): ResultsQueryParams => ({
  campaignId, format: 'simple', timezone: 'UTC', range: { from: new Date(at('10:30')), to: new Date(at('12:00')), by: 'closed' }, ...over,
});

async function csvOf(p: ResultsQueryParams): Promise<{ header: string[]; rows: Record<string, string>[]; counts: { rows: number; records: number } }> {
  return db.sql.begin('isolation level repeatable read', async (tx) => {
    const fields = await prepareResults(tx, p);
    const counts = await countResults(tx, p);
    const body = await text(await streamResultsCsvRows(tx, db.url, p, fields));
    const all = parse(resultsCsvHeader(fields) + body, { columns: false }) as string[][];
    const [header, ...data] = all;
    return { header, rows: data.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]]))), counts };
  });
}

const pick = (rows: Record<string, string>[], ...cols: string[]) => rows.map((r) => cols.map((c) => r[c]).join('|'));

describe('formats over [10:30, 12:00) UTC by completion', () => {
  test('simple: one row per record closed in the range, its last attempt and attempt number', async () => {
    const { header, rows, counts } = await csvOf(params());
    assert.deepEqual(header, [...RESULT_COLUMNS, 'region', 'tier']);
    assert.deepEqual(pick(rows, 'client_id', 'attempt_number', 'disposition', 'list', 'closed_at', 'record_status'), [
      'R1|2|Sale|List A|2025-03-01T11:00:00+00:00|Closed',
      'R3|2|NoSale|List B|2025-03-01T11:30:00+00:00|Closed',
    ]);
    assert.equal(rows[0].name, `'=HYPERLINK("x")`, 'a value a spreadsheet would run is neutralized');
    assert.equal(rows[0].phone, '+15550000001');
    assert.equal(rows[0].phone2, '+15550000011');
    assert.equal(rows[0].phone3, '');
    assert.equal(rows[0].major_reason, 'SALE');
    assert.equal(rows[0].region, 'North');
    assert.equal(rows[1].tier, 'Gold');
    assert.deepEqual(counts, { rows: 2, records: 2 });
  });

  test('detailed: every attempt of those records, numbered over all of them', async () => {
    const { rows } = await csvOf(params({ format: 'detailed' }));
    assert.deepEqual(pick(rows, 'client_id', 'attempt_number', 'attempt_completed_at', 'disposition'), [
      'R1|1|2025-03-01T10:00:00+00:00|Busy',
      'R1|2|2025-03-01T11:00:00+00:00|Sale',
      'R3|1|2025-03-01T10:45:00+00:00|NoAnswer',
      'R3|2|2025-03-01T11:30:00+00:00|NoSale',
    ]);
  });

  test('detailed-in-timeframe: only the attempts made in the range, whatever their record', async () => {
    const { rows } = await csvOf(params({ format: 'detailed-in-timeframe' }));
    assert.deepEqual(pick(rows, 'client_id', 'attempt_number', 'disposition', 'closed_at'), [
      'R5|1|Sale|', 'R3|1|NoAnswer|2025-03-01T11:30:00+00:00', 'R1|2|Sale|2025-03-01T11:00:00+00:00',
      'R4|1|Busy|2025-03-01T12:30:00+00:00', 'R3|2|NoSale|2025-03-01T11:30:00+00:00',
    ]);
  });
});

describe('filters', () => {
  test('lists: only records of the chosen lists', async () => {
    assert.deepEqual(pick((await csvOf(params({ listIds: [listB] }))).rows, 'client_id'), ['R3']);
    assert.deepEqual(pick((await csvOf(params({ format: 'detailed-in-timeframe', listIds: [listB] }))).rows, 'client_id', 'attempt_number'),
      ['R5|1', 'R3|1', 'R3|2']);
  });

  test('dispositions: the record\'s last result in simple and detailed, each attempt in detailed-in-timeframe', async () => {
    assert.deepEqual(pick((await csvOf(params({ dispositions: ['Sale'] }))).rows, 'client_id'), ['R1']);
    assert.deepEqual(pick((await csvOf(params({ format: 'detailed', dispositions: ['Sale'] }))).rows, 'client_id', 'attempt_number'), ['R1|1', 'R1|2']);
    assert.deepEqual(pick((await csvOf(params({ format: 'detailed-in-timeframe', dispositions: ['Sale', 'Busy'] }))).rows, 'client_id', 'attempt_number'),
      ['R5|1', 'R1|2', 'R4|1']);
    assert.equal((await csvOf(params({ dispositions: 'all' }))).rows.length, 2);
  });
});

test('times are written in the chosen time zone', async () => {
  const { rows } = await csvOf(params({ timezone: 'America/Los_Angeles' }));
  assert.equal(rows[0].closed_at, '2025-03-01T03:00:00-08:00');
  assert.equal(rows[0].attempt_started_at, '2025-03-01T02:59:30-08:00');
});

test('by collection time (from, to]: a record closed earlier but collected in the window belongs to it', async () => {
  const by = { from: new Date(at('10:30')), to: new Date(at('12:00')), by: 'collected' as const };
  assert.deepEqual(pick((await csvOf(params({ range: by }))).rows, 'client_id'), ['R2', 'R1', 'R3']);
  // The window ends exactly at R2's collection: (from, to] includes it; the next window starts after it.
  const first = { ...by, to: new Date(at('11:50')) };
  const second = { from: new Date(at('11:50')), to: new Date(at('13:00')), by: 'collected' as const };
  assert.deepEqual(pick((await csvOf(params({ range: first }))).rows, 'client_id'), ['R2', 'R1', 'R3']);
  assert.deepEqual(pick((await csvOf(params({ range: second }))).rows, 'client_id'), ['R4']);
  assert.deepEqual(pick((await csvOf(params({ format: 'detailed-in-timeframe', range: second }))).rows, 'client_id'), ['R4']);
});

test('the cursor yields the same rows, raw, with ids and custom fields', async () => {
  const p = params({ format: 'detailed' });
  const rows = await db.sql.begin('isolation level repeatable read', async (tx) => {
    const fields = await prepareResults(tx, p);
    const out = [];
    for await (const batch of cursorResults(tx, p, fields, 3)) out.push(...batch);
    return out;
  });
  assert.equal(rows.length, 4);
  assert.equal(rows[0].columns.name, '=HYPERLINK("x")', 'raw values: neutralizing is for CSV');
  assert.equal(rows[0].columns.attempt_number, '1');
  assert.equal(rows[0].customFields.region, 'North');
  assert.equal(rows[2].customFields.tier, 'Gold');
  assert.equal(new Set(rows.map((r) => r.attemptId)).size, 4);
});

test('the one pass over the records counts what a full pass over the rows counts, every format, range kind and filter', async () => {
  for (const format of RESULT_FORMATS) {
    for (const by of ['closed', 'collected'] as const) {
      for (const filters of [{}, { dispositions: ['Sale', 'NoSale'] }, { listIds: [listB] }, { dispositions: ['Busy'] }]) {
        const p = params({ format, range: { from: new Date(at('10:30')), to: new Date(at('12:00')), by }, ...filters });
        await db.sql.begin('isolation level repeatable read', async (tx) => {
          const { counts, customFields } = await prepareResultsWithCounts(tx, p);
          assert.deepEqual(counts, await countResults(tx, p), `${format} ${by} ${JSON.stringify(filters)}`);
          const rows = parse(await text(await streamResultsCsvRows(tx, db.url, p, customFields)), { columns: false }) as string[][];
          assert.equal(rows.length, counts.rows, `${format} ${by} ${JSON.stringify(filters)}: the file's rows`);
        });
      }
    }
  }
});

test('the file writer counts CSV rows as they stream, not lines: a quoted value may hold line breaks and quotes', () => {
  const counter = csvRowCounter();
  const body = Buffer.from('R1,"two\nlines",1\nR2,"say ""hi""\n",2\nR3,,3\n');
  counter.count(body.subarray(0, 9));
  counter.count(body.subarray(9, 23));
  counter.count(body.subarray(23));
  assert.equal(counter.rows, 3);
  assert.equal((parse(body, { columns: false }) as string[][]).length, 3);
});
