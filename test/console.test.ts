// The admin console in a real chromium: signing in and out, the task log, live progress, and the
// security properties (cookie flags, CSRF, roles enforced by the server, escaped rendering, CSP).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { csrfOf, screenshot, signIn, startConsoleRig, type ConsoleRig } from './console-helpers.js';
import { waitFor } from './list-import-helpers.js';

let rig: ConsoleRig;

before(async () => { rig = await startConsoleRig(); });
after(async () => { await rig?.stop(); });

async function newCampaign(name = `console-${randomBytes(4).toString('hex')}`): Promise<string> {
  const res = await rig.api.call('POST', '/campaigns', { body: { name, timezone: 'UTC' } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return res.json.id;
}

/** A report without a schedule: created and run at once; resolves when its run has finished. */
async function finishedReportRun(campaignId: string, name = `report-${randomBytes(3).toString('hex')}`): Promise<string> {
  const res = await rig.api.call('POST', '/reports', { body: { name, type: 'all-attempts', campaignId, timeframe: { kind: 'entire-campaign' } } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  const runId = res.json.runId as string;
  await waitFor('the report run to finish', async () => (await rig.api.call('GET', `/runs/${encodeURIComponent(runId)}`)).json?.status === 'completed');
  return runId;
}

describe('signing in and out', () => {
  test('an API key signs in; the session cookie is httpOnly, SameSite=Strict, not Secure over plain http; sign out ends the session', async () => {
    const { context, page } = await signIn(rig, rig.api.adminKey);
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'ccj_console');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.secure, false);
    assert.equal(cookie.path, '/console');
    for (const name of ['Tasks', 'Task log', 'Processes', 'Jobs', 'Reports', 'Erasure', 'Audit log']) {
      assert.equal(await page.getByRole('link', { name, exact: true }).count(), 1, `nav link ${name}`);
    }
    const token = cookie.value;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/console/sign-in');
    // The old cookie, replayed, is no session any more: the row is gone, not only the browser's copy.
    const replay = await fetch(`${rig.api.base}/console/tasks`, { headers: { cookie: `ccj_console=${token}` }, redirect: 'manual' });
    assert.equal(replay.status, 303);
    assert.equal(replay.headers.get('location'), '/console/sign-in');
    assert.equal((await rig.env.sql`select count(*)::int as n from console_sessions where expires_at > now()`)[0].n, 0);
    await context.close();
  });

  test('a wrong key is refused with the reason; behind HTTPS (X-Forwarded-Proto) the cookie is Secure', async () => {
    const form = await fetch(`${rig.api.base}/console/sign-in`);
    const preCookie = form.headers.get('set-cookie')!.split(';')[0];
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1];
    const post = (apiKey: string) => fetch(`${rig.api.base}/console/sign-in`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams({ _csrf: csrf, apiKey }),
      headers: { cookie: preCookie, 'x-forwarded-proto': 'https', 'content-type': 'application/x-www-form-urlencoded' },
    });
    const wrong = await post('ccj_not-a-key');
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /not valid or has been revoked/);
    const ok = await post(rig.api.adminKey);
    assert.equal(ok.status, 303);
    const session = ok.headers.getSetCookie().find((c) => c.startsWith('ccj_console='))!;
    assert.match(session, /; HttpOnly/);
    assert.match(session, /; Secure/);
    assert.match(session, /; SameSite=Strict/);
  });

  test('a session past its expiry time is signed out', async () => {
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await rig.env.sql`update console_sessions set expires_at = now() - interval '1 second'`;
    await page.goto('/console/task-log');
    assert.match(page.url(), /\/console\/sign-in$/);
    await context.close();
  });

  test('every page carries a strict Content-Security-Policy', async () => {
    const res = await fetch(`${rig.api.base}/console/sign-in`);
    const csp = res.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  });
});

describe('task log and runs', () => {
  test('a finished run shows in the task log, links to its run page and to Temporal UI; filter and sort keep it', async () => {
    const campaignId = await newCampaign();
    const name = `log-${randomBytes(3).toString('hex')}`;
    const runId = await finishedReportRun(campaignId, name);
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.getByRole('link', { name: 'Task log', exact: true }).click();
    const row = page.getByRole('row').filter({ hasText: name });
    await row.waitFor();
    assert.match(await row.innerText(), /completed/);
    assert.match(await row.getByRole('link', { name: 'Temporal UI' }).getAttribute('href') ?? '', /\/namespaces\/.+\/workflows\//);
    await page.getByLabel('Task').fill(name);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: 'Duration' }).click();
    assert.match(page.url(), /sort=duration/);
    await screenshot(page, 'task-log');
    assert.equal(await page.getByRole('row').filter({ hasText: name }).count(), 1);
    await page.getByRole('row').filter({ hasText: name }).getByRole('link', { name: 'Run', exact: true }).click();
    await page.getByText(runId).waitFor();
    assert.equal(await page.locator('[data-status]').innerText(), 'completed');
    await context.close();
  });

  test('a campaign named like markup shows as text and runs no script', async () => {
    const evil = `<img src=x onerror=alert(1)> ${randomBytes(2).toString('hex')}`;
    const campaignId = await newCampaign(evil);
    await finishedReportRun(campaignId);
    const { context, page, dialogs } = await signIn(rig, rig.api.adminKey);
    await page.goto(`/console/task-log?objectName=${encodeURIComponent(evil)}`);
    await page.getByRole('cell', { name: evil, exact: true }).waitFor();
    assert.equal(await page.locator('main img').count(), 0);
    assert.deepEqual(dialogs, []);
    await context.close();
  });
});

describe('what the server refuses', () => {
  test('a form posted without its CSRF token is refused and does nothing', async () => {
    const { context } = await signIn(rig, rig.api.adminKey);
    const res = await context.request.post('/console/sign-out', { form: {}, maxRedirects: 0 });
    assert.equal(res.status(), 403);
    assert.match(await res.text(), /CSRF token/);
    assert.equal((await context.request.get('/console/tasks', { maxRedirects: 0 })).status(), 200, 'still signed in');
    await context.close();
  });

  test('a viewer sees no action buttons, and the server answers 403 to a forged run or cancel', async () => {
    const campaignId = await newCampaign();
    const runId = await finishedReportRun(campaignId);
    const [definition] = await rig.env.sql<{ id: string }[]>`select definition_id::text as id from runs where run_id = ${runId}`;
    const viewer = await rig.api.newKey('viewer', false);
    const { context, page } = await signIn(rig, viewer);
    assert.equal(await page.getByRole('button', { name: 'Run now' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0);
    const _csrf = await csrfOf(page);
    const runs = async () => (await rig.env.sql`select count(*)::int as n from runs`)[0].n;
    const before = await runs();
    const start = await context.request.post(`/console/tasks/${definition.id}/run`, { form: { _csrf }, maxRedirects: 0 });
    assert.equal(start.status(), 403);
    assert.match(await start.text(), /operator role/);
    const cancel = await context.request.post(`/console/runs/${encodeURIComponent(runId)}/cancel`, { form: { _csrf }, maxRedirects: 0 });
    assert.equal(cancel.status(), 403);
    assert.equal(await runs(), before);
    await context.close();
  });
});
