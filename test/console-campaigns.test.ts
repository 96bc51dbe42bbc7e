// The console's campaign and blacklist pages in a real chromium: campaign state stop/start/complete; contact
// exports, deletions and status changes (each dry run first, then the run); a results download and its file; the
// blacklist searched, added to, removed from and imported into; a viewer sees no action.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { screenshot, signIn, startConsoleRig, type ConsoleRig } from './console-helpers.js';
import { seedProcessCampaign } from './contact-process-helpers.js';
import { testScratchDir } from './harness/scratch.js';

let rig: ConsoleRig;

before(async () => { rig = await startConsoleRig(); });
after(async () => { await rig?.stop(); });

const completed = async (page: Page) => {
  await page.waitForURL(/\/console\/runs\//);
  await page.locator('[data-status="completed"]').waitFor({ timeout: 60_000 });
};
const statusOf = async (campaignId: string, clientId: string) =>
  (await rig.env.sql`select status from contacts where campaign_id = ${campaignId} and client_id = ${clientId}`)[0]?.status;

describe('a campaign', () => {
  test('state, contact export, deletion and status change with dry runs, results download', async () => {
    const { campaignId } = await seedProcessCampaign(rig.env.sql, 'console');
    const campaign = (await rig.api.call('GET', `/campaigns/${campaignId}`)).json;
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    await page.getByRole('link', { name: campaign.name, exact: true }).click();
    const campaignUrl = page.url();

    // State: stop, start again.
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('status').filter({ hasText: 'The campaign is stopped.' }).waitFor();
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByRole('status').filter({ hasText: 'The campaign is running.' }).waitFor();

    // Deletion, dry run: the count, nothing deleted.
    const deletion = page.getByRole('group', { name: 'Delete contacts' });
    await deletion.getByLabel('Deletion filter').fill('{"statuses": ["Closed"]}');
    await deletion.getByRole('button', { name: 'Dry run' }).click();
    await page.getByRole('status').filter({ hasText: 'Dry run: 2 contacts match; nothing was changed.' }).waitFor();
    assert.equal(await statusOf(campaignId, 'P1'), 'Closed');

    // Status change: the API's 400 when nothing would change (shown above the forms), a dry run, then the run.
    const change = page.getByRole('group', { name: 'Change status' });
    await change.getByLabel('Status change filter').fill('{"statuses": ["Postponed"]}');
    const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), change.getByRole('button', { name: 'Change status' }).click()]);
    assert.equal(refused.status(), 400);
    await page.getByRole('alert').filter({ hasText: 'change something' }).waitFor();
    await change.getByLabel('Status change filter').fill('{"statuses": ["Postponed"]}');
    await change.getByLabel('New status').selectOption('Remaining');
    await change.getByRole('button', { name: 'Dry run' }).click();
    await page.getByRole('status').filter({ hasText: 'Dry run: 1 contact match; nothing was changed.' }).waitFor();
    assert.equal(await statusOf(campaignId, 'P3'), 'Postponed');
    await change.getByLabel('Status change filter').fill('{"statuses": ["Postponed"]}');
    await change.getByLabel('New status').selectOption('Remaining');
    await change.getByRole('button', { name: 'Change status' }).click();
    await completed(page);
    assert.equal(await statusOf(campaignId, 'P3'), 'Remaining');

    // Export, then the deletion itself.
    await page.goto(campaignUrl);
    await screenshot(page, 'campaign');
    const exporting = page.getByRole('group', { name: 'Export contacts' });
    await exporting.getByLabel('Fields').fill('client_id, name');
    await exporting.getByLabel('Export filter').fill('{"statuses": ["Closed"]}');
    await exporting.getByRole('button', { name: 'Export contacts' }).click();
    await completed(page);
    await page.goto(campaignUrl);
    await deletion.getByLabel('Deletion filter').fill('{"statuses": ["Closed"]}');
    await deletion.getByRole('button', { name: 'Delete contacts' }).click();
    await completed(page);
    assert.equal(await statusOf(campaignId, 'P1'), undefined);
    assert.equal(await statusOf(campaignId, 'P4'), 'Remaining');

    // Results download: the run, then its file through the console.
    await page.goto(campaignUrl);
    await page.getByRole('group', { name: 'Download results' }).getByLabel('Format').selectOption('simple');
    await page.getByRole('button', { name: 'Download results' }).click();
    await completed(page);
    const href = await page.getByRole('link', { name: 'Download the results file' }).getAttribute('href');
    const file = await context.request.get(href!);
    assert.equal(file.status(), 200);
    assert.match(file.headers()['content-disposition'] ?? '', /attachment/);

    // Complete: the end of the campaign.
    await page.goto(campaignUrl);
    await page.getByRole('button', { name: 'Complete' }).click();
    await page.getByRole('status').filter({ hasText: 'The campaign is completed.' }).waitFor();
    assert.equal((await rig.api.call('GET', `/campaigns/${campaignId}`)).json.state, 'completed');
    await context.close();
  });

  test('a viewer sees the campaign and the blacklist but no action', async () => {
    const { campaignId } = await seedProcessCampaign(rig.env.sql, 'console-viewer');
    const { context, page } = await signIn(rig, await rig.api.newKey('viewer', false));
    await page.goto(`/console/campaigns/${campaignId}`);
    await page.getByText('State:').waitFor();
    assert.equal(await page.getByRole('button', { name: /Stop|Complete|Dry run|Export contacts|Delete contacts|Download results/ }).count(), 0);
    await page.goto('/console/blacklist');
    assert.equal(await page.getByRole('button', { name: /Add|Import|Remove/ }).count(), 0);
    await context.close();
  });
});

describe('the blacklist', () => {
  test('an entry added, found, removed; entries imported from a destination file', async () => {
    const folder = path.join(testScratchDir(), `console-blacklist-${randomBytes(3).toString('hex')}`);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'blocked.txt'), 'blocked@example.com\n+15558807777\n');
    const destinationName = `blacklist-${randomBytes(3).toString('hex')}`;
    const destination = await rig.api.call('POST', '/destinations', { body: { name: destinationName, protocol: 'file', path: folder } });
    assert.equal(destination.status, 201, JSON.stringify(destination.json));

    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.getByRole('link', { name: 'Blacklist', exact: true }).click();
    await page.getByLabel('Phone number or e-mail address').fill('+1 512 555 0142');
    await page.getByLabel('Name', { exact: true }).fill('Dana Whitfield');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Added to the blacklist' }).waitFor();
    await page.getByLabel('Number, address or name').fill('Dana');
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.getByRole('row').filter({ hasText: 'Dana Whitfield' });
    assert.match(await row.innerText(), /\+15125550142\s+phone\s+Dana Whitfield/);
    await row.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('status').filter({ hasText: 'Removed from the blacklist' }).waitFor();
    assert.equal(await page.getByRole('row').filter({ hasText: 'Dana Whitfield' }).count(), 0);

    await page.getByRole('group', { name: 'Import blacklist entries' }).getByLabel('Destination').selectOption({ label: destinationName });
    await page.getByLabel('File path').fill('blocked.txt');
    await page.getByRole('button', { name: 'Import' }).click();
    await completed(page);
    await page.getByRole('link', { name: 'Blacklist', exact: true }).click();
    await page.getByRole('row').filter({ hasText: 'blocked@example.com' }).waitFor();
    await page.getByRole('row').filter({ hasText: '+15558807777' }).waitFor();
    await context.close();
  });
});
