// The worker without a prebuilt WORKFLOW_BUNDLE (the production default): it bundles workflows/ in a child
// process that exits before the worker polls, runs workflows from that bundle, and with tracing configured
// the bundle carries the OpenTelemetry workflow interceptors (workflow spans reach the collector).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { freePort } from '../lib/net.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { until } from './harness/wait.js';
import type { ChildProcess } from 'node:child_process';

let env: TestEnv;
let worker: ChildProcess;
let collector: Server;
const spans: { service: string; name: string }[] = [];

/** A stand-in OpenTelemetry collector keeping the names of the spans it receives (OTLP/HTTP JSON). */
async function startCollector(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const rs of body.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a: { key: string }) => a.key === 'service.name')?.value?.stringValue;
          for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) spans.push({ service, name: span.name });
        }
      } catch { /* not JSON: ignored */ }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

before(async () => {
  env = await createTestEnv();
  const otel = await startCollector();
  collector = otel.server;
  // An empty WORKFLOW_BUNDLE is "not set": the worker bundles workflows/ itself.
  worker = await env.spawnWorker({ WORKFLOW_BUNDLE: '', OTEL_EXPORTER_OTLP_ENDPOINT: otel.url, METRICS_PORT: String(await freePort()) });
});

after(async () => {
  await env?.stop();
  await new Promise<void>((resolve) => (collector ? collector.close(() => resolve()) : resolve()));
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
  await until('the RunWorkflow span at the collector', async () => spans.some((s) => s.service === 'cc-jobs-worker' && s.name === 'RunWorkflow:reportRetention'));
});
