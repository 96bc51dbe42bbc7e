// The synthetic data generator and the completion-status table it draws from.
// node:test tracks the promises describe() and test() return; nothing here is left floating.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalContentStore } from '../lib/content-store/local.js';
import type { ContentStore } from '../lib/content-store/types.js';
import { keyringOf } from '../lib/crypto/keys.js';
import { COMPLETION_STATUSES, isCompletionStatus, rankOf } from '../lib/domain/completion-statuses.js';
import { COMPLETION_STATUS_MIGRATION, renderCompletionStatusMigration } from '../lib/domain/completion-status-migration.js';
import { createCampaign, generate, insertInteraction, makeWav, parseWav, type GenerateOptions } from '../lib/generator/index.js';
import { PROJECT_ROOT } from '../lib/tools.js';
import type { Sql } from '../db/sql.js';
import { createTestDatabase, type TestDatabase } from './harness/db.js';

let first: TestDatabase;
let second: TestDatabase;
let tmp: string;
const keyring = keyringOf({ id: 'generator-test', key: randomBytes(32) });
const storeIn = (name: string): ContentStore => createLocalContentStore({ dir: path.join(tmp, name), keyring });

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ccj-generator-'));
  // The same ids in both, so their rows can be compared as they are.
  const idOffset = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
  first = await createTestDatabase({ idOffset });
  second = await createTestDatabase({ idOffset });
});

after(async () => {
  // The first database's drop stops the embedded server (when this file started one): drop it last.
  await second?.drop();
  await first?.drop();
  await rm(tmp, { recursive: true, force: true });
});

async function bytesOf(store: ContentStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('completion statuses (seed 003)', () => {
  test('the completion_statuses table the migration fills is the table of lib/domain', async () => {
    const rows = await first.sql`select status, channels, rank, description from completion_statuses order by status`;
    const expected = [...COMPLETION_STATUSES].sort((a, b) => (a.status < b.status ? -1 : 1));
    assert.deepEqual(rows.map((r) => ({ ...r })), expected.map((r) => ({ ...r, channels: [...r.channels] })));
    const file = await readFile(path.join(PROJECT_ROOT, 'db', 'migrations', COMPLETION_STATUS_MIGRATION), 'utf8');
    assert.equal(file, renderCompletionStatusMigration(), 'regenerate with: npx tsx scripts/gen-status-migration.ts');
  });

  const ranks: [string, number][] = [
    ['DELIVEREDPERSON', 8], ['NOANSWER', 4], ['DELIVEREDMACHINE', 7], ['BUSY', 4], ['INBOUND_IVR_COMPLETED', 9],
    ['BLOCKED', 1], ['NOTCONNECTED', 3], ['TMS_ERROR_PROVIDER', 3], ['TMS_ERROR_MEDIASERVER', 3], ['EMAIL_FILTERED', 1],
    ['BOUNCEDEMAIL_BAD_DOMAIN', 8], ['SENTEMAIL', 7], ['WIRELESS', 1], ['TEXT_MSG_SENT', 8],
  ];
  for (const [status, rank] of ranks) {
    test(`${status} has rank ${rank}`, () => assert.equal(rankOf(status), rank));
  }

  test('garbled seed rows are repaired: email-only rows are Email, the unnamed row is EMAIL_FILTERED', () => {
    const channels = (s: string) => COMPLETION_STATUSES.find((r) => r.status === s)?.channels;
    for (const s of ['BOUNCEDEMAIL_BAD_DOMAIN', 'OPENEDEMAIL', 'SENTEMAIL', 'FAILEDEMAIL', 'EMAIL_FILTERED']) assert.deepEqual(channels(s), ['Email']);
    assert.equal(new Set(COMPLETION_STATUSES.map((r) => r.status)).size, COMPLETION_STATUSES.length);
    assert.ok(COMPLETION_STATUSES.every((r) => /^[A-Z0-9_]+$/.test(r.status) && r.description.length > 10));
    assert.ok(isCompletionStatus('WIRELESS') && !isCompletionStatus('DC_SUCCESS'));
    assert.throws(() => rankOf('NOPE'), /Unknown completion status "NOPE"/);
  });
});

describe('WAV files', () => {
  test('a generated WAV is RIFF/WAVE, PCM 8 kHz 16-bit mono, and its data length matches', () => {
    const wav = makeWav({ seed: 3, durationMs: 750 });
    const info = parseWav(wav);
    assert.deepEqual(
      { format: info.audioFormat, channels: info.channels, rate: info.sampleRate, bits: info.bitsPerSample, data: info.dataBytes },
      { format: 1, channels: 1, rate: 8000, bits: 16, data: 6000 * 2 },
    );
    assert.equal(wav.length, 44 + 12000);
    assert.ok(wav.subarray(44).some((b) => b !== 0), 'the recording is not silence');
  });

  test('the same seed gives the same bytes, another seed other bytes', () => {
    assert.ok(makeWav({ seed: 5, durationMs: 400 }).equals(makeWav({ seed: 5, durationMs: 400 })));
    assert.ok(!makeWav({ seed: 5, durationMs: 400 }).equals(makeWav({ seed: 6, durationMs: 400 })));
  });
});

const small: GenerateOptions = {
  seed: 20240611, campaigns: 2, contactsPerCampaign: 300, attemptsPerContact: 3, interactionsPerCampaign: 14,
  from: new Date('2024-06-01T00:00:00Z'), to: new Date('2024-06-08T00:00:00Z'),
};

/** One md5 per table over its rows in id order; store keys are the store's own random names, so left out. */
async function tableHashes(sql: Sql): Promise<Record<string, string>> {
  const [row] = await sql`
    select
      (select md5(string_agg(t::text, '|' order by t.id)) from campaigns t) as campaigns,
      (select md5(string_agg(t::text, '|' order by t.id)) from calling_lists t) as calling_lists,
      (select md5(string_agg(t::text, '|' order by t.id)) from contacts t) as contacts,
      (select md5(string_agg(t::text, '|' order by t.id)) from contact_phones t) as contact_phones,
      (select md5(string_agg(t::text, '|' order by t.id)) from call_attempts t) as call_attempts,
      (select md5(string_agg(t::text, '|' order by t.id)) from interactions t) as interactions,
      (select md5(string_agg(t::text, '|' order by t.interaction_id, t.n)) from interaction_segments t) as segments,
      (select md5(string_agg(concat_ws(',', id, interaction_id, kind, segment, size_bytes, sha256, completed_at, created_at), '|' order by id))
         from interaction_content) as content`;
  return { ...row };
}

describe('generate', () => {
  let summary: Awaited<ReturnType<typeof generate>>;
  const store1 = () => storeIn('one');

  before(async () => {
    summary = await generate(first.sql, store1(), small);
  });

  test('the same seed twice into two databases gives identical rows and identical WAV checksums', async () => {
    const again = await generate(second.sql, storeIn('two'), small);
    assert.deepEqual(again, summary);
    const [a, b] = [await tableHashes(first.sql), await tableHashes(second.sql)];
    assert.ok(Object.values(a).every((h) => h !== null), 'every table got rows');
    assert.deepEqual(b, a);
    const wavSums = (sql: Sql) => sql`select sha256 from interaction_content where kind = 'voice-recording' order by id`.then((r) => r.map((x) => x.sha256));
    const sums = await wavSums(first.sql);
    assert.ok(sums.length > 10);
    assert.deepEqual(await wavSums(second.sql), sums);
  });

  test('the summary counts what is in the database', async () => {
    const [c] = await first.sql`select
      (select count(*)::int from contacts) as contacts, (select count(*)::int from contact_phones) as phones,
      (select count(*)::int from call_attempts) as attempts, (select count(*)::int from interactions) as interactions,
      (select count(*)::int from interaction_segments) as segments, (select count(*)::int from interaction_content) as content`;
    assert.deepEqual({ ...c }, {
      contacts: 600, phones: summary.phones, attempts: 1800, interactions: 28, segments: summary.segments, content: summary.contentItems,
    });
    assert.equal(summary.campaignIds.length, 2);
  });

  test('the dataset is consistent: known statuses, every contact has a phone, attempts inside the range', async () => {
    const [r] = await first.sql`select
      (select count(*)::int from call_attempts a where not exists (select 1 from completion_statuses s where s.status = a.status)) as unknown_status,
      (select count(*)::int from contacts c where not exists (select 1 from contact_phones p where p.contact_id = c.id)) as no_phone,
      (select count(*)::int from call_attempts a left join contacts c on c.id = a.contact_id
         where c.id is null or c.client_id <> a.client_id or c.campaign_id <> a.campaign_id) as orphan_attempts,
      (select count(*)::int from call_attempts where started_at < ${small.from} or completed_at > ${small.to} or completed_at < started_at) as out_of_range,
      (select count(distinct status)::int from call_attempts) as statuses,
      (select count(*)::int from interactions i
         where cardinality(i.agents) <> (select count(*) from interaction_segments s where s.interaction_id = i.id)) as segment_mismatch,
      (select count(*)::int from interactions i where i.channel = 'voice' and (
         not exists (select 1 from interaction_content c where c.interaction_id = i.id and c.kind = 'voice-recording'
                     and c.segment is null and c.completed_at = i.ended_at)
         or cardinality(i.agents) <> (select count(*) from interaction_content c join interaction_segments s
               on s.interaction_id = c.interaction_id and s.n = c.segment and s.ended_at = c.completed_at
             where c.interaction_id = i.id and c.kind = 'voice-recording'))) as recording_mismatch`;
    assert.deepEqual({ ...r, statuses: r.statuses > 8 }, {
      unknown_status: 0, no_phone: 0, orphan_attempts: 0, out_of_range: 0, statuses: true, segment_mismatch: 0, recording_mismatch: 0,
    });
  });

  test('stored recordings decrypt to valid WAVs with the size and SHA-256 the database holds', async () => {
    const rows = await first.sql<{ store_key: string; size_bytes: string; sha256: string; kind: string }[]>`
      select store_key, size_bytes, sha256, kind from interaction_content order by id limit 12`;
    for (const row of rows) {
      const bytes = await bytesOf(store1(), row.store_key);
      assert.equal(bytes.length, Number(row.size_bytes));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), row.sha256);
      if (row.kind === 'voice-recording') parseWav(bytes);
    }
  });
});

describe('building blocks', () => {
  test('insertInteraction writes a call with its recording and one recording per agent segment', async () => {
    const store = storeIn('blocks');
    const campaignId = await createCampaign(first.sql, { name: `blocks-${randomBytes(3).toString('hex')}`, timezone: 'Europe/Berlin' });
    const call = await insertInteraction(first.sql, store, {
      campaignId, seed: 11, startedAt: new Date('2024-05-01T10:00:00Z'), endedAt: new Date('2024-05-01T10:05:00Z'),
      customerPhone: '+14155550123', agents: ['alice', 'bob'], disposition: 'Sale', voiceSignature: true, recordingMs: 2000,
      text: 'Agent: hello\n',
    });
    assert.equal(call.segmentRecordings.length, 2);
    assert.deepEqual(call.content.map((c) => [c.kind, c.segment]), [['voice-recording', null], ['voice-recording', 1], ['voice-recording', 2], ['voice-transcript', null]]);
    for (const item of call.content) {
      const bytes = item.bytes();
      assert.equal(createHash('sha256').update(bytes).digest('hex'), item.sha256);
      assert.ok((await bytesOf(store, item.storeKey)).equals(bytes));
    }
    const segmentData = call.segmentRecordings.reduce((n, s) => n + parseWav(s.bytes()).dataBytes, 0);
    assert.equal(segmentData, parseWav(call.recording!.bytes()).dataBytes, 'the segments are the pieces of the call');
    assert.equal(call.segmentRecordings[1].completedAt.toISOString(), '2024-05-01T10:05:00.000Z');
    const [row] = await first.sql`select agents, voice_signature, disposition from interactions where id = ${call.id}`;
    assert.deepEqual({ ...row }, { agents: ['alice', 'bob'], voice_signature: true, disposition: 'Sale' });
  });
});

describe('volume', () => {
  test('200k attempts stream in through COPY with memory that does not grow with the count', async () => {
    const startRss = process.memoryUsage.rss();
    let peakRss = startRss;
    const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()); }, 20);
    const started = performance.now();
    try {
      const summary = await generate(first.sql, null, {
        seed: 99, campaigns: 1, contactsPerCampaign: 50_000, attemptsPerContact: 4, interactionsPerCampaign: 0,
        from: new Date('2024-01-01T00:00:00Z'), to: new Date('2024-03-01T00:00:00Z'), withContent: false,
      });
      assert.equal(summary.attempts, 200_000);
      const [row] = await first.sql`select count(*)::int as n from call_attempts where campaign_id = ${summary.campaignIds[0]}`;
      assert.equal(row.n, 200_000);
    } finally {
      clearInterval(sampler);
    }
    const growthMb = (peakRss - startRss) / 2 ** 20;
    console.log(`# 200k attempts (50k contacts, ~100k phones) in ${Math.round(performance.now() - started)} ms, peak RSS growth ${growthMb.toFixed(1)} MB`);
    // Streaming keeps the growth at a few tens of MB (1 MB chunks, socket buffers); holding the rows would not.
    assert.ok(growthMb < 100, `RSS grew by ${growthMb.toFixed(1)} MB while generating; rows should stream, not accumulate`);
  });
});
