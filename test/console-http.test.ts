// The console over plain HTTP (no browser): the sign-in rate limit (429 with Retry-After, logged without the
// key) and how console requests are labelled in GET /metrics (console routes as console routes, each of the
// console's calls to the API counted once under the API's route).
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createApp } from '../api/app.js';
import { SignInLimiter } from '../api/console/sign-in-limit.js';
import { bootstrapAdminKey } from '../api/admin-key.js';
import { createTestEnv, type TestEnv } from './harness/env.js';

let env: TestEnv;
let server: Server;
let base: string;
let adminKey: string;
const logLines: string[] = [];

before(async () => {
  env = await createTestEnv();
  const log = pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { logLines.push(String(chunk)); done(); } }));
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config, log });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  adminKey = (await bootstrapAdminKey({ sql: env.sql, config: env.config, print: () => {} }))!;
});
after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await env?.stop();
});

/** Signs in over HTTP as the browser would: the form's token and cookie, then the post. */
async function postSignIn(apiKey: string): Promise<Response> {
  const form = await fetch(`${base}/console/sign-in`);
  const cookie = form.headers.get('set-cookie')!.split(';')[0];
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1];
  return fetch(`${base}/console/sign-in`, {
    method: 'POST', redirect: 'manual', body: new URLSearchParams({ _csrf: csrf, apiKey }),
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
  });
}

describe('metrics', () => {
  const sample = (text: string, labels: Record<string, string>) => {
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const line = text.split('\n').find((l) => l.startsWith('ccjobs_http_request_duration_seconds_count{') && wanted.every((w) => l.includes(w)));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  test('console pages are labelled as console routes; the API calls they make are counted once each', async () => {
    // Before the rate-limit tests below, which leave this client refused.
    const created = await fetch(`${base}/api-keys`, {
      method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'metrics-admin', role: 'admin' }),
    });
    const { key } = await created.json() as { key: string };
    const signedIn = await postSignIn(key);
    assert.equal(signedIn.status, 303);
    const sessionCookie = signedIn.headers.getSetCookie().find((c) => c.startsWith('ccj_console='))!.split(';')[0];
    const metrics = async () => (await fetch(`${base}/metrics`)).text();
    const job = await (await fetch(`${base}/jobs`, {
      method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `metrics job ${Date.now()}`, trigger: { kind: 'manual' }, steps: [{ name: 'mail', kind: 'email', to: ['ops@example.com'] }] }),
    })).json() as { id: string };

    const before = await metrics();
    const page = await fetch(`${base}/console/jobs/${job.id}`, { headers: { cookie: sessionCookie }, redirect: 'manual' });
    assert.equal(page.status, 200);
    const unmatched = await fetch(`${base}/console/no/such/page`, { headers: { cookie: sessionCookie }, redirect: 'manual' });
    assert.equal(unmatched.status, 404);
    const after = await metrics();
    const delta = (labels: Record<string, string>) => sample(after, labels) - sample(before, labels);

    assert.equal(delta({ method: 'GET', route: '/console/jobs/{id}', status: '200' }), 1);
    assert.equal(delta({ method: 'GET', route: '/console/{unmatched}', status: '404' }), 1);
    // The page read the job and its history from the API: one request each, under the API's route.
    assert.equal(delta({ method: 'GET', route: '/jobs/{id}', status: '200' }), 1);
    assert.equal(delta({ method: 'GET', route: '/jobs/{id}/history', status: '200' }), 1);
    assert.equal(delta({ route: 'unmatched' }), 0);
  });
});

describe('sign-in rate limit', () => {
  test('a key prefix guessed from many clients is refused too, and the window frees it again', () => {
    let now = 1_000_000;
    const limiter = new SignInLimiter({ perClient: 3, perPrefix: 4, windowMs: 60_000, prefixLength: 12 }, () => now);
    const guess = (i: number) => `ccj_abcdefgh${i}`;
    for (let i = 0; i < 4; i++) {
      assert.equal(limiter.check(`10.0.0.${i}`, guess(i)), undefined);
      limiter.failed(`10.0.0.${i}`, guess(i));
      now += 1000;
    }
    // A fifth client with the same 12 first characters: refused until the first failure leaves the window.
    assert.deepEqual(limiter.check('10.0.0.99', guess(99)), { limit: 'key prefix', retryAfterSeconds: 56 });
    assert.equal(limiter.check('10.0.0.99', 'ccj_zzzzzzzz'), undefined, 'another prefix is not refused');
    now += 56_000;
    assert.equal(limiter.check('10.0.0.99', guess(99)), undefined);
  });

  test('repeated failures from one client get 429 with Retry-After, even with a right key; logged without the key', async () => {
    const wrong = 'ccj_wrong-key-that-must-not-be-logged';
    for (let i = 0; i < 10; i++) {
      const res = await postSignIn(`${wrong}-${i}`);
      assert.equal(res.status, 401, `attempt ${i + 1}`);
    }
    const refused = await postSignIn(`${wrong}-11`);
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 15 * 60, `Retry-After ${retryAfter}`);
    assert.match(await refused.text(), /Too many failed sign-ins \(from this address\); try again in \d+ seconds/);
    // The right key is refused as well while the limit holds (otherwise guessing would go on).
    const right = await postSignIn(adminKey);
    assert.equal(right.status, 429);
    assert.equal(right.headers.get('set-cookie')?.includes('ccj_console='), false);

    const logged = logLines.join('');
    assert.match(logged, /console sign-in failed: unknown or revoked API key/);
    assert.match(logged, /console sign-in refused: too many failed sign-ins/);
    assert.match(logged, /"client":"127\.0\.0\.1"/);
    assert.doesNotMatch(logged, /wrong-key|ccj_wrong/);
    assert.ok(!logged.includes(adminKey));
  });
});
