// Run by the worker as a short-lived child process when no prebuilt WORKFLOW_BUNDLE is configured
// (worker/create-worker.ts): bundles workflows/ with webpack and writes the code to the file named by the
// first argument; the workflow interceptor modules to bundle with it follow. Webpack needs ~100 MB that the
// worker would otherwise keep resident for its whole life; here it goes when this process exits.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const [outFile, ...workflowInterceptorModules] = process.argv.slice(2);
if (!outFile) throw new Error('usage: bundle-workflows <out file> [workflow interceptor module...]');
const workflowsPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');
const quiet = () => {};
const { code } = await bundleWorkflowCode({
  workflowsPath, workflowInterceptorModules,
  logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: (m) => console.error(m), error: (m) => console.error(m) },
});
await writeFile(outFile, code);
