// The console's definition pages in a real chromium: a job made of steps created, run and seen step by step;
// destinations with write-only secrets and a connection test; API keys shown once and revoked.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { screenshot, signIn, startConsoleRig, type ConsoleRig } from './console-helpers.js';
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
    await page.getByRole('link', { name: 'New job' }).click();
    const name = `job-${randomBytes(3).toString('hex')}`;
    await page.getByLabel('Name', { exact: true }).fill(name);
    const step = page.getByRole('group', { name: /^Step 1/ });
    await step.getByLabel('Step name').fill('make the report');
    await step.getByLabel('Settings').fill(JSON.stringify({ reportId: report.json.id }));
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
    await page.goto('/console/jobs/new');
    await page.getByLabel('Name', { exact: true }).fill('broken job');
    await page.getByText('Advanced: steps as JSON').click();
    await page.getByLabel('Steps as JSON').fill('[{ "name": "a", "kind": "report", "reportId": "1", "onSuccess": "nowhere" }]');
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Create job from JSON' }).click()]);
    assert.equal(response.status(), 400);
    await page.getByRole('alert').filter({ hasText: 'steps' }).waitFor();
    assert.equal((await rig.env.sql`select count(*)::int as n from job_definitions where name = 'broken job'`)[0].n, 0);
    await context.close();
  });
});

describe('the step editor', () => {
  test('a job of three steps with a failure link is built card by card, saved and shown; a cycle is refused with the API\'s message', async () => {
    const campaign = await rig.api.call('POST', '/campaigns', { body: { name: `steps-${randomBytes(3).toString('hex')}`, timezone: 'UTC' } });
    const report = await rig.api.call('POST', '/reports', { body: {
      name: `for-steps-${randomBytes(3).toString('hex')}`, type: 'summary', campaignId: campaign.json.id, timeframe: { kind: 'entire-campaign' },
    } });
    assert.equal(report.status, 201, JSON.stringify(report.json));
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('link', { name: 'New job' }).click();
    const name = `three steps ${randomBytes(3).toString('hex')}`;
    await page.getByLabel('Name', { exact: true }).fill(name);
    const card = (n: number) => page.getByRole('group', { name: new RegExp(`^Step ${n}`) });
    const fill = async (n: number, stepName: string, kind: string, settings: unknown) => {
      await card(n).getByLabel('Step name').fill(stepName);
      await card(n).getByLabel('Type').selectOption(kind);
      await card(n).getByLabel('Settings').fill(JSON.stringify(settings));
    };
    await fill(1, 'make the report', 'report', { reportId: report.json.id });
    // Add, remove and reorder re-render the form in place (htmx), keeping what was typed.
    await page.getByRole('button', { name: 'Add step' }).click();
    await card(2).waitFor();
    assert.equal(await card(1).getByLabel('Step name').inputValue(), 'make the report');
    await fill(2, 'tell ops', 'email', { to: ['ops@example.com'], subject: 'The report failed' });
    await page.getByRole('button', { name: 'Add step' }).click();
    await card(3).waitFor();
    await fill(3, 'mail it', 'email', { to: ['ops@example.com'], attach: 'previous' });
    await page.getByRole('button', { name: 'Add step' }).click();
    await card(4).waitFor();
    await page.getByRole('button', { name: 'Remove (Step 4)' }).click();
    await card(4).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Move up (Step 3)' }).click();
    await page.getByRole('group', { name: 'Step 2: mail it' }).waitFor();
    // The links, by the seed's names: the report fails over to "tell ops"; "mail it" ends the job; "tell ops" fails it.
    await card(1).getByLabel('Next Failure Step').selectOption({ label: 'step 3: tell ops' });
    await card(2).getByLabel('Next Success Step').selectOption('end');
    await card(3).getByLabel('Next Success Step').selectOption('fail');
    await page.getByRole('button', { name: 'Create job' }).click();
    await page.waitForURL(/\/console\/jobs\/\d+\?notice=Job\+created/);
    const steps = page.getByRole('table', { name: 'Steps of the job' });
    assert.match(await steps.getByRole('row').filter({ hasText: 'make the report' }).innerText(), /make the report\s+report\s+mail it\s+tell ops/);
    assert.match(await steps.getByRole('row').filter({ hasText: /^mail it/ }).innerText(), /mail it\s+email\s+end\s+fail/);
    assert.match(await steps.getByRole('row').filter({ hasText: /^tell ops/ }).innerText(), /tell ops\s+email\s+fail\s+fail/);
    const jobId = /\/console\/jobs\/(\d+)/.exec(page.url())![1];
    const saved = (await rig.api.call('GET', `/jobs/${jobId}`)).json;
    assert.deepEqual(saved.steps, [
      { name: 'make the report', kind: 'report', reportId: report.json.id, onFailure: 'tell ops' },
      { name: 'mail it', kind: 'email', to: ['ops@example.com'], attach: 'previous', onSuccess: 'end' },
      { name: 'tell ops', kind: 'email', to: ['ops@example.com'], subject: 'The report failed', onSuccess: 'fail' },
    ]);
    await screenshot(page, 'job-steps');

    // A cycle: "mail it" leads back to the report. The API's 400 names the step; nothing changes.
    await card(2).getByLabel('Next Success Step').selectOption({ label: 'step 1: make the report' });
    const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Save job' }).click()]);
    assert.equal(refused.status(), 400);
    await page.getByRole('alert').filter({ hasText: /is part of a cycle/ }).waitFor();
    assert.equal(await card(2).getByLabel('Next Success Step').inputValue(), '#0', 'the form keeps what was sent');
    assert.deepEqual((await rig.api.call('GET', `/jobs/${jobId}`)).json.steps, saved.steps);
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
