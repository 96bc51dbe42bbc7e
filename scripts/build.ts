// `npm run build`: the production build in dist/ (or `-- --out-dir <dir>`, as the production-mode test does) — plain JavaScript from tsc (tsconfig.build.json), the SQL
// migrations beside the compiled migrator, and the workflow bundle prebuilt (dist/workflow-bundle.js), so
// `npm run start:api` / `npm run start:worker` run on node alone, without a compiler or a bundler at start.
import { spawn } from 'node:child_process';
import { cp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { PROJECT_ROOT } from '../lib/tools.js';

const outDirArg = process.argv.indexOf('--out-dir');
const DIST = outDirArg > 0 && process.argv[outDirArg + 1] ? path.resolve(process.argv[outDirArg + 1]) : path.join(PROJECT_ROOT, 'dist');

async function compile(): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const child = spawn(process.execPath, [tsc, '-p', path.join(PROJECT_ROOT, 'tsconfig.build.json'), '--outDir', DIST], { stdio: 'inherit', cwd: PROJECT_ROOT });
  const code = await new Promise<number | null>((resolve, reject) => { child.once('error', reject); child.once('exit', resolve); });
  if (code !== 0) throw new Error(`tsc failed (exit code ${code}); see the errors above`);
}

async function bundleWorkflows(): Promise<void> {
  const quiet = () => {};
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(PROJECT_ROOT, 'workflows', 'index.ts'),
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: (m) => console.error(m), error: (m) => console.error(m) },
  });
  await writeFile(path.join(DIST, 'workflow-bundle.js'), code);
}

async function main(): Promise<void> {
  const started = Date.now();
  await rm(DIST, { recursive: true, force: true });
  await compile();
  await cp(path.join(PROJECT_ROOT, 'db', 'migrations'), path.join(DIST, 'db', 'migrations'), { recursive: true });
  await bundleWorkflows();
  console.log(`built ${path.relative(PROJECT_ROOT, DIST)}/ in ${Date.now() - started} ms: npm run start:api, npm run start:worker`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
