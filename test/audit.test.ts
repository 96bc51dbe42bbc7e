// The audit log against a real PostgreSQL: appends chain each entry to the one before (also when many
// append at once), the database refuses changes, and whatever a superuser alters, inserts or removes
// behind its back, verify names the first entry that no longer holds.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { appendAudit, appendAuditOnce, auditHead, canonicalJson, GENESIS_HASH, hashAuditEntry, verifyAuditChain } from '../lib/audit/index.js';
import { createTestDatabase, type TestDatabase } from './harness/db.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startApi, type Api } from './erasure-fixtures.js';

const databases: TestDatabase[] = [];
async function freshDatabase(): Promise<TestDatabase['sql']> {
  const db = await createTestDatabase();
  databases.push(db);
  return db.sql;
}

async function appendSome(sql: TestDatabase['sql'], n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    await appendAudit(sql, { actor: 'key:officer', action: 'erasure.requested', reason: `request ${i}`, scope: { campaignId: String(i), items: ['voice-recording'] }, counts: { 'voice-recording': i }, runId: `erasure/${i}/t` });
  }
}

/** What a superuser can do: switch the append-only triggers off, change rows, switch them on again. */
async function asSuperuser(sql: TestDatabase['sql'], change: (sql: TestDatabase['sql']) => Promise<unknown>): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`alter table audit_log disable trigger user`;
    await change(tx as unknown as TestDatabase['sql']);
    await tx`alter table audit_log enable trigger user`;
  });
}

after(async () => {
  for (const db of databases) await db.drop();
});

describe('appending', () => {
  test('each entry chains to the one before, and concurrent appends queue instead of forking the chain', async () => {
    const sql = await freshDatabase();
    await Promise.all(Array.from({ length: 25 }, (_, i) => appendAudit(sql, { actor: `key:k${i}`, action: 'test.append', scope: { i } })));
    const rows = await sql<{ seq: string; prev_hash: string; hash: string }[]>`select seq, prev_hash, hash from audit_log order by seq`;
    assert.deepEqual(rows.map((r) => Number(r.seq)), Array.from({ length: 25 }, (_, i) => i + 1));
    assert.equal(rows[0].prev_hash, GENESIS_HASH);
    for (let i = 1; i < rows.length; i++) assert.equal(rows[i].prev_hash, rows[i - 1].hash);
    assert.deepEqual(await verifyAuditChain(sql), { ok: true, entries: 25, headHash: rows[24].hash });
  });

  test('appending once per run and action is idempotent', async () => {
    const sql = await freshDatabase();
    const input = { actor: 'key:a', action: 'erasure.requested', runId: 'erasure/1/x', counts: { n: 1 } };
    const [a, b] = await Promise.all([appendAuditOnce(sql, input), appendAuditOnce(sql, input)]);
    assert.equal(a.seq, b.seq);
    const [{ n }] = await sql`select count(*)::int as n from audit_log`;
    assert.equal(n, 1);
  });

  test('the hash covers a canonical form: key order does not matter, content does', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } }), '{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}');
    const entry = { seq: 1, at: '2025-01-01T00:00:00.000Z', actor: 'a', action: 'x', reason: null, scope: { a: 1, b: 2 }, counts: {}, runId: null, prevHash: GENESIS_HASH };
    assert.equal(hashAuditEntry(entry), hashAuditEntry({ ...entry, scope: { b: 2, a: 1 } }));
    assert.notEqual(hashAuditEntry(entry), hashAuditEntry({ ...entry, reason: 'changed' }));
  });
});

describe('PostgreSQL refuses changes', () => {
  test('UPDATE, DELETE and TRUNCATE are refused, even for a superuser who keeps the triggers on', async () => {
    const sql = await freshDatabase();
    await appendSome(sql, 2);
    await assert.rejects(sql`update audit_log set reason = 'nothing to see' where seq = 1`, /append-only: UPDATE/);
    await assert.rejects(sql`delete from audit_log where seq = 2`, /append-only: DELETE/);
    await assert.rejects(sql`truncate audit_log`, /append-only: TRUNCATE/);
    assert.equal((await verifyAuditChain(sql)).ok, true);
  });

  test('an insert that does not continue the chain at its end is refused', async () => {
    const sql = await freshDatabase();
    await appendSome(sql, 2);
    const [tail] = await sql`select hash from audit_log where seq = 2`;
    const row = (seq: number, prev: string) => sql`
      insert into audit_log (seq, at, actor, action, scope, counts, prev_hash, hash)
      values (${seq}, now(), 'key:x', 'forged', '{}', '{}', ${prev}, ${'f'.repeat(64)})`;
    await assert.rejects(row(5, tail.hash), /does not continue the chain/);
    await assert.rejects(row(3, GENESIS_HASH), /does not continue the chain/);
  });
});

describe('verify catches what a superuser does behind the triggers', () => {
  test('a row altered with the trigger disabled is reported as the first bad entry', async () => {
    const sql = await freshDatabase();
    await appendSome(sql, 5);
    await asSuperuser(sql, (tx) => tx`update audit_log set reason = 'routine cleanup' where seq = 3`);
    const verdict = await verifyAuditChain(sql);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.ok === false && verdict.firstBadSeq, 3);
  });

  test('a row altered with its own hash recomputed breaks the link of the entry after it', async () => {
    const sql = await freshDatabase();
    await appendSome(sql, 5);
    const [row] = await sql`select * from audit_log where seq = 2`;
    const forged = { seq: 2, at: row.at.toISOString(), actor: row.actor, action: row.action, reason: 'forged', scope: row.scope, counts: row.counts, runId: row.run_id, prevHash: row.prev_hash };
    await asSuperuser(sql, (tx) => tx`update audit_log set reason = 'forged', hash = ${hashAuditEntry(forged)} where seq = 2`);
    const verdict = await verifyAuditChain(sql);
    assert.deepEqual(verdict.ok === false && [verdict.firstBadSeq, /prev_hash/.test(verdict.problem)], [3, true]);
  });

  test('a row inserted at the end with a made-up hash is caught, though it passes the insert trigger', async () => {
    const sql = await freshDatabase();
    await appendSome(sql, 3);
    const [tail] = await sql`select hash from audit_log where seq = 3`;
    await sql`
      insert into audit_log (seq, at, actor, action, scope, counts, prev_hash, hash)
      values (4, now(), 'key:intruder', 'erasure.completed', '{}', '{}', ${tail.hash}, ${'a'.repeat(64)})`;
    const verdict = await verifyAuditChain(sql);
    assert.equal(verdict.ok === false && verdict.firstBadSeq, 4);
  });

  test('a row removed or slipped in with the triggers disabled is caught where the sequence breaks', async () => {
    const removed = await freshDatabase();
    await appendSome(removed, 5);
    await asSuperuser(removed, (tx) => tx`delete from audit_log where seq = 2`);
    assert.equal(((await verifyAuditChain(removed)) as { firstBadSeq: number }).firstBadSeq, 3);

    const slipped = await freshDatabase();
    await appendSome(slipped, 3);
    await asSuperuser(slipped, (tx) => tx`
      insert into audit_log (seq, at, actor, action, scope, counts, prev_hash, hash)
      values (10, now(), 'key:intruder', 'erasure.completed', '{}', '{}', ${GENESIS_HASH}, ${'b'.repeat(64)})`);
    assert.equal(((await verifyAuditChain(slipped)) as { firstBadSeq: number }).firstBadSeq, 10);
  });
});

describe('GET /audit-log/verify', () => {
  let env: TestEnv;
  let api: Api;
  before(async () => {
    env = await createTestEnv();
    api = await startApi(env);
  });
  after(async () => {
    await api?.close();
    await env?.stop();
  });

  test('answers ok with the number of entries, then the first bad seq once an entry is tampered with', async () => {
    await appendSome(env.sql, 4);
    const clean = await api.call('GET', '/audit-log/verify');
    assert.equal(clean.status, 200);
    assert.equal(clean.json.ok, true);
    assert.equal(clean.json.entries, 4);
    const page = await api.call('GET', '/audit-log?limit=3');
    assert.equal(page.json.items.length, 3);
    const rest = await api.call('GET', `/audit-log?limit=3&cursor=${page.json.nextCursor}`);
    assert.deepEqual(rest.json.items.map((e: { seq: number }) => e.seq), [4]);
    assert.equal(rest.json.nextCursor, null);
    await asSuperuser(env.sql, (tx) => tx`update audit_log set counts = '{"voice-recording": 1}' where seq = 2`);
    const tampered = await api.call('GET', '/audit-log/verify');
    assert.equal(tampered.status, 200);
    assert.equal(tampered.json.ok, false);
    assert.equal(tampered.json.firstBadSeq, 2);
    assert.equal((await api.call('GET', '/audit-log/verify', { key: await api.newKey('operator', true) })).status, 403);
  });

  test('GET /audit-log/head gives seq, hash and time; verify?expectHead= holds while that hash stays at that seq', async () => {
    const head = await api.call('GET', '/audit-log/head');
    assert.equal(head.status, 200);
    const [last] = await env.sql`select seq, hash, at from audit_log order by seq desc limit 1`;
    assert.deepEqual(head.json, { seq: Number(last.seq), hash: last.hash, at: last.at.toISOString() });
    const expect = (q: string) => api.call('GET', `/audit-log/verify?${q}`);
    // The chain of this database was tampered with at seq 2 by the test above: verify names that first.
    assert.equal((await expect(`expectHead=${head.json.hash}&expectSeq=${head.json.seq}`)).json.firstBadSeq, 2);
    await asSuperuser(env.sql, (tx) => tx`update audit_log set counts = '{"voice-recording": 2}' where seq = 2`); // put back
    assert.deepEqual((await expect(`expectHead=${head.json.hash}&expectSeq=${head.json.seq}`)).json.ok, true);
    const elsewhere = await expect(`expectHead=${'e'.repeat(64)}&expectSeq=${head.json.seq}`);
    assert.deepEqual([elsewhere.json.ok, elsewhere.json.firstBadSeq], [false, head.json.seq]);
    assert.equal((await expect('expectHead=not-a-hash')).status, 400);
    assert.equal((await expect('expectSeq=3')).status, 400);
    assert.equal((await api.call('GET', '/audit-log/head', { key: await api.newKey('operator', true) })).status, 403);
  });
});

describe('the chain head recorded outside the database', () => {
  test('verify with a recorded head catches a tail rewritten consistently, and tail entries removed', async () => {
    const sql = await freshDatabase();
    assert.deepEqual(await auditHead(sql), { seq: 0, hash: GENESIS_HASH, at: null });
    await appendSome(sql, 4);
    const head = await auditHead(sql);
    const [tail] = await sql`select hash, at from audit_log where seq = 4`;
    assert.deepEqual(head, { seq: 4, hash: tail.hash, at: tail.at.toISOString() });
    await appendAudit(sql, { actor: 'key:officer', action: 'erasure.completed', runId: 'erasure/4/t' });
    assert.equal((await verifyAuditChain(sql, { hash: head.hash, seq: head.seq })).ok, true, 'appending keeps an older head in the chain');

    // A superuser rewrites entries 3.. and recomputes every hash after them: the walk alone passes.
    await asSuperuser(sql, async (tx) => {
      const rows = await tx`select * from audit_log where seq >= 3 order by seq`;
      let [{ hash: prevHash }] = await tx`select hash from audit_log where seq = 2`;
      for (const row of rows) {
        const content = { seq: Number(row.seq), at: row.at.toISOString(), actor: row.actor, action: row.action, reason: 'rewritten', scope: row.scope, counts: row.counts, runId: row.run_id, prevHash };
        const hash = hashAuditEntry(content);
        await tx`update audit_log set reason = 'rewritten', prev_hash = ${prevHash}, hash = ${hash} where seq = ${row.seq}`;
        prevHash = hash;
      }
    });
    assert.equal((await verifyAuditChain(sql)).ok, true, 'a consistent rewrite passes the walk');
    const withSeq = await verifyAuditChain(sql, { hash: head.hash, seq: head.seq });
    assert.deepEqual(withSeq.ok === false && withSeq.firstBadSeq, 4);
    const hashOnly = await verifyAuditChain(sql, { hash: head.hash });
    assert.deepEqual(hashOnly.ok === false && hashOnly.firstBadSeq, null);

    const shortened = await freshDatabase();
    await appendSome(shortened, 3);
    const before = await auditHead(shortened);
    await asSuperuser(shortened, (tx) => tx`delete from audit_log where seq = 3`);
    const cut = await verifyAuditChain(shortened, { hash: before.hash, seq: before.seq });
    assert.deepEqual(cut.ok === false && [cut.firstBadSeq, /removed/.test(cut.problem)], [3, true]);
  });
});
