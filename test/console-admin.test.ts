// The console's definition pages in a real chromium: a job made of steps created, run and seen step by step;
// destinations with write-only secrets and a connection test; API keys shown once and revoked.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signIn, startConsoleRig, type ConsoleRig } from './console-helpers.js';
import { startSalesforceStandin } from './harness/salesforce-standin.js';
import { testScratchDir } from './harness/scratch.js';

let rig: ConsoleRig;

before(async () => { rig = await startConsoleRig(); });
after(async () => { await rig?.stop(); });

describe('jobs made of steps', () => {
  test('a job created with its steps runs now and shows each step of the run', async () => {
    const campaign = await rig.api.call('POST', '/campaigns', { body: { name: `jobs-${randomBytes(3).toString('hex')}`, timezone: 'UTC' } });
    const report = await rig.api.call('POST', '/reports', { body: {
      name: `for-job-${randomBytes(3).toString('hex')}`, type: 'summary', campaignId: campaign.json.id, timeframe: { kind: 'entire-campaign' }, schedule: { cron: '0 3 1 1 *' },
    } });
    assert.equal(report.status, 201, JSON.stringify(report.json));
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    const name = `job-${randomBytes(3).toString('hex')}`;
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Steps').fill(JSON.stringify([{ name: 'make the report', kind: 'report', reportId: report.json.id }]));
    await page.getByRole('button', { name: 'Create job' }).click();
    await page.waitForURL(/\/console\/jobs\/\d+\?notice=/);
    assert.match(await page.getByRole('row').filter({ hasText: 'make the report' }).innerText(), /report\s+end\s+fail/);
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/\/console\/runs\/job/);
    await page.locator('[data-status="completed"]').waitFor({ timeout: 30_000 });
    await page.goBack();
    await page.reload();
    assert.match(await page.getByRole('row').filter({ hasText: 'make the report' }).last().innerText(), /completed/);
    await context.close();
  });

  test('steps that are not JSON, or that the API refuses, are 400 naming the field; nothing is saved', async () => {
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.goto('/console/jobs');
    await page.getByLabel('Name', { exact: true }).fill('broken job');
    await page.getByLabel('Steps').fill('[{ "name": "a", "kind": "report", "reportId": "1", "onSuccess": "nowhere" }]');
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Create job' }).click()]);
    assert.equal(response.status(), 400);
    await page.getByRole('alert').filter({ hasText: 'steps' }).waitFor();
    assert.equal((await rig.env.sql`select count(*)::int as n from job_definitions where name = 'broken job'`)[0].n, 0);
    await context.close();
  });
});

describe('job definitions of the job kinds', () => {
  test('a results export job is tested and run now from the Jobs page', async () => {
    const folder = path.join(testScratchDir(), `console-results-${randomBytes(3).toString('hex')}`);
    await mkdir(folder, { recursive: true });
    const destination = await rig.api.call('POST', '/destinations', { body: { name: `results-${randomBytes(3).toString('hex')}`, protocol: 'file', path: folder } });
    assert.equal(destination.status, 201, JSON.stringify(destination.json));
    const campaign = await rig.api.call('POST', '/campaigns', { body: { name: `results-${randomBytes(3).toString('hex')}`, timezone: 'UTC' } });
    const name = `hourly results ${randomBytes(3).toString('hex')}`;
    const job = await rig.api.call('POST', '/results-export-jobs', { body: {
      name, enabled: true, campaignId: campaign.json.id, format: 'simple', schedule: { startAt: '2030-01-01T00:00:00Z', every: '1h' },
      destinationId: destination.json.id, path: 'results.csv',
    } });
    assert.equal(job.status, 201, JSON.stringify(job.json));
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    const row = page.getByRole('row').filter({ hasText: name });
    await row.getByRole('button', { name: 'Test connection' }).click();
    await page.getByRole('status').filter({ hasText: 'Test connection: passed' }).waitFor();
    await page.getByRole('row').filter({ hasText: name }).getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/\/console\/runs\//);
    await page.locator('[data-status="completed"]').waitFor({ timeout: 30_000 });
    await context.close();
  });
});

describe('destinations and keys', () => {
  test('a destination\'s password is never shown back; Test connection reports the API\'s answer', async () => {
    const folder = path.join(testScratchDir(), `console-dest-${randomBytes(3).toString('hex')}`);
    await mkdir(folder, { recursive: true });
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.goto('/console/destinations');
    const form = page.getByRole('group', { name: 'New destination' });
    await form.getByLabel('Name', { exact: true }).fill('local drop');
    await form.getByLabel('Protocol').selectOption('file');
    await form.getByLabel('Path').fill(folder);
    await form.getByLabel('Password').fill('never-shown-7f3a');
    await page.getByRole('button', { name: 'Create destination' }).click();
    await page.waitForURL(/notice=Destination/);
    assert.doesNotMatch(await page.content(), /never-shown-7f3a/);
    const row = page.getByRole('row').filter({ hasText: 'local drop' });
    assert.match(await row.innerText(), /••••/);
    await row.getByRole('button', { name: 'Test connection' }).click();
    await page.getByRole('status').filter({ hasText: 'Connection test passed' }).waitFor();
    await context.close();
  });

  test('a Salesforce account\'s secrets are never shown back; Test connection passes, or shows why not', async () => {
    const user = { username: 'ops@example.com', password: 'sf-pass-91c2', securityToken: 'sf-token-5d1e' };
    const sf = await startSalesforceStandin({ users: [user] });
    try {
      const { context, page } = await signIn(rig, rig.api.adminKey);
      await page.goto('/console/destinations');
      const create = async (name: string, token: string) => {
        const form = page.getByRole('group', { name: 'New Salesforce account' });
        await form.getByLabel('Name', { exact: true }).fill(name);
        await form.getByLabel('Login URL').fill(sf.url);
        await form.getByLabel('User name').fill(user.username);
        await form.getByLabel('Password').fill(user.password);
        await form.getByLabel('Security token').fill(token);
        await page.getByRole('button', { name: 'Create Salesforce account' }).click();
        await page.waitForURL(/notice=Salesforce/);
      };
      await create('sales org', user.securityToken);
      await create('wrong token org', 'nope');
      assert.doesNotMatch(await page.content(), /sf-pass-91c2|sf-token-5d1e/);
      await page.getByRole('row').filter({ hasText: 'sales org' }).filter({ hasNotText: 'wrong' }).getByRole('button', { name: 'Test connection' }).click();
      await page.getByRole('status').filter({ hasText: 'Connection test passed' }).waitFor();
      const [refused] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST'),
        page.getByRole('row').filter({ hasText: 'wrong token org' }).getByRole('button', { name: 'Test connection' }).click(),
      ]);
      assert.equal(refused.status(), 422);
      await page.getByRole('alert').waitFor();
      await context.close();
    } finally {
      await sf.close();
    }
  });

  test('a new API key is shown once; revoking it ends a session signed in with it', async () => {
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.getByRole('link', { name: 'API keys', exact: true }).click();
    await page.getByLabel('Name', { exact: true }).fill('night shift');
    await page.getByLabel('Role').selectOption('operator');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.locator('[data-new-key]').innerText();
    assert.match(key, /^ccj_/);
    const other = await signIn(rig, key);
    await page.goto('/console/api-keys');
    assert.doesNotMatch(await page.content(), new RegExp(key));
    await page.getByRole('row').filter({ hasText: 'night shift' }).getByRole('button', { name: 'Revoke' }).click();
    await page.waitForURL(/notice=Key\+revoked/);
    // The revoked key's session: its next page is refused by the API (401) and the session ends with it.
    const refused = await other.page.goto('/console/tasks');
    assert.equal(refused?.status(), 401);
    await other.page.goto('/console/tasks');
    assert.match(other.page.url(), /\/console\/sign-in$/);
    await other.context.close();
    await context.close();
  });
});
