// `npm run bench`: starts the same services as the tests (embedded PostgreSQL, Temporal dev server, the
// workflow bundle, OpenSSH and an S3 server on loopback), runs each benchmark at its full size and ×10
// smaller, each next to its baseline in the same run, and writes bench/RESULTS.md.
//
//   BENCH_SIZES=small|full|small,full   (default full,small)
//   BENCH_SCALE=0.1                     multiplies every size (default 1)
//   BENCH_ONLY=import,export,report,erasure,orchestration,results,salesforce,lists
//   BENCH_OUT=bench/RESULTS.md
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { prepareTemplate, testServerUrl } from '../test/harness/db.js';
import { startS3, startSshd } from '../test/harness/servers/index.js';
import { buildWorkflowBundle, testTemporalAddress } from '../test/harness/temporal.js';
import { PROJECT_ROOT } from '../lib/tools.js';
import { erasureBenchmark } from './erasure.js';
import { exportBenchmark } from './export.js';
import { importBenchmark } from './import.js';
import type { BenchContext, Figure } from './lib.js';
import { listsBenchmark } from './lists.js';
import { orchestrationBenchmark } from './orchestration.js';
import { reportBenchmark } from './report.js';
import { resultsExportBenchmark } from './results-export.js';
import { salesforceBenchmark } from './salesforce.js';
import { machineInfo, writeResults } from './results.js';

const ALL = ['import', 'export', 'report', 'erasure', 'orchestration', 'results', 'salesforce', 'lists'] as const;
type Name = (typeof ALL)[number];

function options() {
  const sizes = (process.env.BENCH_SIZES ?? 'full,small').split(',').map((s) => s.trim());
  for (const s of sizes) if (s !== 'full' && s !== 'small') throw new Error(`BENCH_SIZES: "${s}" is not full or small`);
  const scale = Number(process.env.BENCH_SCALE ?? '1');
  if (!(scale > 0 && scale <= 1)) throw new Error(`BENCH_SCALE must be a number in (0, 1]; got ${process.env.BENCH_SCALE}`);
  const only = (process.env.BENCH_ONLY ?? ALL.join(',')).split(',').map((s) => s.trim()) as Name[];
  for (const o of only) if (!ALL.includes(o)) throw new Error(`BENCH_ONLY: "${o}" is not one of ${ALL.join(', ')}`);
  const out = path.resolve(PROJECT_ROOT, process.env.BENCH_OUT ?? 'bench/RESULTS.md');
  return { sizes: sizes as ('full' | 'small')[], scale, only, out };
}

async function main(): Promise<void> {
  const opts = options();
  const tmp = path.join(PROJECT_ROOT, '.test-tmp', `bench-${process.pid}`);
  await mkdir(tmp, { recursive: true });
  process.env.CCJ_TEST_TMP = tmp;
  const started = Date.now();
  const log = (m: string) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);
  const [pg, temporal, bundle, sshd, s3] = await Promise.all([
    testServerUrl(), testTemporalAddress(), buildWorkflowBundle(path.join(tmp, 'workflow-bundle.js')), startSshd(),
    opts.only.includes('export') ? startS3() : Promise.resolve(undefined),
  ]);
  const stopAll = () => Promise.allSettled([sshd.stop(), s3?.stop(), temporal.stop(), pg.stop()]);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { log(`${signal}: stopping the services`); void stopAll().then(() => process.exit(130)); });
  }
  try {
    await prepareTemplate(pg.url);
    process.env.CCJ_TEST_TEMPLATE_READY = '1';
    process.env.CCJ_TEST_WORKFLOW_BUNDLE = bundle.codePath;
    log(`services ready: postgres ${new URL(pg.url).port}, temporal ${temporal.address}, sshd ${sshd.port}${s3 ? `, s3 ${s3.endpoint}` : ''}`);
    const machine = await machineInfo(pg.url);
    const figures: Figure[] = [];
    const failures: string[] = [];
    for (const name of opts.only) {
      for (const size of opts.sizes) {
        const ctx: BenchContext = { size, factor: (size === 'full' ? 1 : 0.1) * opts.scale, log };
        log(`${name} (${size})`);
        try {
          const got = name === 'import' ? await importBenchmark(ctx, sshd)
            : name === 'export' ? await exportBenchmark(ctx, sshd, s3!)
              : name === 'report' ? await reportBenchmark(ctx)
                : name === 'erasure' ? await erasureBenchmark(ctx)
                  : name === 'results' ? await resultsExportBenchmark(ctx)
                    : name === 'salesforce' ? await salesforceBenchmark(ctx)
                      : name === 'lists' ? await listsBenchmark(ctx, sshd)
                      : await orchestrationBenchmark(ctx);
          figures.push(...got);
          for (const f of got) log(`  ${f.benchmark} [${f.size}]: ours ${f.ours.toFixed(2)} ${f.unit}, baseline ${f.baseline?.toFixed(2) ?? '-'}, ratio ${f.ratio?.toFixed(2) ?? '-'}, goal ${f.goal} ${f.met === null ? '' : f.met ? 'met' : 'MISSED'}`);
        } catch (err) {
          const message = `${name} (${size}) failed: ${(err as Error).stack ?? err}`;
          failures.push(message);
          log(message);
        }
        await writeResults(opts.out, { machine, scale: opts.scale, sizes: opts.sizes, figures, failures, seconds: (Date.now() - started) / 1000 });
      }
    }
    log(`wrote ${path.relative(PROJECT_ROOT, opts.out)}`);
    if (failures.length) process.exitCode = 1;
  } finally {
    await stopAll();
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
