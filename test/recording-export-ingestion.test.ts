// Job 1 when the world moves under a run: recordings that arrive late (an upload finishing after a later call's,
// a transaction committing late), manifests of runs in the same second, a recording replaced while a batch
// holds its old content key, and a destination changed mid-run.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Sql } from '../db/sql.js';
import type { ContentStore } from '../lib/content-store/types.js';
import { insertInteractions, makeWav } from '../lib/generator/index.js';
import { openTransfer, type DestinationSettings } from '../lib/transfer/index.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import {
  createDestination, createJob, filesUnder, newCampaign, readAll, readManifest, runExport, seedCalls,
} from './recording-export-helpers.js';

let env: TestEnv;
let fileRoot: string;
let onContentRead: ((key: string) => void | Promise<void>) | undefined;

before(async () => {
  env = await createTestEnv();
  fileRoot = await mkdtemp(path.join(env.dataDir, 'dest-'));
  const store: ContentStore = { ...env.deps.store, get: async (key) => { await onContentRead?.(key); return env.deps.store.get(key); } };
  await env.startWorker({ deps: { store } });
});

after(async () => {
  await env?.stop();
});

async function fileDestination(name: string) {
  const root = path.join(fileRoot, name);
  const settings: DestinationSettings = { protocol: 'file', path: root };
  return { id: await createDestination(env.sql, env.deps.keyring, settings), root, transfer: openTransfer(settings) };
}

/** Calls without recordings yet: each ended `endedMinutesAgo[i]` minutes ago. */
async function callsEnded(campaignId: string, endedMinutesAgo: number[]) {
  return insertInteractions(env.sql, null, endedMinutesAgo.map((ago, i) => {
    const endedAt = new Date(Date.now() - ago * 60_000);
    return { campaignId, seed: 9000 + i, startedAt: new Date(endedAt.getTime() - 60_000), endedAt, customerPhone: '+15550100000', agents: ['alice'], disposition: 'Sale' };
  }), { withContent: false });
}

/** What PUT /interactions/{id}/recording does once the upload is stored: the row, completed at the call's end. */
async function uploadRecording(sql: Sql, interactionId: string, seed: number): Promise<string> {
  const object = await env.deps.store.put(Readable.from([makeWav({ seed, durationMs: 300 })]));
  const [row] = await sql<{ id: string }[]>`
    insert into interaction_content (interaction_id, kind, segment, store_key, size_bytes, sha256, completed_at)
    select id, 'voice-recording', null, ${object.key}, ${object.sizeBytes}, ${object.sha256}, ended_at from interactions where id = ${interactionId}
    returning id`;
  return String(row.id);
}

async function exportedIds(jobId: string): Promise<string[]> {
  const rows = await env.sql<{ content_id: string }[]>`select content_id from recording_exports where job_id = ${jobId} and result = 'exported' order by content_id`;
  return rows.map((r) => String(r.content_id));
}

describe('recordings that arrive late', () => {
  it('a recording uploaded after a later-ending call was exported is exported by the next run', async () => {
    const campaign = await newCampaign(env.sql);
    const [a, b] = await callsEnded(campaign.id, [10, 5]);
    const dest = await fileDestination('late-upload');
    const jobId = await createJob(env.sql, campaign.id, { destinationId: dest.id });

    const recordingB = await uploadRecording(env.sql, b.id, 1);
    const first = await runExport(env, { definitionId: jobId });
    assert.equal(first.result.exported, 1);

    const recordingA = await uploadRecording(env.sql, a.id, 2);
    const second = await runExport(env, { definitionId: jobId });
    assert.equal(second.result.exported, 1, 'A ended before B but arrived after it: it is exported now');
    assert.deepEqual(await exportedIds(jobId), [recordingB, recordingA].sort());
    assert.deepEqual((await readManifest(dest.transfer, second.result.manifest!)).map((r) => r.recording_id), [recordingA]);

    const third = await runExport(env, { definitionId: jobId });
    assert.equal(third.result.exported, 0, 'never exported twice by the same job');
    assert.equal((await filesUnder(dest.root)).filter((f) => f.endsWith('.wav')).length, 2);
    await dest.transfer.close();
  });

  it('a recording written by a transaction still open while a run selects is exported once it commits, never skipped', async () => {
    const campaign = await newCampaign(env.sql);
    const [a, b] = await callsEnded(campaign.id, [10, 5]);
    const dest = await fileDestination('late-commit');
    const jobId = await createJob(env.sql, campaign.id, { destinationId: dest.id });

    // A's row is written (and its ingestion time taken) first, but its transaction commits last.
    let commitA!: () => void;
    let written!: () => void;
    const isWritten = new Promise<void>((resolve) => { written = resolve; });
    let recordingA = '';
    const writerA = env.sql.begin(async (tx) => {
      recordingA = await uploadRecording(tx as unknown as Sql, a.id, 3);
      written();
      await new Promise<void>((resolve) => { commitA = resolve; });
    });
    await isWritten;
    const recordingB = await uploadRecording(env.sql, b.id, 4);

    const during = await runExport(env, { definitionId: jobId });
    assert.ok(!(await exportedIds(jobId)).includes(recordingA), 'A is not visible yet');
    commitA();
    await writerA;
    const afterCommit = await runExport(env, { definitionId: jobId });
    assert.equal(during.result.exported + afterCommit.result.exported, 2);
    assert.deepEqual(await exportedIds(jobId), [recordingA, recordingB].sort(), 'A was not skipped');
    assert.equal((await runExport(env, { definitionId: jobId })).result.exported, 0);
    await dest.transfer.close();
  });
});

describe('manifests never replace each other', () => {
  it('two runs of one job and two jobs on one destination write a manifest each, named for the job and the run', async () => {
    const campaign = await newCampaign(env.sql);
    await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2025-07-01T12:00:00Z'), [{}, {}, {}]);
    const dest = await fileDestination('manifests');
    const jobA = await createJob(env.sql, campaign.id, { destinationId: dest.id, fileNameTemplate: 'a/${recordingId}.wav' });
    const jobB = await createJob(env.sql, campaign.id, { destinationId: dest.id, fileNameTemplate: 'b/${recordingId}.wav' });

    const [runA, runB] = await Promise.all([runExport(env, { definitionId: jobA }), runExport(env, { definitionId: jobB })]);
    const emptyA = await runExport(env, { definitionId: jobA });
    assert.equal(emptyA.result.exported, 0);
    const names = [runA.result.manifest, runB.result.manifest, emptyA.result.manifest];
    assert.equal(new Set(names).size, 3, `three distinct manifests: ${names.join(', ')}`);
    assert.match(runA.result.manifest!, new RegExp(`_job${jobA}_[0-9a-f]{12}\\.csv$`));
    assert.match(runB.result.manifest!, new RegExp(`_job${jobB}_[0-9a-f]{12}\\.csv$`));
    assert.equal((await readManifest(dest.transfer, runA.result.manifest!)).length, 3, "the first run's manifest is still whole");
    assert.equal((await readManifest(dest.transfer, runB.result.manifest!)).length, 3);
    assert.equal((await readManifest(dest.transfer, emptyA.result.manifest!)).length, 0);
    await dest.transfer.close();
  });

  it('under a manifest name without $(runId) (saved before the rule), an empty run uploads nothing instead of replacing the last manifest', async () => {
    const campaign = await newCampaign(env.sql);
    await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2025-07-02T12:00:00Z'), [{}, {}]);
    const dest = await fileDestination('legacy-manifest');
    const jobId = await createJob(env.sql, campaign.id, { destinationId: dest.id, manifestTemplate: 'details_$(currentDate).csv' });
    const full = await runExport(env, { definitionId: jobId });
    assert.equal(full.result.exported, 2);
    const empty = await runExport(env, { definitionId: jobId });
    assert.equal(empty.result.manifest, null);
    assert.equal((await readManifest(dest.transfer, full.result.manifest!)).length, 2);
    await dest.transfer.close();
  });
});

describe('a job whose world changes mid-run', () => {
  it('a recording replaced while a batch holds its old content key is exported with the new content, not recorded failed', async () => {
    const campaign = await newCampaign(env.sql);
    const [call] = await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2025-07-03T12:00:00Z'), [{}]);
    const dest = await fileDestination('replaced');
    const jobId = await createJob(env.sql, campaign.id, { destinationId: dest.id });
    const oldKey = call.recording!.storeKey;
    const replacement = makeWav({ seed: 77, durationMs: 500 });
    onContentRead = async (key) => {
      if (key !== oldKey) return;
      onContentRead = undefined;
      // What PUT …/recording does: a new object, the row pointed at it, the old object removed.
      const object = await env.deps.store.put(Readable.from([replacement]));
      await env.sql`update interaction_content set store_key = ${object.key}, size_bytes = ${object.sizeBytes}, sha256 = ${object.sha256} where id = ${call.recording!.id}`;
      await env.deps.store.remove(oldKey);
    };
    const { result } = await runExport(env, { definitionId: jobId });
    onContentRead = undefined;
    assert.deepEqual([result.exported, result.failed], [1, 0], result.errors.join());
    const [row] = await readManifest(dest.transfer, result.manifest!);
    assert.ok((await readAll(dest.transfer, row.file_path)).equals(replacement), 'the file has the new content');
    assert.equal((await runExport(env, { definitionId: jobId })).result.exported, 0, 'the replacement is not exported twice');
    await dest.transfer.close();
  });

  it('a destination changed mid-run: the run finishes where it started and its manifest lists only files that are there', async () => {
    const campaign = await newCampaign(env.sql);
    const calls = await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2025-07-04T12:00:00Z'), [{}, {}, {}]);
    const first = await fileDestination('switch-from');
    const second = await fileDestination('switch-to');
    const jobId = await createJob(env.sql, campaign.id, { destinationId: first.id, fileNameTemplate: 'r/${recordingId}.wav' });
    onContentRead = async (key) => {
      if (key !== calls[1].recording!.storeKey) return;
      onContentRead = undefined;
      await env.sql`update job_definitions set config = jsonb_set(config, '{destinationId}', ${env.sql.json(second.id)}) where id = ${jobId}`;
    };
    const { result } = await runExport(env, { definitionId: jobId, batchSize: 1 });
    onContentRead = undefined;
    assert.equal(result.exported, 3);
    const listed = (await readManifest(first.transfer, result.manifest!)).map((r) => r.file_path).sort();
    assert.deepEqual(listed, (await filesUnder(first.root)).filter((f) => f.endsWith('.wav')));
    assert.equal(listed.length, 3);
    assert.deepEqual(await filesUnder(second.root), [], 'nothing of this run went to the new destination');

    await seedCalls(env.sql, env.deps.store, campaign.id, new Date('2025-07-05T12:00:00Z'), [{}]);
    const next = await runExport(env, { definitionId: jobId });
    assert.equal(next.result.exported, 1);
    assert.equal((await readManifest(second.transfer, next.result.manifest!)).length, 1, 'the next run uses the new destination');
    await Promise.all([first.transfer.close(), second.transfer.close()]);
  });
});
