// The container's HEALTHCHECK (one image for both processes): healthy when this container's API answers
// GET /healthz or its worker serves /metrics. Exits 0 or 1, as Docker expects; plain node, no shell or curl.
import { config } from './config.js';

const cfg = config();
const local = (host: string) => (['0.0.0.0', '::', ''].includes(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host);
const candidates = [
  `http://${local(cfg.API_HOST)}:${cfg.API_PORT}/healthz`,
  `http://${local(cfg.METRICS_HOST)}:${cfg.METRICS_PORT}/metrics`,
];

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

const results = await Promise.all(candidates.map(answers));
process.exit(results.some(Boolean) ? 0 : 1);
