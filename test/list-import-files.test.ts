// Reading calling-list files on a real PostgreSQL: encodings (UTF-8 with/without BOM, UTF-16 LE/BE,
// Windows-1252), separators, header or not, bad rows with exact line numbers, binary and empty files,
// and `$rdatetime$` picking the newest file of a real destination folder.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import iconv from 'iconv-lite';
import { connect } from '../db/sql.js';
import { parse } from 'csv-parse';
import { ImportFileError } from '../lib/import/errors.js';
import { avoidRecordInfoCopies } from '../lib/import/parse.js';
import { pickNewestFile } from '../lib/import/source.js';
import { stageImportFile } from '../lib/import/stage.js';
import { openTransfer } from '../lib/transfer/index.js';
import { createTestDatabase, type TestDatabase } from './harness/db.js';
import { testScratchDir } from './harness/scratch.js';
import type { Separator } from '../contracts/list-import.js';

let db: TestDatabase;
before(async () => { db = await createTestDatabase(); });
after(async () => { await db.drop(); });

let runs = 0;
async function stage(bytes: Buffer, options: { separator?: Separator; hasHeader?: boolean } = {}) {
  const runId = `files-${++runs}`;
  const result = await stageImportFile(db.url, {
    runId, separator: options.separator ?? ',', hasHeader: options.hasHeader ?? true,
    open: async () => Readable.from(chunks(bytes)),
  }, (url) => connect(url, { max: 1 }));
  const rows = await db.sql<{ line: number; client_id: string | null; name: string | null; email: string | null; phone1: string | null; custom: Record<string, string> | null; reject_reason: string | null }[]>`
    select line, client_id, name, email, phone1, custom, reject_reason from list_import_rows where run_id = ${runId} order by line`;
  return { result, rows, good: rows.filter((r) => !r.reject_reason), rejected: rows.filter((r) => r.reject_reason) };
}

/** Small chunks, so multi-byte characters and BOMs are split across chunk boundaries. */
function* chunks(bytes: Buffer, size = 7) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const LIST = 'client_id,name,phone,email\nC1,Zoë Müller,+15551230001,zoe@example.com\nC2,José Núñez,+15551230002,\n';

describe('encodings', () => {
  const cases: [string, Buffer, string][] = [
    ['UTF-8 without BOM', Buffer.from(LIST, 'utf8'), 'utf-8'],
    ['UTF-8 with BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(LIST, 'utf8')]), 'utf-8 (BOM)'],
    ['UTF-16 LE with BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(LIST, 'utf16le')]), 'utf-16le'],
    ['UTF-16 BE with BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(LIST, 'utf16le').swap16()]), 'utf-16be'],
    ['Windows-1252', iconv.encode(LIST, 'win1252'), 'windows-1252'],
  ];
  for (const [label, bytes, encoding] of cases) {
    test(`${label} is recognised and decoded exactly`, async () => {
      const { result, good } = await stage(bytes);
      assert.equal(result.encoding, encoding);
      assert.deepEqual(good.map((r) => [r.line, r.client_id, r.name, r.email]), [[2, 'C1', 'Zoë Müller', 'zoe@example.com'], [3, 'C2', 'José Núñez', null]]);
    });
  }

  test('a file that is ASCII at first and Windows-1252 later is read again as Windows-1252, not as garbage', async () => {
    const filler = Array.from({ length: 3000 }, (_, i) => `F${i},Plain Name,+1555000${String(i).padStart(4, '0')},\n`).join('');
    const bytes = Buffer.concat([Buffer.from(`client_id,name,phone,email\n${filler}`), iconv.encode('LAST,Zoë,+15559990000,\n', 'win1252')]);
    const { result, good } = await stage(bytes);
    assert.equal(result.encoding, 'windows-1252');
    assert.equal(good.at(-1)!.name, 'Zoë');
    assert.equal(good.length, 3001);
  });

  test('UTF-8 past the sampled start is read as bytes: characters split across chunks arrive whole, a control character fails', async () => {
    // Over 64 KB, so most of the file comes after the detection sample, in 7-byte chunks that cut
    // 2-, 3- and 4-byte characters apart.
    const names = ['Zoë', 'Łukasz', '東京', 'Ana 🎉'];
    const body = Array.from({ length: 6000 }, (_, i) => `U${i},${names[i % 4]} ${i},+1555${String(i).padStart(7, '0')},\n`).join('');
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`client_id,name,phone,email\n${body}`, 'utf8')]);
    assert.ok(bytes.length > 128 * 1024);
    const { result, good } = await stage(bytes);
    assert.equal(result.encoding, 'utf-8 (BOM)');
    assert.equal(good.length, 6000);
    assert.deepEqual(good.map((r) => r.name), Array.from({ length: 6000 }, (_, i) => `${names[i % 4]} ${i}`));
    const control = Buffer.concat([bytes, Buffer.from('LAST,Bell\u0007,+15550000000,\n', 'utf8')]);
    await assert.rejects(stage(control), (err: unknown) => err instanceof ImportFileError && /control character U\+0007/.test(err.message));
  });

  test('a binary file fails clearly and stages nothing', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.alloc(200, 7)]);
    await assert.rejects(stage(png), (err: unknown) => err instanceof ImportFileError && err.type === 'ImportEncodingUndecidable' && /not text/.test(err.message));
  });

  test('UTF-16 without a byte-order mark is refused as undecidable', async () => {
    await assert.rejects(stage(Buffer.from(LIST, 'utf16le')), (err: unknown) => err instanceof ImportFileError && /without a byte-order mark/.test(err.message));
  });

  test('bytes that are neither UTF-8 nor Windows-1252 are refused', async () => {
    await assert.rejects(stage(Buffer.from([0x63, 0x6c, 0x81, 0x8d, 0x0a])), (err: unknown) => err instanceof ImportFileError && err.type === 'ImportEncodingUndecidable');
  });

  test('an empty file fails clearly', async () => {
    await assert.rejects(stage(Buffer.alloc(0)), (err: unknown) => err instanceof ImportFileError && err.type === 'ImportFileEmpty');
  });
});

describe('separators and headers', () => {
  const seps: [Separator, string][] = [[',', ','], [';', ';'], [':', ':'], ['tab', '\t'], ['space', ' ']];
  for (const [separator, char] of seps) {
    test(`separator "${separator}" splits the columns`, async () => {
      const text = ['client_id', 'name', 'phone'].join(char) + '\n' + ['K1', '"Ann Lee"', '+15550001111'].join(char) + '\n';
      const { good } = await stage(Buffer.from(text), { separator });
      assert.deepEqual(good.map((r) => [r.client_id, r.name, r.phone1]), [['K1', 'Ann Lee', '+15550001111']]);
    });
  }

  test('without a header the columns are client_id, name, phone, email and line 1 is a contact', async () => {
    const { good } = await stage(Buffer.from('N1;Ann;+15550001111;ann@example.com\nN2;Bob;+15550002222;\n'), { separator: ';', hasHeader: false });
    assert.deepEqual(good.map((r) => [r.line, r.client_id, r.name, r.phone1, r.email]),
      [[1, 'N1', 'Ann', '+15550001111', 'ann@example.com'], [2, 'N2', 'Bob', '+15550002222', null]]);
  });

  test('header columns match by name in any case and order; unknown columns become custom fields', async () => {
    const { good } = await stage(Buffer.from('Phone,CLIENT_ID,Account No,Name\n+15550001111,H1,A-77,Ann\n'));
    assert.deepEqual(good.map((r) => [r.client_id, r.name, r.phone1, r.custom]), [['H1', 'Ann', '+15550001111', { 'Account No': 'A-77' }]]);
  });

  test('a header without client_id is not a list', async () => {
    await assert.rejects(stage(Buffer.from('id;name\n1;Ann\n')), (err: unknown) => err instanceof ImportFileError && err.type === 'ImportNotAList' && /client_id/.test(err.message));
  });
});

describe('bad rows', () => {
  test('are skipped and counted with their exact line number and reason; good rows are kept', async () => {
    const text = [
      'client_id,name,phone,email',                 // 1
      'G1,Good One,+15550000001,g1@example.com',    // 2
      'B1,Too,Many,Columns,Here',                   // 3
      '',                                           // 4 (empty lines are skipped but counted)
      'B2,Bad Phone,call me,',                      // 5
      ',No Key,+15550000003,',                      // 6
      'B3,Broken "quote,+15550000004,',             // 7
      `B4,${'x'.repeat(201)},+15550000005,`,        // 8
      'G2,"Multi',                                  // 9
      'line name",+15550000006,',                   // 10
      'B5,Bad Mail,+15550000007,not-an-address',    // 11
      'G3,Good Three,+15550000008,',                // 12
    ].join('\r\n') + '\r\n';
    const { result, good, rejected } = await stage(Buffer.from(text));
    assert.deepEqual(good.map((r) => [r.line, r.client_id]), [[2, 'G1'], [9, 'G2'], [12, 'G3']]);
    assert.deepEqual(rejected.map((r) => [r.line, r.reject_reason]), [
      [3, 'expected 4 columns, found 5'],
      [5, 'phone "call me" is not a phone number (digits, optionally +, spaces, dots, dashes, parentheses; 3-30 characters)'],
      [6, 'client_id is empty'],
      [7, 'broken quoting: a quote inside an unquoted field'],
      [8, 'name is longer than 200 characters'],
      [11, 'email "not-an-address" is not a valid address'],
    ]);
    assert.equal(result.rowsRead, 9);
    assert.equal(result.rejected, 6);
  });
});

describe('$rdatetime$', () => {
  test('picks the file with the most recent yyyymmddhhMMss among several in a real destination folder', async () => {
    const dir = path.join(testScratchDir(), `rdt-${process.pid}-${Date.now()}`);
    await mkdir(path.join(dir, 'in'), { recursive: true });
    for (const name of ['list_20250301101500.csv', 'list_20250302090000.csv', 'list_20241231235959.csv', 'list_20259999999999.csv', 'list_latest.csv', 'other_20260101000000.csv']) {
      await writeFile(path.join(dir, 'in', name), 'client_id\n');
    }
    const transfer = openTransfer({ protocol: 'file', path: dir });
    try {
      assert.equal(pickNewestFile('in/list_$rdatetime$.csv', await transfer.list('in')), 'in/list_20250302090000.csv');
      assert.throws(() => pickNewestFile('in/none_$rdatetime$.csv', []), /No file in "in" matches/);
    } finally {
      await transfer.close();
    }
  });
});

test('csv-parse still has the per-record hook the import replaces to keep its memory flat (lib/import/parse.ts)', () => {
  assert.equal(avoidRecordInfoCopies(parse({ on_record: (record: string[]) => record })), true,
    'csv-parse no longer has api.__infoRecord: the parse copies its counters for every record again; find the new hook');
});
