// The Express application: the route registry with every route file, then the 404 and problem handlers.
// Everything it needs comes in `deps`, so tests build it in-process against their own database.
import express from 'express';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../lib/config.js';
import type { ContentStore } from '../lib/content-store/types.js';
import type { Keyring } from '../lib/crypto/keys.js';
import type { Sql } from '../db/sql.js';
import { httpMetricsMiddleware } from '../lib/metrics.js';
import { createAuthenticator, keylessCallerGuard } from './auth.js';
import { createConsole } from './console/index.js';
import { RouteRegistry } from './openapi.js';
import { problemHandler, unknownRoute } from './problem.js';
import { routeModules } from './routes/index.js';

export interface AppDeps { sql: Sql; client: Client; keyring: Keyring; store: ContentStore; config: Config; log?: Logger }

export function createApp(deps: AppDeps): express.Application & { registry: RouteRegistry } {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const auth = createAuthenticator(deps.sql, deps.config.ADMIN_API_KEY);
  const registry = new RouteRegistry({
    authenticate: auth.authenticate,
    sql: deps.sql,
    validateResponses: deps.config.NODE_ENV !== 'production',
    log: deps.log,
    keylessPeers: deps.config.KEYLESS_PEER_ADDRESSES,
  });
  app.use(httpMetricsMiddleware()); // ccjobs_http_request_duration_seconds{method,route,status} on GET /metrics
  for (const module of routeModules) module.register(registry, deps);
  app.use('/console', createConsole(deps)); // the admin console (docs/console.md): a client of the routes above
  app.use(keylessRoutesGuard(registry, deps.config));
  app.use(registry.router);
  app.use(unknownRoute);
  app.use(problemHandler(deps.log));
  return Object.assign(app, { registry });
}

/** Every route served without a key to this machine (loopbackWithoutKey) gets the Host/Origin check of
 *  keylessCallerGuard first, on the same Express path, so a new such route cannot miss it. OPTIONS passes by:
 *  a router answers OPTIONS for its paths by itself, which would pre-empt the codec's CORS preflight. */
function keylessRoutesGuard(registry: RouteRegistry, config: Config): express.RequestHandler {
  const router = express.Router();
  const guard = keylessCallerGuard(config);
  for (const { spec } of registry.routes) {
    if (spec.loopbackWithoutKey) router[spec.method](spec.path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1'), guard);
  }
  return (req, res, next) => (req.method === 'OPTIONS' ? next() : router(req, res, next));
}
