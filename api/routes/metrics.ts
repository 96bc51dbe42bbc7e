// GET /metrics for Prometheus. Scrapers usually scrape without credentials, so a request from this machine
// (a sidecar or node-local agent) needs no key when it addresses this machine by a loopback name (no web
// page can, see keylessCallerGuard in api/auth.ts); from anywhere else it needs a viewer key (a bearer token
// in the scrape config). It serves this process's metrics and gauges read from the database at scrape time:
// runs by kind and status across every worker, and the job definitions by kind.
import { Gauge, Registry } from 'prom-client';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { metricsText, PROMETHEUS_CONTENT_TYPE } from '../../lib/metrics.js';

function databaseGauges(deps: AppDeps): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'ccjobs_runs', help: 'Runs in the runs table (the task log and runs in progress), by job kind and status',
    labelNames: ['type', 'status'], registers: [registry],
    async collect() {
      this.reset();
      const rows = await deps.sql<{ type: string; status: string; n: number }[]>`
        select type, status, count(*)::int as n from runs group by type, status`;
      for (const row of rows) this.set({ type: row.type, status: row.status }, row.n);
    },
  });
  new Gauge({
    name: 'ccjobs_job_definitions', help: 'Job definitions, by kind and whether they are enabled',
    labelNames: ['kind', 'enabled'], registers: [registry],
    async collect() {
      this.reset();
      const rows = await deps.sql<{ kind: string; enabled: boolean; n: number }[]>`
        select kind, enabled, count(*)::int as n from job_definitions group by kind, enabled`;
      for (const row of rows) this.set({ kind: row.kind, enabled: String(row.enabled) }, row.n);
    },
  });
  return registry;
}

export function register(r: RouteRegistry, deps: AppDeps) {
  const gauges = databaseGauges(deps);
  defineRoute(r, {
    method: 'get', path: '/metrics', role: 'viewer', loopbackWithoutKey: true, tags: ['operations'],
    download: { contentTypes: [PROMETHEUS_CONTENT_TYPE] },
    summary: 'Prometheus metrics (text exposition format)',
    description: 'Process metrics, run counters (`ccjobs_runs_started_total`, `ccjobs_runs_ended_total{result}`, '
      + '`ccjobs_items_transferred_total`, `ccjobs_bytes_transferred_total`, `ccjobs_run_duration_seconds`) and gauges from the '
      + 'database (`ccjobs_runs{type,status}`, `ccjobs_job_definitions`). No key needed from this machine (Host localhost, 127.0.0.1, '
      + '[::1] or API_HOST, and no foreign Origin); a viewer key otherwise. '
      + 'The worker serves its own metrics, with the Temporal SDK\'s, on METRICS_PORT.',
  }, async ({ res }) => {
    const text = await metricsText([await gauges.metrics()]);
    res.type(PROMETHEUS_CONTENT_TYPE).send(text);
  });
}
