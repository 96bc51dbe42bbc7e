// The route registry: every endpoint is declared once — method, path, role, zod schemas, summary,
// example — and that one declaration both validates requests and produces `GET /openapi.json`, so the
// document cannot drift from the code.
//
// Adding routes (e.g. for a job):
//   1. Create `api/routes/<name>.ts` exporting `register(r: RouteRegistry, deps: AppDeps)`:
//
//        import { z } from 'zod';
//        import { defineRoute, type RouteRegistry } from '../openapi.js';
//        import type { AppDeps } from '../app.js';
//        import { idParams, runAccepted } from '../schemas.js';
//
//        export function register(r: RouteRegistry, deps: AppDeps) {
//          defineRoute(r, {
//            method: 'post', path: '/reports/{id}/run', role: 'operator', status: 202, startsWork: true,
//            params: idParams, response: runAccepted,
//            summary: 'Run a report now', example: { response: { runId: 'report/7/2025-03-01T10:30:00.000Z' } },
//          }, async ({ params }) => {
//            const handle = await deps.client.workflow.start(reportRun, { ..., searchAttributes, args: [...] });
//            return { runId: handle.workflowId };
//          });
//        }
//
//   2. Add one line to `api/routes/index.ts`.
//
// Paths use OpenAPI's `{name}` syntax. The handler receives the parsed `params`, `query` and `body` (for a
// `body: rawBody(...)` route, `body` is the request stream with the size limit applied), the `caller`
// (undefined on public routes), and `req`/`res`. It returns the response body (validated against
// `response` outside production), or throws a Problem (api/problem.ts). The status is `status`
// (default 200; 204 when there is no `response`) unless the handler sets `res.status()` itself.
// `callerOf(req).actor` (api/auth.ts) is who to record on runs and audit entries ('key:<name>').
//
// What the registry does for every route, so no route file can forget it:
//   - JSON bodies are strict (api/strict-bodies.ts): a field the schema does not declare is 400 naming it.
//   - `startsWork: true` (every route that starts a run) declares the `Idempotency-Key` header and runs the
//     whole handler under it (api/idempotency.ts): the same key and request replay the first reply, the same
//     key with another path or body is 422. test/idempotency.test.ts finds every such route in the registry.
//   - `download` declares what a file download answers (200 and its content types) for the document.
import express, { type Request, type Response } from 'express';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { z } from 'zod';
import { authorize, bearerToken, type Caller, type Privilege, type Role } from './auth.js';
import { badRequest, Problem, fieldErrors, type FieldError } from './problem.js';
import type { Sql } from '../db/sql.js';
import { respondIdempotently } from './idempotency.js';
import { limitedBody } from './raw-body.js';
import { unknownFieldCheck, type UnknownFieldCheck } from './strict-bodies.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A raw (non-JSON) request body, streamed to the handler, never buffered. */
export interface RawBodySpec { raw: true; contentTypes?: string[]; maxBytes: number; description?: string }

export function rawBody(options: Omit<RawBodySpec, 'raw'>): RawBodySpec {
  return { raw: true, ...options };
}

type AnyObject = z.ZodType<Record<string, unknown>>;
export type BodySpec = z.ZodType | RawBodySpec;

export interface RouteSpec<P extends AnyObject, Q extends AnyObject, B extends BodySpec, R extends z.ZodType | undefined> {
  method: HttpMethod;
  path: string;
  /** 'public' needs no key (health, the OpenAPI document). */
  role: Role | 'public';
  privilege?: Privilege;
  /** Serve requests without a key when they come from this machine (the codec endpoint for Temporal UI). */
  loopbackWithoutKey?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** The JSON body size limit (express.json syntax); 1 MB unless set. */
  jsonLimit?: string;
  response?: R;
  status?: number;
  summary: string;
  description?: string;
  tags?: string[];
  /** Problem statuses beyond the ones implied by the spec (400/401/403/404), e.g. [409, 422]. */
  errors?: number[];
  example?: { body?: unknown; response?: unknown };
  /** The route starts work (a run): `Idempotency-Key` is declared and honoured (see the top of this file). */
  startsWork?: boolean;
  /** A file download: the handler streams the body itself; answered 200 with one of these content types. */
  download?: { contentTypes: string[]; description?: string };
}

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;
type BodyOut<B> = B extends RawBodySpec ? Readable : B extends z.ZodType ? z.output<B> : undefined;
type Reply<R> = R extends z.ZodType ? z.input<R> : void;

export interface RouteContext<P, Q, B> {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
  caller: Caller | undefined;
}

export type RouteHandler<P extends AnyObject, Q extends AnyObject, B extends BodySpec, R extends z.ZodType | undefined> =
  (ctx: RouteContext<Out<P>, Out<Q>, BodyOut<B>>) => Promise<Reply<R>>;

export interface RegisteredRoute { spec: RouteSpec<AnyObject, AnyObject, BodySpec, z.ZodType | undefined> }

export interface RouteRegistryOptions {
  authenticate(req: Request): Promise<Caller>;
  /** Where Idempotency-Keys are kept (api/idempotency.ts); needed once a route `startsWork`. */
  sql?: Sql;
  /** Check handler results against their response schema (development and tests). */
  validateResponses: boolean;
  log?: Logger;
  /** Peers besides loopback whose keyless calls count as this machine's (KEYLESS_PEER_ADDRESSES). */
  keylessPeers?: readonly string[];
}

export class RouteRegistry {
  readonly router = express.Router();
  readonly routes: RegisteredRoute[] = [];
  constructor(readonly options: RouteRegistryOptions) {}
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export function defineRoute<
  P extends AnyObject = AnyObject,
  Q extends AnyObject = AnyObject,
  B extends BodySpec = z.ZodUndefined,
  R extends z.ZodType | undefined = undefined,
>(r: RouteRegistry, spec: RouteSpec<P, Q, B, R>, handler: RouteHandler<P, Q, B, R>): void {
  const key = `${spec.method} ${spec.path}`;
  if (r.routes.some((route) => `${route.spec.method} ${route.spec.path}` === key)) {
    throw new Error(`Route ${key} is defined twice; each route is declared once in api/routes/.`);
  }
  const sql = r.options.sql;
  if (spec.startsWork && (!sql || spec.role === 'public')) {
    throw new Error(`Route ${key} starts work: it needs an API key (not 'public') and the registry needs \`sql\` for its Idempotency-Keys.`);
  }
  r.routes.push({ spec: spec as unknown as RegisteredRoute['spec'] });
  const expressPath = spec.path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
  const json = spec.body && !isRaw(spec.body) ? [express.json({ limit: spec.jsonLimit ?? '1mb' })] : [];
  const unknownFields = spec.body && !isRaw(spec.body) ? unknownFieldCheck(spec.body) : undefined;

  r.router[spec.method](expressPath, async (req, _res, next) => {
    await checkAccess(r, spec, req);
    next();
  }, ...json, async (req, res) => {
    const input = parseInput(spec, req, unknownFields);
    res.status(spec.status ?? (spec.response || spec.download ? 200 : 204));
    const run = () => handler({ req, res, caller: req.caller, ...input } as never);
    let result: unknown;
    if (spec.startsWork) {
      const reply = await respondIdempotently(sql!, req, run, () => res.statusCode);
      if (reply.replayed) res.status(reply.status).set('Idempotent-Replayed', 'true');
      result = reply.body;
    } else {
      result = await run();
    }
    if (res.headersSent) return;
    if (!spec.response) {
      res.end();
      return;
    }
    if (r.options.validateResponses) checkResponse(r, spec, result);
    res.json(result);
  });
}

async function checkAccess(r: RouteRegistry, spec: RouteSpec<any, any, any, any>, req: Request): Promise<void> {
  if (spec.role === 'public') return;
  if (spec.loopbackWithoutKey && bearerToken(req) === undefined) {
    const peer = req.socket.remoteAddress ?? '';
    if (LOOPBACK.has(peer) || r.options.keylessPeers?.includes(peer.replace(/^::ffff:/, ''))) return;
    throw new Problem(401, 'Only this machine may call this endpoint without a key; send "Authorization: Bearer <key>".');
  }
  const caller = await r.options.authenticate(req);
  authorize(caller, spec.role, spec.privilege);
}

function parseInput(spec: RouteSpec<any, any, any, any>, req: Request, unknownFields: UnknownFieldCheck | undefined) {
  const errors: FieldError[] = [];
  const parse = (schema: z.ZodType | undefined, value: unknown, prefix: string) => {
    if (!schema) return undefined;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    errors.push(...fieldErrors(parsed.error, prefix));
    return undefined;
  };
  const params = parse(spec.params, { ...req.params }, 'params');
  const query = parse(spec.query, { ...(req.query as object) }, 'query');
  let body: unknown;
  if (spec.body && isRaw(spec.body)) {
    body = limitedBody(req, spec.body);
  } else {
    errors.push(...(unknownFields?.(req.body) ?? []));
    body = parse(spec.body, req.body, '');
  }
  if (errors.length) {
    if (body && isRaw(spec.body)) (body as Readable).resume();
    throw badRequest(`The request has ${errors.length} invalid field${errors.length > 1 ? 's' : ''}; see errors.`, errors);
  }
  return { params, query, body };
}

function checkResponse(r: RouteRegistry, spec: RouteSpec<any, any, any, any>, result: unknown): void {
  const parsed = (spec.response as z.ZodType).safeParse(JSON.parse(JSON.stringify(result ?? null)));
  if (!parsed.success) {
    r.options.log?.error({ route: `${spec.method.toUpperCase()} ${spec.path}`, issues: parsed.error.issues }, 'response does not match its schema');
    throw new Error(`The response of ${spec.method.toUpperCase()} ${spec.path} does not match its declared schema: ${parsed.error.message}`);
  }
}

export function isRaw(body: BodySpec | undefined): body is RawBodySpec {
  return !!body && (body as RawBodySpec).raw === true;
}
