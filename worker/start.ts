// `npm run start:worker` (node dist/worker/start.js): the worker from the build, configured by the environment
// only. It runs the workflow bundle built with it (dist/workflow-bundle.js) unless WORKFLOW_BUNDLE names
// another, or tracing is on: then it bundles at start, so the OpenTelemetry workflow interceptors go in.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireServersFromEnvironment } from '../lib/production-env.js';

requireServersFromEnvironment('the worker');
const prebuilt = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflow-bundle.js');
if (process.env.WORKFLOW_BUNDLE === undefined && !process.env.OTEL_EXPORTER_OTLP_ENDPOINT && existsSync(prebuilt)) {
  process.env.WORKFLOW_BUNDLE = prebuilt;
}
await import('./main.js');
