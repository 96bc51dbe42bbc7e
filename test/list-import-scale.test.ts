// A 1,000,000-row calling list (242 MB) is imported in bounded memory: the file streams from the content
// store through the byte-level UTF-8 check, the parser and COPY (rows written into ~256 KB Buffers,
// backpressure respected), and the rules run in the database. RSS of the process hosting the worker is
// sampled during the import and must stay under a fixed cap whatever the row count. Peak RSS depends on
// when V8 collects garbage, so the flat-memory check is on what the heap keeps: a full GC is forced every
// 2 s and the heap left after it must not grow with the rows read. LIST_IMPORT_SCALE_ROWS sets another size.
// Speed and the worker's peak RSS without forced GCs are measured in bench/import.ts.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { after, before, test } from 'node:test';
import { createTestEnv, type TestEnv } from './harness/env.js';

const ROWS = Number(process.env.LIST_IMPORT_SCALE_ROWS ?? 1_000_000);
const RSS_CAP_MB = 150;
const RETAINED_CAP_MB = 40;
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
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
  gc();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const heapBase = process.memoryUsage();
  let retainedPeak = 0;
  const collector = setInterval(() => {
    gc();
    retainedPeak = Math.max(retainedPeak, process.memoryUsage().heapUsed - heapBase.heapUsed);
  }, 2000);
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
    clearInterval(collector);
  }
  const growthMb = (peak - baseline) / 2 ** 20;
  const fileMb = stored.sizeBytes / 2 ** 20;
  console.log(`list import of ${ROWS} rows (${fileMb.toFixed(0)} MB): RSS grew ${growthMb.toFixed(0)} MB (baseline ${(baseline / 2 ** 20).toFixed(0)} MB); peaks over baseline: ${Object.entries(peaks).map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(0)} MB`).join(', ')}`);
  const retainedMb = retainedPeak / 2 ** 20;
  console.log(`heap kept after a forced GC: at most ${retainedMb.toFixed(0)} MB over the baseline`);
  assert.ok(retainedMb < RETAINED_CAP_MB, `the heap kept ${retainedMb.toFixed(0)} MB after GC during the import; the cap is ${RETAINED_CAP_MB} MB`);
  assert.ok(growthMb < RSS_CAP_MB, `RSS grew ${growthMb.toFixed(0)} MB for a ${fileMb.toFixed(0)} MB file; the cap is ${RSS_CAP_MB} MB`);
});
