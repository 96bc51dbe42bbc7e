// `npm test`: starts what the whole suite shares once — an embedded PostgreSQL (or the server named by
// CCJ_TEST_PG_URL) with a migrated template database, a Temporal dev server, the workflow bundle — then
// runs every test file with node's test runner, and stops everything it started.
// Arguments are passed to node --test: `npm test -- test/foo.test.ts` runs one file.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { prepareTemplate, testServerUrl } from '../test/harness/db.js';
import { buildWorkflowBundle, testTemporalAddress } from '../test/harness/temporal.js';
import { PROJECT_ROOT } from '../lib/tools.js';

function findTests(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'harness' || name === 'fixtures' || name === 'faults' ? [] : findTests(full);
    return name.endsWith('.test.ts') ? [path.relative(PROJECT_ROOT, full)] : [];
  }).sort();
}

async function removeStaleScratch(): Promise<void> {
  const root = path.join(PROJECT_ROOT, '.test-tmp');
  let names: string[] = [];
  try { names = readdirSync(root); } catch { return; }
  for (const name of names) {
    const pid = Number(/-(\d+)(-|$)/.exec(name)?.[1]);
    if (pid && !isAlive(pid)) await rm(path.join(root, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function main(): Promise<number> {
  // Each suite run has its own scratch folder, so two runs side by side never delete each other's files.
  const tmp = path.join(PROJECT_ROOT, '.test-tmp', `suite-${process.pid}`);
  await removeStaleScratch();
  await mkdir(tmp, { recursive: true });
  process.env.CCJ_TEST_TMP = tmp;
  const started = Date.now();
  const [pg, temporal, bundle] = await Promise.all([
    testServerUrl(),
    testTemporalAddress(),
    buildWorkflowBundle(path.join(tmp, 'workflow-bundle.js')),
  ]);
  await prepareTemplate(pg.url);
  console.log(`test services ready in ${Date.now() - started} ms: postgres ${new URL(pg.url).port}, temporal ${temporal.address}`);
  const args = process.argv.slice(2);
  const files = args.filter((a) => !a.startsWith('-'));
  const flags = args.filter((a) => a.startsWith('-'));
  // One file at a time by default: the crash and scale tests measure timing-sensitive things (heartbeat
  // timeouts after a SIGKILL, memory) that two busy files on two cores made flaky. TEST_CONCURRENCY=2 is faster.
  const concurrency = process.env.TEST_CONCURRENCY ?? '1';
  const child = spawn(process.execPath, [
    '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...flags,
    ...(files.length ? files : findTests(path.join(PROJECT_ROOT, 'test'))),
  ], {
    stdio: 'inherit',
    env: {
      ...process.env,
      CCJ_TEST_PG_URL: pg.url,
      CCJ_TEST_TEMPLATE_READY: '1',
      CCJ_TEST_TEMPORAL_ADDRESS: temporal.address,
      CCJ_TEST_WORKFLOW_BUNDLE: bundle.codePath,
    },
  });
  const stopChild = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', stopChild);
  process.on('SIGTERM', stopChild);
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  await temporal.stop();
  await pg.stop();
  await rm(tmp, { recursive: true, force: true });
  return code;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(1);
});
