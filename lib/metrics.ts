// Prometheus metrics of the platform (prom-client). Run counters are incremented only by the run record's
// owner (lib/runs/record.ts), in whichever process writes the transition (worker, API, reconciler), so they
// count every run however it ends; sum them over instances. Labels are job kinds and results only — never ids or names,
// which would both explode the series count and leak business data.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { errorMessage } from '../shared/error-message.js';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const runsStarted = new Counter({
  name: 'ccjobs_runs_started_total', help: 'Runs started, by job kind', labelNames: ['type'], registers: [registry],
});
const runsEnded = new Counter({
  name: 'ccjobs_runs_ended_total', help: 'Runs ended, by job kind and result (completed, failed, cancelled, terminated)',
  labelNames: ['type', 'result'], registers: [registry],
});
const itemsTransferred = new Counter({
  name: 'ccjobs_items_transferred_total', help: 'Items a run has processed (recordings, rows, files), by job kind',
  labelNames: ['type'], registers: [registry],
});
const bytesTransferred = new Counter({
  name: 'ccjobs_bytes_transferred_total', help: 'Bytes a run has transferred or produced, by job kind',
  labelNames: ['type'], registers: [registry],
});
const runDuration = new Histogram({
  name: 'ccjobs_run_duration_seconds', help: 'Wall time from a run\'s start to its end, by job kind and result',
  labelNames: ['type', 'result'], registers: [registry],
  buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600],
});

export function recordRunStarted(type: string): void {
  runsStarted.inc({ type });
}

/** Progress since the last report; negative deltas (a retried batch recounted) are ignored. */
export function recordRunTransferred(type: string, items: number, bytes: number): void {
  if (items > 0) itemsTransferred.inc({ type }, items);
  if (bytes > 0) bytesTransferred.inc({ type }, bytes);
}

export function recordRunEnded(type: string, result: string, seconds: number): void {
  runsEnded.inc({ type, result });
  runDuration.observe({ type, result }, Math.max(0, seconds));
}

const httpDuration = new Histogram({
  name: 'ccjobs_http_request_duration_seconds',
  help: 'API request duration, by method, route template (e.g. /runs/{runId}, never the raw path) and status',
  labelNames: ['method', 'route', 'status'], registers: [registry],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

/** The route template a request matched, in the OpenAPI `{name}` syntax; 'unmatched' for a path no route
 *  declares (a 404), so scanners probing random paths cannot grow the series count. A console request
 *  (`/console…`, api/console/) is labelled with its console route, `/console/jobs/{id}`, or `/console/{unmatched}`
 *  (its sign-in redirects and 404s): its router's paths alone look like the API's, and the API calls the console
 *  makes over loopback are counted once each, under their own route. */
export function routeTemplate(route: { path?: unknown } | undefined, url = ''): string {
  const template = typeof route?.path === 'string' ? route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}') : undefined;
  if (/^\/console(?:[/?]|$)/.test(url)) return template === undefined ? '/console/{unmatched}' : `/console${template === '/' ? '' : template}`;
  return template ?? 'unmatched';
}

/** Express middleware timing every request until its response is finished (or the client went away). */
export function httpMetricsMiddleware() {
  return (req: { method: string; originalUrl?: string; route?: { path?: unknown } }, res: { statusCode: number; once(event: 'finish' | 'close', fn: () => void): unknown }, next: () => void): void => {
    const start = process.hrtime.bigint();
    let done = false;
    const observe = () => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      httpDuration.observe({ method: req.method, route: routeTemplate(req.route, req.originalUrl), status: String(res.statusCode) }, seconds);
    };
    res.once('finish', observe);
    res.once('close', observe);
    next();
  };
}

export const PROMETHEUS_CONTENT_TYPE = registry.contentType;

/** This process's metrics in the Prometheus text format, followed by `extra` exposition texts (e.g. the
 *  Temporal SDK's own exporter, or gauges read from the database). */
export async function metricsText(extra: string[] = []): Promise<string> {
  return [await registry.metrics(), ...extra].map((text) => text.trimEnd()).filter(Boolean).join('\n') + '\n';
}

/** A small HTTP server for the worker's `GET /metrics` (Prometheus scrapes it without credentials, so
 *  bind it to an address only the scraper reaches). `extra` adds exposition texts, e.g. the Temporal SDK's. */
export async function startMetricsServer(options: { host: string; port: number; extra?: () => Promise<string[]> }): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at GET /metrics\n');
      return;
    }
    (options.extra ? options.extra() : Promise.resolve([]))
      .then((extra) => metricsText(extra))
      .then((text) => res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(text))
      .catch((err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${errorMessage(err)}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`Cannot serve metrics on ${options.host}:${options.port} (METRICS_HOST/METRICS_PORT): ${err.message}`)));
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as { port: number };
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

/** The Temporal SDK's own Prometheus exposition (worker task slots, polls, latencies, ...), or nothing
 *  when it cannot be read right now. */
export async function fetchSdkMetrics(url: string): Promise<string[]> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? [await res.text()] : [];
  } catch {
    return [];
  }
}
