// A large calling list is imported in bounded memory: the file streams from the content store through the
// decoder, parser and COPY (rows batched into ~256 KB writes, backpressure respected), and the rules run in
// the database. RSS of the process hosting the worker is sampled during the import and must stay under a
// fixed cap whatever the row count. Before the COPY batching (one socket write per row) 300k rows grew RSS
// by 65-79 MB and 1M rows by 148 MB; with it 300k rows grow 55 MB, but LIST_IMPORT_SCALE_ROWS=1000000 (run by
// hand) still grows 154 MB, all of it JS heap — not yet flat at 1M. Speed is measured in bench/import.ts.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createTestEnv, type TestEnv } from './harness/env.js';

const ROWS = Number(process.env.LIST_IMPORT_SCALE_ROWS ?? 300_000);
const RSS_CAP_MB = 80;
const NOTE = 'n'.repeat(200);
let env: TestEnv;

before(async () => {
  env = await createTestEnv();
  await env.startWorker();
});
after(async () => { await env.stop(); });

async function* wideList(rows: number) {
  yield 'client_id,name,phone,email,notes\n';
  for (let i = 0; i < rows; i += 10_000) {
    let chunk = '';
    for (let j = i; j < Math.min(rows, i + 10_000); j++) chunk += `S${j},Name ${j},+1555${String(j).padStart(7, '0')},s${j}@example.com,${NOTE}\n`;
    yield chunk;
  }
}

test(`a ${ROWS}-row list is imported with RSS growth under a fixed cap`, async () => {
  const [{ id: campaignId }] = await env.sql<{ id: string }[]>`insert into campaigns (name, timezone) values ('scale', 'UTC') returning id`;
  const stored = await env.deps.store.put(Readable.from(wideList(ROWS)), { prefix: 'uploads' });
  await env.sql`insert into uploads (id, store_key, size_bytes, sha256) values ('scale', ${stored.key}, ${stored.sizeBytes}, ${stored.sha256})`;
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const heapBase = process.memoryUsage();
  const peaks = { heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    peaks.heapUsed = Math.max(peaks.heapUsed, m.heapUsed - heapBase.heapUsed);
    peaks.external = Math.max(peaks.external, m.external - heapBase.external);
    peaks.arrayBuffers = Math.max(peaks.arrayBuffers, m.arrayBuffers - heapBase.arrayBuffers);
  }, 100);
  try {
    const handle = await env.client.workflow.start('listImport', {
      workflowId: `list-import/${campaignId}/scale`, taskQueue: env.taskQueue,
      args: [{ campaignId, source: { uploadId: 'scale' }, separator: ',', hasHeader: true, keyField: 'clientId', wait: true,
               importRule: 'append', updateRule: 'nothing', mergeRule: 'nothing', deleteAllBeforeImport: false }],
    });
    const result = await handle.result() as { imported: number; rowsRead: number };
    assert.equal(result.rowsRead, ROWS);
    assert.equal(result.imported, ROWS);
  } finally {
    clearInterval(sampler);
  }
  const growthMb = (peak - baseline) / 2 ** 20;
  const fileMb = stored.sizeBytes / 2 ** 20;
  console.log(`list import of ${ROWS} rows (${fileMb.toFixed(0)} MB): RSS grew ${growthMb.toFixed(0)} MB (baseline ${(baseline / 2 ** 20).toFixed(0)} MB); peaks over baseline: ${Object.entries(peaks).map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(0)} MB`).join(', ')}`);
  assert.ok(growthMb < RSS_CAP_MB, `RSS grew ${growthMb.toFixed(0)} MB for a ${fileMb.toFixed(0)} MB file; the cap is ${RSS_CAP_MB} MB`);
});
