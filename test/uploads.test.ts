// Uploads are not kept forever nor without bound: together they fit UPLOAD_QUOTA_MB (413 beyond it, nothing
// left stored), and each is removed, row and content, UPLOAD_RETENTION_DAYS after it arrived, unless an import
// that reads it is still scheduled or running.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { ConfigError, loadConfig } from '../lib/config.js';
import { stillHeld } from '../lib/content-store/index.js';
import { expireUploads, uploadLimits } from '../lib/uploads.js';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { newCampaign } from './recording-export-helpers.js';

const KB = 1024;
let env: TestEnv;
let api: Api;
let base: string;
let adminKey: string;

before(async () => {
  env = await createTestEnv({ env: { UPLOAD_QUOTA_MB: '1', UPLOAD_RETENTION_DAYS: '7' } });
  api = await startApi(env);
  ({ base, adminKey } = api);
});

after(async () => {
  await api?.close();
  await env?.stop();
});

async function upload(body: Buffer | Readable) {
  const res = await fetch(`${base}/uploads`, {
    method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'text/csv' },
    body: body instanceof Readable ? (Readable.toWeb(body) as ReadableStream) : body, ...(body instanceof Readable ? { duplex: 'half' } : {}),
  } as RequestInit);
  return { status: res.status, json: await res.json() as Record<string, string> };
}

async function storedUploads(): Promise<{ id: string; store_key: string }[]> {
  return env.sql<{ id: string; store_key: string }[]>`select id, store_key from uploads order by created_at`;
}


test('uploads beyond UPLOAD_QUOTA_MB are refused with 413 naming the quota, and leave nothing stored', async () => {
  await env.sql`delete from uploads`;
  const first = await upload(randomBytes(600 * KB));
  assert.equal(first.status, 201, JSON.stringify(first.json));

  const declared = await upload(randomBytes(600 * KB));
  assert.equal(declared.status, 413);
  assert.equal(declared.json.type, 'urn:cc-jobs:problem:upload-quota-exceeded');
  assert.match(declared.json.detail, /UPLOAD_QUOTA_MB=1 .*UPLOAD_RETENTION_DAYS=7/);

  // Chunked, with no Content-Length: stored while streaming, then refused and removed.
  const chunked = await upload(Readable.from([randomBytes(300 * KB), randomBytes(300 * KB)]));
  assert.equal(chunked.status, 413);
  const kept = await storedUploads();
  assert.deepEqual(kept.map((u) => u.id), [first.json.uploadId]);
  const [{ n }] = await env.sql<{ n: number }[]>`select count(*)::int as n from uploads`;
  assert.equal(n, 1);

  assert.equal((await upload(randomBytes(300 * KB))).status, 201, 'what still fits is accepted');
});

test('an upload older than UPLOAD_RETENTION_DAYS is removed with its content; newer ones and those an open import reads stay', async () => {
  await env.sql`delete from uploads`;
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await upload(Buffer.from(`client_id,name\n${i},N${i}\n`));
    assert.equal(res.status, 201);
    ids.push(res.json.uploadId);
  }
  const [old, fresh, inUse] = ids;
  await env.sql`update uploads set created_at = now() - interval '8 days' where id in ${env.sql([old, inUse])}`;
  const campaign = await newCampaign(env.sql);
  const runId = `list-import/${campaign.id}/${randomBytes(3).toString('hex')}`;
  await env.sql`insert into runs (run_id, type, name, status) values (${runId}, 'list-import', 'import', 'scheduled')`;
  await env.sql`
    insert into list_imports (run_id, campaign_id, source, options)
    values (${runId}, ${campaign.id}, ${env.sql.json({ uploadId: inUse })}, ${env.sql.json({})})`;
  const keys = Object.fromEntries((await storedUploads()).map((u) => [u.id, u.store_key]));

  const removed = await expireUploads(env.sql, env.deps.store, uploadLimits(env.config));
  assert.deepEqual(removed, [old]);
  assert.deepEqual((await storedUploads()).map((u) => u.id).sort(), [fresh, inUse].sort());
  assert.deepEqual(await stillHeld(env.deps.store, [keys[old]]), [], 'the expired upload\'s content is still in the store');
  assert.deepEqual(await stillHeld(env.deps.store, [keys[fresh], keys[inUse]]).then((k) => k.sort()), [keys[fresh], keys[inUse]].sort());

  // Once the import has finished, its upload goes at the next sweep.
  await env.sql`update runs set status = 'completed' where run_id = ${runId}`;
  assert.deepEqual(await expireUploads(env.sql, env.deps.store, uploadLimits(env.config)), [inUse]);
  assert.deepEqual((await storedUploads()).map((u) => u.store_key), [keys[fresh]]);
  assert.deepEqual(await stillHeld(env.deps.store, [keys[inUse]]), []);
});

test('UPLOAD_RETENTION_DAYS and UPLOAD_QUOTA_MB are validated at start, naming the variable', () => {
  assert.throws(() => loadConfig({ UPLOAD_RETENTION_DAYS: '0' }), (err: unknown) => err instanceof ConfigError && /UPLOAD_RETENTION_DAYS="0"/.test(err.message));
  assert.throws(() => loadConfig({ UPLOAD_QUOTA_MB: 'lots' }), (err: unknown) => err instanceof ConfigError && /UPLOAD_QUOTA_MB="lots"/.test(err.message));
  const defaults = loadConfig({});
  assert.equal(defaults.UPLOAD_RETENTION_DAYS, 7);
  assert.equal(defaults.UPLOAD_QUOTA_MB, 10240);
});
