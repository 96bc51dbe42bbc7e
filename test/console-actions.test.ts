// The console's actions in a real chromium: running a report and watching it complete without a reload,
// creating a scheduled report and seeing its next run, cancelling a running import, erasing through the
// preview and the seed's warning, verifying the audit chain, and doing it all from the keyboard.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { screenshot, signIn, startConsoleRig, type ConsoleRig } from './console-helpers.js';
import { addInteraction, newCampaign as newErasureCampaign } from './erasure-fixtures.js';
import { seededCampaign } from './list-import-helpers.js';

let rig: ConsoleRig;

before(async () => { rig = await startConsoleRig(); });
after(async () => { await rig?.stop(); });

async function newCampaign(): Promise<{ id: string; name: string }> {
  const name = `console-${randomBytes(4).toString('hex')}`;
  const res = await rig.api.call('POST', '/campaigns', { body: { name, timezone: 'UTC' } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return { id: res.json.id, name };
}

/** A report scheduled once a year, so nothing runs it but the test. */
async function scheduledReport(campaignId: string): Promise<{ id: string; name: string }> {
  const name = `yearly-${randomBytes(3).toString('hex')}`;
  const res = await rig.api.call('POST', '/reports', { body: { name, type: 'all-attempts', campaignId, timeframe: { kind: 'entire-campaign' }, schedule: { cron: '0 3 1 1 *' } } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return { id: res.json.id, name };
}

/** Counts the page's own navigations (a reload or a link followed) from now on. */
function navigationsOf(page: Page): { count: number } {
  const seen = { count: 0 };
  page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) seen.count++; });
  return seen;
}

describe('reports', () => {
  test('Run now opens the run, whose progress reaches completed without reloading the page; its file is then saved', async () => {
    const campaign = await newCampaign();
    const report = await scheduledReport(campaign.id);
    const gate = { open: false };
    rig.gates.reports.set(report.id, gate);
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.getByRole('link', { name: 'Reports', exact: true }).click();
    await page.getByRole('link', { name: report.name }).click();
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/\/console\/runs\/report/);
    await page.locator('[data-status="running"]').waitFor();
    await screenshot(page, 'run');
    const tasks = await context.newPage();
    await tasks.goto('/console/tasks');
    const inProgress = tasks.getByRole('row').filter({ hasText: report.name }).filter({ hasText: 'in progress' });
    await inProgress.getByRole('button', { name: 'Cancel' }).focus();
    // Two refreshes of the live table later the keyboard focus is still on the same Cancel button.
    for (let i = 0; i < 2; i++) await tasks.waitForResponse((r) => r.url().includes('/console/tasks/live'));
    assert.equal(await tasks.evaluate('document.activeElement.textContent'), 'Cancel');
    assert.equal(await tasks.evaluate('document.activeElement.closest("tr").textContent.includes("in progress")'), true);
    await screenshot(tasks, 'tasks');
    await tasks.close();
    const navigations = navigationsOf(page);
    gate.open = true;
    await page.locator('[data-status="completed"]').waitFor({ timeout: 30_000 });
    assert.equal(navigations.count, 0, 'the status changed in place');
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0, 'a finished run has no Cancel');
    await page.goto(`/console/reports/${report.id}`);
    await screenshot(page, 'report');
    const file = page.getByRole('row').filter({ hasText: '.csv' }).getByRole('link').first();
    const download = await Promise.all([page.waitForEvent('download'), file.click()]).then(([d]) => d);
    assert.match(download.suggestedFilename(), /\.(csv|zip)$/);
    await context.close();
  });

  test('a report created with a schedule shows its next run', async () => {
    const campaign = await newCampaign();
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.goto('/console/reports');
    const name = `weekday-${randomBytes(3).toString('hex')}`;
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Type').selectOption('summary');
    await page.getByLabel('Campaign').selectOption({ label: campaign.name });
    await page.getByLabel('Timeframe').selectOption('yesterday');
    await page.getByLabel('Schedule').fill('0 6 * * 1-5');
    await page.getByRole('button', { name: 'Create report' }).click();
    await page.waitForURL(/\/console\/reports\/\d+/);
    assert.match(await page.locator('[data-next-run]').innerText(), /^\d{4}-\d{2}-\d{2} 06:00:00 UTC$/);
    await page.getByRole('link', { name: 'Reports', exact: true }).click();
    assert.match(await page.getByRole('row').filter({ hasText: name }).innerText(), /0 6 \* \* 1-5/);
    await context.close();
  });

  test('a refused definition shows the API\'s problem naming the field, and nothing is created', async () => {
    const campaign = await newCampaign();
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.goto('/console/reports');
    await page.getByLabel('Name').fill('bad schedule');
    await page.getByLabel('Campaign').selectOption({ label: campaign.name });
    await page.getByLabel('Schedule').fill('every tuesday');
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Create report' }).click()]);
    assert.equal(response.status(), 400);
    await page.getByRole('alert').filter({ hasText: 'schedule.cron' }).waitFor();
    assert.equal((await rig.env.sql`select count(*)::int as n from job_definitions where name = 'bad schedule'`)[0].n, 0);
    await context.close();
  });
});

describe('processes', () => {
  test('a running import is cancelled from the Processes page and shows cancelled', async () => {
    const campaignId = await seededCampaign(rig.env.sql, 'console');
    rig.gates.imports.set(campaignId, { open: false });
    const upload = await fetch(`${rig.api.base}/uploads`, { method: 'POST', headers: { authorization: `Bearer ${rig.api.adminKey}`, 'content-type': 'text/csv' }, body: 'client_id,name,phone\nN1,New,+15550001111\n' });
    const { uploadId } = await upload.json() as { uploadId: string };
    const started = await rig.api.call('POST', `/campaigns/${campaignId}/imports`, { body: { source: { uploadId } } });
    assert.equal(started.status, 202, JSON.stringify(started.json));
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.getByRole('link', { name: 'Processes', exact: true }).click();
    const row = page.getByRole('row').filter({ has: page.locator('[data-status="running"]') }).filter({ hasText: `upload:${uploadId}` });
    await row.waitFor({ timeout: 30_000 });
    await screenshot(page, 'processes');
    await row.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL(/\/console\/processes\?notice=/);
    await page.getByRole('row').filter({ hasText: `upload:${uploadId}` }).locator('[data-status="cancelled"]').waitFor({ timeout: 30_000 });
    assert.equal((await rig.env.sql`select count(*)::int as n from contacts where campaign_id = ${campaignId} and client_id = 'N1'`)[0].n, 0);
    await context.close();
  });

  test('choosing a campaign shows its lists with their contacts per status', async () => {
    const campaign = await newCampaign();
    for (const clientId of ['A1', 'A2']) {
      const res = await rig.api.call('POST', `/campaigns/${campaign.id}/contacts`, { body: { clientId, phones: [{ number: '+15550002222' }], listName: 'spring-promo' } });
      assert.equal(res.status, 201, JSON.stringify(res.json));
    }
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.goto('/console/processes');
    await page.getByLabel('Campaign').selectOption({ label: campaign.name });
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('heading', { name: 'The campaign\'s lists' }).waitFor();
    assert.match(await page.getByRole('row').filter({ hasText: 'spring-promo' }).innerText(), /spring-promo\s+2\s+Remaining: 2/);
    await context.close();
  });
});

describe('erasure and the audit log', () => {
  test('scope and reason → Preview with counts → the seed\'s warning → Confirm erasure; the run completes and its audit entries verify', async () => {
    const campaignId = await newErasureCampaign(rig.env);
    const [{ name: campaignName }] = await rig.env.sql<{ name: string }[]>`select name from campaigns where id = ${campaignId}`;
    const interaction = await addInteraction(rig.env, campaignId, 'voice', '2025-03-01T15:00:00Z');
    const eraser = await rig.api.newKey('admin', true);
    const { context, page } = await signIn(rig, eraser);
    await page.getByRole('link', { name: 'Erasure', exact: true }).click();
    await page.getByLabel('Campaign').selectOption({ label: campaignName });
    await page.getByLabel('voice-recording').check();
    await page.getByLabel('Date', { exact: true }).fill('2025-03-01');
    await page.getByLabel('Reason').fill('customer asked to be forgotten');
    await page.getByRole('button', { name: 'Preview' }).click();
    assert.equal(await page.locator('[data-interactions]').innerText(), '1');
    assert.equal(await page.getByRole('row').filter({ hasText: 'voice-recording' }).getByRole('cell').nth(1).innerText(), '3', 'the call and its two agent segments');
    assert.equal(await page.getByRole('alert').innerText(), 'The requested operation will irrevocably destroy the recording of selected interaction(s).');
    await screenshot(page, 'erasure-preview');
    await page.getByRole('button', { name: 'Confirm erasure' }).click();
    await page.waitForURL(/\/console\/runs\/erasure/);
    await page.locator('[data-status="completed"]').waitFor({ timeout: 30_000 });
    const erased = await rig.env.sql`select count(*)::int as n from interaction_content where interaction_id = ${interaction.id} and kind = 'voice-recording' and erased_at is not null`;
    assert.equal(erased[0].n, 3);
    await page.getByRole('link', { name: 'Audit entries' }).click();
    const actions = await page.locator('tbody tr td:nth-child(4)').allInnerTexts();
    assert.ok(actions.some((a) => a.startsWith('erasure.')), actions.join(', '));
    assert.ok(await page.getByRole('cell', { name: 'customer asked to be forgotten' }).count() > 0);
    await page.getByRole('button', { name: 'Verify' }).click();
    assert.match(await page.getByRole('status').innerText(), /^Chain verified: \d+ entries/);
    await screenshot(page, 'audit-log');
    await context.close();
  });

  test('a key without the erase privilege is offered no erasure, and a forged preview is 403 from the API', async () => {
    const operator = await rig.api.newKey('operator', false);
    const { context, page } = await signIn(rig, operator);
    await page.goto('/console/erasure');
    assert.equal(await page.getByRole('button', { name: 'Preview' }).count(), 0);
    const _csrf = await page.locator('input[name="_csrf"]').first().getAttribute('value');
    const forged = await context.request.post('/console/erasure/preview', { form: { _csrf: _csrf!, campaignId: '1', items: 'voice-recording', date: '2025-03-01', reason: 'x' } });
    assert.equal(forged.status(), 403);
    assert.match(await forged.text(), /erase privilege/);
    await context.close();
  });
});

describe('keyboard and labels', () => {
  test('signing in and running a report now work from the keyboard alone', async () => {
    const campaign = await newCampaign();
    const report = await scheduledReport(campaign.id);
    const context = await rig.browser.newContext({ baseURL: rig.api.base });
    const page = await context.newPage();
    await page.goto('/console/sign-in');
    await page.keyboard.type(rig.api.adminKey); // the API key field has the focus
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Sign in');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/console/tasks');
    await page.goto(`/console/reports/${report.id}`);
    for (let i = 0; i < 40 && await page.evaluate('document.activeElement.textContent') !== 'Run now'; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Run now');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/runs\/report/);
    await context.close();
  });

  test('every form field on every page has a label', async () => {
    const { context, page } = await signIn(rig, rig.api.adminKey);
    for (const path of ['/console/tasks', '/console/task-log', '/console/processes', '/console/reports', '/console/erasure', '/console/audit-log']) {
      await page.goto(path);
      const unlabelled = await page.evaluate(`[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter((field) => field.labels.length === 0 && !field.getAttribute('aria-label')).map((field) => field.name)`);
      assert.deepEqual(unlabelled, [], path);
    }
    await context.close();
  });
});
