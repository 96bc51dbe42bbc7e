// A bad environment stops each entry point with the config module's message alone: it names the variable and
// what is expected, and a stack trace after it (as the worker and `npm run dev` printed) only buries it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../lib/tools.js';

function start(entry: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, entry)], {
      cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += String(chunk); });
    child.stderr.on('data', (chunk: Buffer) => { output += String(chunk); });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('a bad environment at start', () => {
  for (const entry of ['api/main.ts', 'worker/main.ts', 'scripts/dev.ts']) {
    it(`${entry} prints the variable and what is expected, without a stack trace, and exits 1`, async () => {
      const { code, output } = await start(entry, { API_PORT: 'abc', DATA_DIR: path.join(PROJECT_ROOT, '.test-tmp', 'start-errors') });
      assert.equal(code, 1, output);
      assert.equal(output.trim(), 'Invalid environment; fix these variables and start again:\n  API_PORT="abc": Invalid input: expected number, received NaN');
    });
  }
});
