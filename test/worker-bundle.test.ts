// The worker without a prebuilt WORKFLOW_BUNDLE (the production default): it bundles workflows/ in a child
// process that exits before the worker polls, runs workflows from that bundle, and with tracing configured
// the bundle carries the OpenTelemetry workflow interceptors (workflow spans reach the collector).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { freePort } from '../lib/net.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startOtelCollector, type ReceivedSpan } from './harness/otel-collector.js';
import { until } from './harness/wait.js';
import type { ChildProcess } from 'node:child_process';

let env: TestEnv;
let worker: ChildProcess;
let collector: Awaited<ReturnType<typeof startOtelCollector>> | undefined;
const spans = (): ReceivedSpan[] => collector?.spans ?? [];

before(async () => {
  env = await createTestEnv();
  const otel = await startOtelCollector();
  collector = otel;
  // An empty WORKFLOW_BUNDLE is "not set": the worker bundles workflows/ itself.
  worker = await env.spawnWorker({ WORKFLOW_BUNDLE: '', OTEL_EXPORTER_OTLP_ENDPOINT: otel.url, METRICS_PORT: String(await freePort()) });
});

after(async () => {
  await env?.stop();
  await collector?.close();
});

test('a worker that bundles its workflows runs them, with workflow spans, and keeps no bundler process', async () => {
  const runId = `report/retention/test-${Date.now()}`;
  const result = await env.client.workflow.execute('reportRetention', { taskQueue: env.processEnv.TEMPORAL_TASK_QUEUE!, workflowId: runId, workflowExecutionTimeout: '2m' });
  assert.deepEqual(result, { removed: 0 });
  const [row] = await env.sql<{ status: string }[]>`select status from runs where run_id = ${runId}`;
  assert.equal(row?.status, 'completed');
  // The bundler child exited before the worker started polling: the worker has no child process left.
  const children = (await readFile(`/proc/${worker.pid}/task/${worker.pid}/children`, 'utf8')).trim();
  assert.equal(children, '', `the worker still has child processes: ${children}`);
  // RunWorkflow spans come from the workflow interceptors, which exist only if they were bundled.
  await until('the RunWorkflow span at the collector', async () => spans().some((s) => s.service === 'cc-jobs-worker' && s.name === 'RunWorkflow:reportRetention'));
});
