// Job 4 through the API against a real PostgreSQL, Temporal and the local content store: who may erase,
// the preview/confirm handshake, erasing exactly what was previewed (and nothing of other campaigns,
// days or kinds), the audit entries, and cancelling between batches.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { createActivities } from '../activities/index.js';
import type { EraseBatchInput } from '../contracts/erasure.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { addInteraction, auditOf, contentOf, countByKind, newCampaign, startApi, type Api } from './erasure-fixtures.js';

let env: TestEnv;
let api: Api;
let eraser: string;
const slowPreviews = new Set<string>();

before(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  eraser = await api.newKey('operator', true);
  const real = createActivities(env.deps);
  await env.startWorker({
    activityOverrides: {
      // The cancel test needs batches slow enough to cancel between them.
      async eraseBatch(input: EraseBatchInput) {
        if (slowPreviews.has(input.previewId)) await sleep(300);
        return real.eraseBatch(input);
      },
    },
  });
});

after(async () => {
  await api?.close();
  await env?.stop();
});

const preview = (body: Record<string, unknown>, key = eraser) => api.call('POST', '/erasures/preview', { key, body });
const confirm = (previewId: string, key = eraser, extra: Record<string, unknown> = {}) =>
  api.call('POST', '/erasures', { key, body: { previewId, confirm: true, ...extra } });

describe('who may erase and what a request must say', () => {
  test('without the erase privilege preview and confirm are 403, whatever the role', async () => {
    const campaignId = await newCampaign(env);
    const operator = await api.newKey('operator', false);
    const viewerWithErase = await api.newKey('viewer', true);
    const body = { campaignId, items: ['voice-recording'], date: '2025-03-01', reason: 'test' };
    assert.equal((await preview(body, operator)).status, 403);
    assert.equal((await preview(body, viewerWithErase)).status, 403);
    assert.equal((await api.call('POST', '/erasures', { key: operator, body: { previewId: 'ep_x', confirm: true } })).status, 403);
    assert.equal((await preview(body, '')).status, 401);
    assert.equal(await count('erasure_previews'), 0);
  });

  test('a missing or blank reason is 400 and names the field; nothing is written', async () => {
    const campaignId = await newCampaign(env);
    for (const reason of [undefined, '', '   ']) {
      const res = await preview({ campaignId, items: ['voice-recording'], date: '2025-03-01', reason });
      assert.equal(res.status, 400);
      assert.ok(res.json.errors.some((e: { path: string }) => e.path === 'reason'), JSON.stringify(res.json));
    }
    const bad = [
      { campaignId, items: [], date: '2025-03-01', reason: 'r' },
      { campaignId, items: ['voice-recording'], reason: 'r' },
      { campaignId, items: ['voice-recording'], date: '2025-03-01', from: '2025-03-01', to: '2025-03-02', reason: 'r' },
      { campaignId, items: ['voice-recording'], from: '2025-03-03', to: '2025-03-02', reason: 'r' },
      { campaignId, items: ['fax'], date: '2025-03-01', reason: 'r' },
      { campaignId: '999999', items: ['voice-recording'], date: '2025-03-01', reason: 'r' },
    ];
    for (const body of bad) assert.equal((await preview(body)).status, 400, JSON.stringify(body));
    const other = await newCampaign(env);
    const foreign = await addInteraction(env, other, 'chat', '2025-03-01T12:00:00-05:00');
    assert.equal((await preview({ campaignId, items: ['chat-transcript'], interactionIds: [foreign.id], reason: 'r' })).status, 400);
    assert.equal(await count('erasure_previews'), 0);
    assert.equal((await api.call('POST', '/erasures', { key: eraser, body: { previewId: 'ep_x', confirm: false } })).status, 400);
  });
});

describe('previews are confirmed once, in time, by whoever made them, while they still match', () => {
  test('an unknown, expired, foreign, outdated or already confirmed preview is refused', async () => {
    const campaignId = await newCampaign(env);
    await addInteraction(env, campaignId, 'chat', '2025-03-01T12:00:00-05:00');
    const body = { campaignId, items: ['chat-transcript'], date: '2025-03-01', reason: 'customer request 17' };

    assert.equal((await confirm('ep_doesnotexist')).status, 404);

    const expired = await preview(body);
    await env.sql`update erasure_previews set expires_at = now() - interval '1 second' where id = ${expired.json.previewId}`;
    assert.equal((await confirm(expired.json.previewId)).status, 422);

    const foreign = await preview(body);
    assert.equal((await confirm(foreign.json.previewId, await api.newKey('operator', true))).status, 403);

    const outdated = await preview(body);
    await addInteraction(env, campaignId, 'chat', '2025-03-01T13:00:00-05:00');
    const drift = await confirm(outdated.json.previewId);
    assert.equal(drift.status, 409);
    assert.equal(drift.json.added, 1);

    assert.equal(await env.sql`select 1 from erasure_previews where run_id is not null`.then((r) => r.length), 0, 'no refused preview started a run');
    const fresh = await preview(body);
    assert.equal(fresh.json.counts['chat-transcript'], 2);
    const started = await confirm(fresh.json.previewId);
    assert.equal(started.status, 202);
    const again = await confirm(fresh.json.previewId);
    assert.equal(again.status, 409);
    assert.equal(again.json.runId, started.json.runId);
    await env.client.workflow.getHandle(started.json.runId).result();
  });

  test('a preview is refused when items were erased meanwhile as well as when items were added, counting both', async () => {
    const campaignId = await newCampaign(env);
    await addInteraction(env, campaignId, 'chat', '2025-03-02T10:00:00-05:00');
    await addInteraction(env, campaignId, 'chat', '2025-03-02T11:00:00-05:00');
    const previewed = await preview({ campaignId, items: ['chat-transcript'], date: '2025-03-02', reason: 'drift both ways' });
    assert.equal(previewed.json.items, 2);
    await env.sql`
      update interaction_content set erased_at = now(), store_key = null
      where id = (select min(content_id) from erasure_preview_items where preview_id = ${previewed.json.previewId})`;
    await addInteraction(env, campaignId, 'chat', '2025-03-02T12:00:00-05:00');
    const refused = await confirm(previewed.json.previewId);
    assert.equal(refused.status, 409);
    assert.deepEqual({ added: refused.json.added, gone: refused.json.gone }, { added: 1, gone: 1 });
  });
});

describe('erasing a day of a campaign', () => {
  test('erases exactly what the preview counted, everywhere, and keeps metadata, other days, campaigns and kinds', async () => {
    const campaignId = await newCampaign(env, 'America/New_York');
    const otherCampaign = await newCampaign(env, 'America/New_York');
    // 2025-03-01 in New York: from 05:00Z that day to 05:00Z the next.
    const earlyCall = await addInteraction(env, campaignId, 'voice', '2025-03-01T00:30:00-05:00');
    const lateChat = await addInteraction(env, campaignId, 'chat', '2025-03-01T23:30:00-05:00');
    const email = await addInteraction(env, campaignId, 'email', '2025-03-01T12:00:00-05:00');
    const dayBefore = await addInteraction(env, campaignId, 'voice', '2025-02-28T23:50:00-05:00'); // already 1 March in UTC
    const dayAfter = await addInteraction(env, campaignId, 'chat', '2025-03-02T00:10:00-05:00');
    const elsewhere = await addInteraction(env, otherCampaign, 'voice', '2025-03-01T12:00:00-05:00');
    const metadataBefore = await env.sql`select * from interactions where campaign_id in (${campaignId}, ${otherCampaign}) order by id`;
    const contentBefore = [...await contentOf(env, campaignId), ...await contentOf(env, otherCampaign)];

    const items = ['voice-recording', 'chat-transcript', 'screen-recording'];
    const previewed = await preview({ campaignId, items, date: '2025-03-01', reason: 'GDPR request #4711' });
    assert.equal(previewed.status, 200, JSON.stringify(previewed.json));
    assert.deepEqual(previewed.json.counts, { 'voice-recording': 3, 'chat-transcript': 1, 'screen-recording': 1 });
    assert.equal(previewed.json.interactions, 2);
    assert.equal(previewed.json.items, 5);
    assert.ok(Date.parse(previewed.json.expiresAt) > Date.now());

    const started = await confirm(previewed.json.previewId, eraser, { batchSize: 2 });
    assert.equal(started.status, 202);
    const runId: string = started.json.runId;
    assert.match(runId, new RegExp(`^erasure/${campaignId}/\\d{4}-`));
    const result = await env.client.workflow.getHandle(runId).result();
    assert.equal(result.verified, true);
    assert.deepEqual(result.counts, { 'voice-recording': 3, 'chat-transcript': 1, 'screen-recording': 1, interactions: 2, bytes: result.counts.bytes });

    const contentAfter = new Map([...await contentOf(env, campaignId), ...await contentOf(env, otherCampaign)].map((c) => [c.id, c]));
    const targeted = new Set([earlyCall.id, lateChat.id]);
    const erased = contentBefore.filter((c) => targeted.has(c.interaction_id) && items.includes(c.kind));
    assert.deepEqual(countByKind(erased), previewed.json.counts);
    for (const before of contentBefore) {
      const now = contentAfter.get(before.id)!;
      if (erased.includes(before)) {
        assert.equal(await env.deps.store.exists(before.store_key!), false, `object of content ${before.id} is gone`);
        assert.deepEqual([now.store_key, now.sha256, now.exported_to], [null, null, null]);
        assert.ok(now.erased_at);
        assert.equal(now.erased_run, runId);
        assert.match(now.erased_by!, /^key:operator-/);
      } else {
        assert.equal(now.store_key, before.store_key, `content ${before.id} (${before.kind}) untouched`);
        assert.equal(now.erased_at, null);
        assert.equal(await env.deps.store.exists(before.store_key!), true);
      }
    }
    assert.ok(contentBefore.some((c) => c.interaction_id === earlyCall.id && c.kind === 'voice-transcript'), 'other kinds of the same call exist and were kept');
    for (const untouched of [email, dayBefore, dayAfter, elsewhere]) assert.ok(!targeted.has(untouched.id));
    assert.deepEqual(await env.sql`select * from interactions where campaign_id in (${campaignId}, ${otherCampaign}) order by id`, metadataBefore);

    const view = await api.call('GET', `/interactions/${earlyCall.id}`);
    assert.equal(view.json.content['voice-recording'].present, false);
    assert.ok(view.json.content['voice-recording'].erasedAt);
    assert.equal(view.json.content['voice-transcript'].present, true);
    assert.equal(view.json.customerPhone, '+15551230000');

    const audit = await auditOf(env, runId);
    assert.deepEqual(audit.map((a) => a.action), ['erasure.requested', 'erasure.completed']);
    for (const entry of audit) {
      assert.match(entry.actor, /^key:operator-/);
      assert.equal(entry.reason, 'GDPR request #4711');
      assert.equal(entry.scope.campaignId, campaignId);
      assert.equal(entry.scope.date, '2025-03-01');
      assert.equal(entry.scope.timezone, 'America/New_York');
      assert.deepEqual(entry.scope.items, items);
      assert.equal(entry.scope.previewId, previewed.json.previewId);
    }
    assert.deepEqual(audit[0].counts, { ...previewed.json.counts, items: 5, interactions: 2, bytes: previewed.json.sizeBytes });
    assert.deepEqual(audit[1].counts, result.counts);
    assert.equal(result.counts.bytes, previewed.json.sizeBytes);

    const listed = await api.call('GET', `/audit-log?runId=${encodeURIComponent(runId)}`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json.items.map((e: { action: string }) => e.action), ['erasure.requested', 'erasure.completed']);
    assert.equal(listed.json.items[1].prevHash, listed.json.items[0].hash);
    const completedOnly = await api.call('GET', '/audit-log?action=erasure.completed');
    assert.ok(completedOnly.json.items.every((e: { action: string }) => e.action === 'erasure.completed'));
    assert.equal((await api.call('GET', '/audit-log', { key: eraser })).status, 403, 'the audit log is for admins');
    const verified = await api.call('GET', '/audit-log/verify');
    assert.equal(verified.json.ok, true, JSON.stringify(verified.json));

    const run = await api.call('GET', `/runs/${encodeURIComponent(runId)}`);
    assert.equal(run.json.status, 'completed');
    assert.equal(run.json.type, 'erasure');
    assert.deepEqual(run.json.progress, { done: 5, total: 5, percent: 100 });
  });

  test('retrying a batch erases nothing twice', async () => {
    const campaignId = await newCampaign(env);
    await addInteraction(env, campaignId, 'voice', '2025-04-01T10:00:00-04:00');
    const previewed = await preview({ campaignId, items: ['voice-recording'], date: '2025-04-01', reason: 'retry test' });
    const runId = 'erasure/test/direct-retry';
    await env.sql`update erasure_previews set run_id = ${runId} where id = ${previewed.json.previewId}`;
    const activities = createActivities(env.deps);
    const input = { runId, previewId: previewed.json.previewId, actor: 'key:test', afterContentId: '0', limit: 10 };
    const first = await activities.eraseBatch(input);
    const second = await activities.eraseBatch(input);
    assert.equal(first.erased, 3);
    assert.equal(second.erased, 0);
    assert.equal(second.processed, 3);
    assert.deepEqual(await activities.countErased({ runId }), { 'voice-recording': 3, interactions: 1, bytes: previewed.json.sizeBytes });
    await activities.verifyErasure({ runId, previewId: previewed.json.previewId, requireAll: true });
  });
});

describe('a long erasure', () => {
  test('continues as new between batches and still ends with one request and one end entry', async () => {
    const campaignId = await newCampaign(env);
    for (let i = 0; i < 3; i++) await addInteraction(env, campaignId, 'voice', `2025-08-01T1${i}:00:00-04:00`);
    const previewed = await preview({ campaignId, items: ['voice-recording'], date: '2025-08-01', reason: 'long run' });
    const runId = `erasure/${campaignId}/continue-as-new`;
    await env.sql`update erasure_previews set run_id = ${runId} where id = ${previewed.json.previewId}`;
    const handle = await env.client.workflow.start('erasure', {
      workflowId: runId, taskQueue: env.taskQueue,
      args: [{
        previewId: previewed.json.previewId, actor: 'key:test', reason: 'long run', campaignName: 'c', batchSize: 2, batchesPerExecution: 2,
        scope: { previewId: previewed.json.previewId, campaignId, timezone: 'America/New_York', items: ['voice-recording'], date: '2025-08-01' },
        preview: { ...previewed.json.counts, items: 9, interactions: 3, bytes: previewed.json.sizeBytes },
      }],
    });
    const result = await handle.result();
    assert.equal(result.counts['voice-recording'], 9);
    assert.notEqual((await handle.describe()).runId, handle.firstExecutionRunId, 'continued as new');
    assert.deepEqual((await auditOf(env, runId)).map((a) => a.action), ['erasure.requested', 'erasure.completed']);
    const [run] = await env.sql`select status, progress_done from runs where run_id = ${runId}`;
    assert.deepEqual({ ...run }, { status: 'completed', progress_done: '9' });
  });
});

describe('cancelling an erasure', () => {
  test('stops between batches; the audit says exactly what was erased and the rest is kept', async () => {
    const campaignId = await newCampaign(env);
    for (let i = 0; i < 4; i++) await addInteraction(env, campaignId, 'voice', `2025-05-01T1${i}:00:00-04:00`);
    const previewed = await preview({ campaignId, items: ['voice-recording', 'voice-transcript'], date: '2025-05-01', reason: 'cancel test' });
    assert.equal(previewed.json.items, 16);
    slowPreviews.add(previewed.json.previewId);
    const started = await confirm(previewed.json.previewId, eraser, { batchSize: 1 });
    const runId: string = started.json.runId;
    await waitFor(async () => {
      const [row] = await env.sql`select progress_done from runs where run_id = ${runId}`;
      return Number(row?.progress_done ?? 0) >= 2;
    });
    assert.equal((await api.call('POST', `/runs/${encodeURIComponent(runId)}/cancel`)).status, 202);
    await assert.rejects(env.client.workflow.getHandle(runId).result(), (err: unknown) => err instanceof WorkflowFailedError);
    const describe = await env.client.workflow.getHandle(runId).describe();
    assert.equal(describe.status.name, 'CANCELLED');

    const content = await contentOf(env, campaignId);
    const erased = content.filter((c) => c.erased_run === runId);
    assert.ok(erased.length >= 2 && erased.length < 16, `erased ${erased.length} of 16 before stopping`);
    for (const c of content.filter((x) => x.erased_run !== runId)) assert.equal(await env.deps.store.exists(c.store_key!), true);

    const audit = await auditOf(env, runId);
    assert.deepEqual(audit.map((a) => a.action), ['erasure.requested', 'erasure.cancelled']);
    const { interactions, bytes, ...perKind } = audit[1].counts;
    assert.deepEqual(perKind, countByKind(erased));
    assert.equal(interactions, new Set(erased.map((c) => c.interaction_id)).size);
    assert.ok(bytes > 0);
    const [run] = await env.sql`select status from runs where run_id = ${runId}`;
    assert.equal(run.status, 'cancelled');
    assert.equal((await api.call('GET', '/audit-log/verify')).json.ok, true);
  });
});

async function count(table: 'erasure_previews'): Promise<number> {
  const [row] = await env.sql`select count(*)::int as n from ${env.sql(table)}`;
  return row.n;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(50);
  }
}
