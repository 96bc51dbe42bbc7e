// GET /console: the administrators' web console, served by the API process (docs/console.md). Pages are
// rendered on the server (api/console/html.ts); htmx, served from our own node_modules, refreshes the live
// parts. Every page and action calls the API's own routes with the session's key (api/console/api-client.ts).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppDeps } from '../app.js';
import { createAuthenticator } from '../auth.js';
import { ApiError, consoleApi, type ConsoleApi } from './api-client.js';
import { html, page, send } from './html.js';
import { registerPages } from './pages/index.js';
import {
  clearSessionCookie, createSession, csrfMatches, endSession, isHttps, loadSession, readCookie, sessionToken, setSessionCookie, SESSION_TTL_MS, type Session,
} from './sessions.js';
import { SignInLimiter, type SignInLimits } from './sign-in-limit.js';
import { CONSOLE_CSS } from './styles.js';

export interface ConsoleContext { req: Request; res: Response; session: Session; api: ConsoleApi; deps: AppDeps }
export type ConsoleHandler = (ctx: ConsoleContext) => Promise<void>;

declare module 'express-serve-static-core' {
  interface Request { consoleSession?: Session }
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; "
  + "frame-ancestors 'none'; base-uri 'none'";
const HTMX_FILE = createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js');
const SIGN_IN_COOKIE = 'ccj_console_signin';

/** Wraps a page or action: the context with the session and its API client, errors to the error page. */
export function handle(deps: AppDeps, handler: ConsoleHandler) {
  return async (req: Request, res: Response) => {
    const session = req.consoleSession!;
    await handler({ req, res, session, api: consoleApi(req, session), deps });
  };
}

export function createConsole(deps: AppDeps, options: { sessionTtlMs?: number; signInLimits?: SignInLimits } = {}): express.Router {
  const router = express.Router();
  const auth = createAuthenticator(deps.sql, deps.config.ADMIN_API_KEY);
  const limiter = new SignInLimiter(options.signInLimits);
  router.use((_req, res, next) => {
    res.set({ 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin', 'cache-control': 'no-store', 'x-frame-options': 'DENY' });
    next();
  });
  router.get('/assets/htmx.min.js', (_req, res) => { res.set('cache-control', 'public, max-age=3600').sendFile(HTMX_FILE); });
  router.get('/assets/console.css', (_req, res) => { res.set('cache-control', 'public, max-age=3600').type('css').send(CONSOLE_CSS); });
  router.use(express.urlencoded({ extended: false, limit: '200kb' }));

  router.get('/sign-in', (req, res) => signInPage(req, res, 200));
  router.post('/sign-in', async (req, res) => {
    // Before a session exists the form's token is checked against a cookie set with the form (double submit).
    const sent = String(req.body?._csrf ?? ''), expected = readCookie(req, SIGN_IN_COOKIE) ?? '';
    if (!expected || sent.length !== expected.length || !timingSafeEqual(Buffer.from(sent), Buffer.from(expected))) {
      return signInPage(req, res, 403, 'The sign-in form expired or was not sent from this console; sign in again.');
    }
    const key = String(req.body?.apiKey ?? '').trim();
    const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const refusal = limiter.check(client, key);
    if (refusal) {
      deps.log?.warn({ client, limit: refusal.limit, retryAfterSeconds: refusal.retryAfterSeconds }, 'console sign-in refused: too many failed sign-ins');
      res.set('retry-after', String(refusal.retryAfterSeconds));
      return signInPage(req, res, 429, `Too many failed sign-ins (${refusal.limit === 'client' ? 'from this address' : 'with keys like this one'}); try again in ${refusal.retryAfterSeconds} seconds.`);
    }
    const caller = key ? await auth.callerFor(key) : undefined;
    if (!caller) {
      if (key) {
        const failures = limiter.failed(client, key);
        deps.log?.warn({ client, failures }, 'console sign-in failed: unknown or revoked API key');
      }
      return signInPage(req, res, 401, 'The API key is not valid or has been revoked.');
    }
    limiter.succeeded(client);
    const { token, expiresAt } = await createSession(deps.sql, deps.keyring, key, caller, options.sessionTtlMs ?? SESSION_TTL_MS);
    res.clearCookie(SIGN_IN_COOKIE, { path: '/console' });
    setSessionCookie(req, res, token, expiresAt);
    res.redirect(303, '/console/tasks');
  });

  router.use(async (req, res, next) => {
    const session = await loadSession(deps.sql, deps.keyring, sessionToken(req));
    if (!session) {
      clearSessionCookie(req, res);
      if (req.method === 'GET' && !req.get('hx-request')) return res.redirect(303, '/console/sign-in');
      return send(res, 401, page('Signed out', undefined, html`<p>Your session has ended. <a href="/console/sign-in">Sign in</a> again.</p>`));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && !csrfMatches(req, session)) {
      return send(res, 403, page('Refused', session, html`<p class="problem" role="alert">This form was not sent from this console session (its CSRF token is missing or wrong); nothing was done.</p>`));
    }
    req.consoleSession = session;
    next();
  });
  router.get('/', (_req, res) => res.redirect(303, '/console/tasks'));
  router.post('/sign-out', async (req, res) => {
    await endSession(deps.sql, req.consoleSession!);
    clearSessionCookie(req, res);
    res.redirect(303, '/console/sign-in');
  });
  registerPages(router, deps);
  router.use((req: Request, res: Response) => send(res, 404, page('Not found', req.consoleSession, html`<p>The console has no page at ${req.originalUrl}.</p>`)));
  router.use(async (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (!(err instanceof ApiError)) return next(err);
    if (err.problem.status === 401 && req.consoleSession) {
      // The key was revoked since sign-in: the session ends with it.
      await endSession(deps.sql, req.consoleSession);
      clearSessionCookie(req, res);
    }
    send(res, err.problem.status, page('Refused', req.consoleSession, problemView(err)));
  });
  return router;
}

export function problemView(err: ApiError) {
  const { status, title, detail, errors } = err.problem;
  return html`<div class="problem" role="alert">
    <p><strong>${status} ${title ?? ''}</strong></p><p>${detail}</p>
    ${errors?.length ? html`<ul>${errors.map((e) => html`<li><code>${e.path}</code>: ${e.message}</li>`)}</ul>` : null}
  </div><p><a href="/console/tasks">Back to the console</a></p>`;
}

function signInPage(req: Request, res: Response, status: number, error?: string): void {
  const token = randomBytes(24).toString('base64url');
  res.cookie(SIGN_IN_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: isHttps(req), path: '/console', maxAge: 30 * 60 * 1000 });
  send(res, status, page('Sign in', undefined, html`
    ${error ? html`<p class="problem" role="alert">${error}</p>` : null}
    <form method="post" action="/console/sign-in">
      <input type="hidden" name="_csrf" value=${token} />
      <label>API key <input type="password" name="apiKey" autocomplete="current-password" required autofocus /></label>
      <button type="submit">Sign in</button>
    </form>`));
}
