// Health and the OpenAPI document: the two endpoints that need no key.
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { readFindings } from '../../lib/schedules/findings.js';
import { openApiDocument } from '../openapi-document.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';

const HEALTH_TIMEOUT_MS = 3_000;

const health = z.object({
  status: z.enum(['ok', 'failing']),
  temporal: z.string(),
  database: z.string(),
  schedules: z.string().optional().describe('"ok", or (an error, though the API itself is healthy) the job definitions whose Temporal Schedule id is held by another installation sharing the namespace (refused, never overwritten)'),
});

export function register(r: RouteRegistry, deps: AppDeps) {
  defineRoute(r, {
    method: 'get', path: '/healthz', role: 'public', response: health, errors: [503],
    summary: 'Health of the API and what it depends on (503 naming the failing part)',
    example: { response: { status: 'ok', temporal: 'ok', database: 'ok', schedules: 'ok' } },
  }, async ({ res }) => {
    const [database, temporal] = await Promise.all([
      check(() => deps.sql`select 1`),
      check(() => deps.client.connection.withDeadline(Date.now() + HEALTH_TIMEOUT_MS, () => deps.client.workflowService.getSystemInfo({}))),
    ]);
    // A schedule held by another installation is reported, not failed on: this API still works, and a
    // restart (what a failing health check leads to) would not cure it.
    const schedules = database === 'ok' ? await scheduleHealth(deps).catch(() => 'unknown') : undefined;
    const ok = database === 'ok' && temporal === 'ok';
    if (!ok) res.status(503);
    return { status: ok ? ('ok' as const) : ('failing' as const), temporal, database, schedules };
  });

  let document: unknown;
  defineRoute(r, {
    method: 'get', path: '/openapi.json', role: 'public', response: z.record(z.string(), z.unknown()),
    summary: 'This OpenAPI 3.1 document',
    example: { response: { openapi: '3.1.0', info: { title: 'cc-jobs API', version: '1' }, paths: { '/healthz': { get: { summary: 'Health of the API and what it depends on (503 naming the failing part)' } } } } },
  }, async () => {
    document ??= openApiDocument(r.routes, { title: 'cc-jobs API', version: '1' });
    return document as Record<string, unknown>;
  });
}

/** 'ok', or a short reason the dependency is failing (no connection strings, no stack). */
async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error('timed out')), HEALTH_TIMEOUT_MS); }),
    ]);
    return 'ok';
  } catch (err) {
    return `failing: ${(err as Error).message?.split('\n')[0].slice(0, 200) ?? 'unknown error'}`;
  } finally {
    clearTimeout(timer);
  }
}

/** What the schedule sync found last (lib/schedules/findings.ts): our schedule ids held by another installation. */
async function scheduleHealth(deps: AppDeps): Promise<string> {
  const held = [...(await readFindings(deps.sql)).values()].filter((f) => f.foreignTaskQueue).map((f) => f.scheduleId);
  if (!held.length) return 'ok';
  return `schedules ${held.join(', ')} of this installation's job definitions are held by another installation in the same Temporal namespace `
    + '(they start its workflows, not ours); give each installation its own namespace, then save the definitions again';
}
