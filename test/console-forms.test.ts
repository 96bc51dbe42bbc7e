// The console's create/edit forms of job definitions in a real chromium: a recording export job created
// through the form is listed with its next run, edited (name, enabled), a bad value shows the API's problem
// and changes nothing; a viewer sees no form.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signIn, startConsoleRig, type ConsoleRig } from './console-helpers.js';
import { startSalesforceStandin } from './harness/salesforce-standin.js';
import { testScratchDir } from './harness/scratch.js';
import { CALL_RESULT_FIELDS, FIELD_MAP, SF_USER } from './salesforce-helpers.js';

let rig: ConsoleRig;
let campaignName: string;
let destinationName: string;

before(async () => {
  rig = await startConsoleRig();
  const folder = path.join(testScratchDir(), `console-forms-${randomBytes(3).toString('hex')}`);
  await mkdir(folder, { recursive: true });
  destinationName = `forms-dest-${randomBytes(3).toString('hex')}`;
  const destination = await rig.api.call('POST', '/destinations', { body: { name: destinationName, protocol: 'file', path: folder } });
  assert.equal(destination.status, 201, JSON.stringify(destination.json));
  campaignName = `forms-${randomBytes(3).toString('hex')}`;
  const campaign = await rig.api.call('POST', '/campaigns', { body: { name: campaignName, timezone: 'UTC' } });
  assert.equal(campaign.status, 201, JSON.stringify(campaign.json));
});
after(async () => { await rig?.stop(); });

const jobsNamed = async (name: string) => (await rig.api.call('GET', '/recording-export-jobs?limit=500')).json.items.filter((j: { name: string }) => j.name === name);

describe('recording export jobs', () => {
  test('created through the form, listed with its next run, edited; a bad value shows the API\'s problem and changes nothing', async () => {
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('link', { name: 'New recording export job' }).click();
    const name = `nightly ${randomBytes(3).toString('hex')}`;
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Campaign').selectOption({ label: campaignName });
    await page.getByLabel('Destination').selectOption({ label: destinationName });
    await page.getByLabel('Completed after').fill('2025-01-01T00:00:00Z');
    await page.getByLabel('Schedule', { exact: true }).fill('1h');
    await page.getByRole('button', { name: 'Create recording export job' }).click();
    await page.waitForURL(/\/console\/jobs\?notice=/);
    const row = page.getByRole('row').filter({ hasText: name });
    assert.match(await row.innerText(), /complete\s+1h\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+yes/);
    const [created] = await jobsNamed(name);
    assert.ok(created.nextRunAt);

    // A bad schedule with a new name: the API's 400 naming the field, shown above the form; nothing saved.
    await row.getByRole('link', { name }).click();
    await page.getByLabel('Name', { exact: true }).fill(`${name} renamed`);
    await page.getByLabel('Schedule', { exact: true }).fill('every hour');
    const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Save recording export job' }).click()]);
    assert.equal(refused.status(), 400);
    await page.getByRole('alert').filter({ hasText: 'schedule' }).waitFor();
    assert.equal(await page.getByLabel('Schedule', { exact: true }).inputValue(), 'every hour');
    const [unchanged] = await jobsNamed(name);
    assert.deepEqual({ name: unchanged.name, schedule: unchanged.schedule, enabled: unchanged.enabled }, { name, schedule: { every: '1h' }, enabled: true });

    // A good edit: name and enabled (PATCH of the changed fields; the watermark stays).
    await page.getByLabel('Schedule', { exact: true }).fill('1h');
    await page.getByLabel('Enabled').uncheck();
    await page.getByRole('button', { name: 'Save recording export job' }).click();
    await page.waitForURL(/\/console\/jobs\?notice=/);
    assert.match(await page.getByRole('row').filter({ hasText: `${name} renamed` }).innerText(), /\bno\b/);
    const [edited] = await jobsNamed(`${name} renamed`);
    assert.equal(edited.enabled, false);
    assert.equal(edited.completedAfter, created.completedAfter);

    // A bad value in the create form: the API's problem, no job created.
    await page.goto('/console/recording-export-jobs/new');
    await page.getByLabel('Name', { exact: true }).fill(`${name} bad`);
    await page.getByLabel('Completed after').fill('yesterday');
    await page.getByLabel('Schedule', { exact: true }).fill('1h');
    const [bad] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Create recording export job' }).click()]);
    assert.equal(bad.status(), 400);
    await page.getByRole('alert').filter({ hasText: 'completedAfter' }).waitFor();
    assert.equal((await jobsNamed(`${name} bad`)).length, 0);
    await context.close();
  });

  test('a viewer sees no form, and a forged create is refused by the API (403), nothing saved', async () => {
    const [job] = (await rig.api.call('GET', '/recording-export-jobs?limit=500')).json.items;
    assert.ok(job, 'the first test created a job');
    const viewer = await rig.api.newKey('viewer', false);
    const { context, page } = await signIn(rig, viewer);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('row').filter({ hasText: job.name }).waitFor();
    assert.equal(await page.getByRole('link', { name: /^New recording export job/ }).count(), 0);
    assert.equal(await page.locator('a[href*="/recording-export-jobs/"]').count(), 0);
    for (const url of ['/console/recording-export-jobs/new', `/console/recording-export-jobs/${job.id}/edit`]) {
      await page.goto(url);
      assert.equal(await page.locator('main form').count(), 0, url);
    }
    const csrf = await page.locator('input[name="_csrf"]').first().getAttribute('value');
    const forged = await page.request.post('/console/recording-export-jobs', { form: {
      _csrf: csrf!, name: 'viewer job', enabled: 'on', completedAfter: '2025-01-01T00:00:00Z', destinationId: job.destinationId, campaignId: job.campaignId, schedule: '1h',
    } });
    assert.equal(forged.status(), 403);
    assert.equal((await jobsNamed('viewer job')).length, 0);
    await context.close();
  });
});

describe('results export jobs', () => {
  test('created through the form, listed with its next run, edited; a too short interval shows the API\'s problem and changes nothing', async () => {
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('link', { name: 'New results export job' }).click();
    const name = `hourly results ${randomBytes(3).toString('hex')}`;
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Campaign').selectOption({ label: campaignName });
    await page.getByLabel('Format').selectOption('simple');
    await page.getByLabel('First run').fill('2030-01-01T00:00:00Z');
    await page.getByLabel('Every').fill('1h');
    await page.getByLabel('Destination').selectOption({ label: destinationName });
    await page.getByLabel('Path').fill('results/hourly.csv');
    await page.getByRole('button', { name: 'Create results export job' }).click();
    await page.waitForURL(/\/console\/jobs\?notice=/);
    const row = page.getByRole('row').filter({ hasText: name });
    assert.match(await row.innerText(), /simple → results\/hourly\.csv\s+.*1h\s+2030-01-01 00:00:00 UTC\s+yes/);

    // simple results at most hourly: the API's rule, its 400 shown with the form; nothing saved
    await row.getByRole('link', { name }).click();
    await page.getByLabel('Name', { exact: true }).fill(`${name} renamed`);
    await page.getByLabel('Every').fill('5m');
    const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Save results export job' }).click()]);
    assert.equal(refused.status(), 400);
    await page.getByRole('alert').filter({ hasText: 'schedule' }).waitFor();
    const [unchanged] = (await rig.api.call('GET', '/results-export-jobs?limit=500')).json.items.filter((j: { name: string }) => j.name === name);
    assert.deepEqual({ every: unchanged.schedule.every, enabled: unchanged.enabled }, { every: '1h', enabled: true });

    await page.getByLabel('Every').fill('2h');
    await page.getByLabel('Enabled').uncheck();
    await page.getByRole('button', { name: 'Save results export job' }).click();
    await page.waitForURL(/\/console\/jobs\?notice=/);
    assert.match(await page.getByRole('row').filter({ hasText: `${name} renamed` }).innerText(), /2h.*\bno\b/s);
    const [edited] = (await rig.api.call('GET', '/results-export-jobs?limit=500')).json.items.filter((j: { name: string }) => j.name === `${name} renamed`);
    assert.deepEqual({ every: edited.schedule.every, enabled: edited.enabled, path: edited.path }, { every: '2h', enabled: false, path: 'results/hourly.csv' });
    await context.close();
  });
});

describe('Salesforce export jobs', () => {
  test('created through the form, listed with its next run, edited; a bad field map shows the API\'s problem and changes nothing', async () => {
    const sf = await startSalesforceStandin({ users: [SF_USER], objects: { Call_Result__c: CALL_RESULT_FIELDS } });
    try {
      const accountName = `sales org ${randomBytes(3).toString('hex')}`;
      const account = await rig.api.call('POST', '/salesforce-accounts', { body: { name: accountName, loginUrl: sf.url, username: SF_USER.username, password: SF_USER.password, securityToken: SF_USER.securityToken } });
      assert.equal(account.status, 201, JSON.stringify(account.json));
      const { context, page } = await signIn(rig, rig.api.adminKey);
      await page.getByRole('link', { name: 'Jobs', exact: true }).click();
      await page.getByRole('link', { name: 'New Salesforce export job' }).click();
      const name = `sf ${randomBytes(3).toString('hex')}`;
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByLabel('Campaign').selectOption({ label: campaignName });
      await page.getByLabel('Export created after').fill('2025-01-01T00:00:00Z');
      await page.getByLabel('Every').fill('1h');
      await page.getByLabel('Salesforce account').selectOption({ label: accountName });
      await page.getByLabel('Object').fill('Call_Result__c');
      await page.getByLabel('Field map').fill(JSON.stringify(FIELD_MAP));
      await page.getByLabel('External ID field').fill('Result_Key__c');
      await page.getByRole('button', { name: 'Create Salesforce export job' }).click();
      await page.waitForURL(/\/console\/jobs\?notice=/);
      const row = page.getByRole('row').filter({ hasText: name });
      assert.match(await row.innerText(), /simple → Call_Result__c\s+1h\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+yes/);
      const jobs = async (n: string) => (await rig.api.call('GET', '/salesforce-export-jobs?limit=500')).json.items.filter((j: { name: string }) => j.name === n);
      const [created] = await jobs(name);

      // a read-only Salesforce field: refused by the API against the object's describe; nothing saved
      await row.getByRole('link', { name }).click();
      await page.getByLabel('Name', { exact: true }).fill(`${name} renamed`);
      await page.getByLabel('Field map').fill(JSON.stringify({ ...FIELD_MAP, Formula__c: 'name' }));
      const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Save Salesforce export job' }).click()]);
      assert.equal(refused.status(), 400);
      await page.getByRole('alert').filter({ hasText: 'Formula__c' }).waitFor();
      assert.deepEqual((await jobs(name)).map((j: { fieldMap: unknown }) => j.fieldMap), [FIELD_MAP]);

      await page.getByLabel('Field map').fill(JSON.stringify(FIELD_MAP));
      await page.getByLabel('External ID field').fill('');
      await page.getByLabel('Enabled').uncheck();
      await page.getByRole('button', { name: 'Save Salesforce export job' }).click();
      await page.waitForURL(/\/console\/jobs\?notice=/);
      const [edited] = await jobs(`${name} renamed`);
      assert.deepEqual({ enabled: edited.enabled, externalIdField: edited.externalIdField, exportCreatedAfter: edited.exportCreatedAfter }, { enabled: false, externalIdField: undefined, exportCreatedAfter: created.exportCreatedAfter });
      await context.close();
    } finally {
      await sf.close();
    }
  });
});

describe('reports', () => {
  test('a report is edited (name, schedule, enabled) on its page; a bad crontab shows the API\'s problem and changes nothing', async () => {
    const campaign = (await rig.api.call('GET', '/campaigns?limit=500')).json.items.find((c: { name: string }) => c.name === campaignName);
    const name = `weekly-${randomBytes(3).toString('hex')}`;
    const report = await rig.api.call('POST', '/reports', { body: { name, type: 'summary', campaignId: campaign.id, timeframe: { kind: 'yesterday' }, schedule: { cron: '0 3 * * 1' } } });
    assert.equal(report.status, 201, JSON.stringify(report.json));
    const { context, page } = await signIn(rig, rig.api.adminKey);
    await page.getByRole('link', { name: 'Reports', exact: true }).click();
    await page.getByRole('link', { name }).click();
    await page.getByLabel('Name', { exact: true }).fill(`${name} renamed`);
    await page.getByLabel('Schedule').fill('every monday');
    const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Save report' }).click()]);
    assert.equal(refused.status(), 400);
    await page.getByRole('alert').filter({ hasText: 'schedule.cron' }).waitFor();
    assert.equal(await page.getByLabel('Schedule').inputValue(), 'every monday');
    const unchanged = (await rig.api.call('GET', `/reports/${report.json.id}`)).json;
    assert.deepEqual({ name: unchanged.name, cron: unchanged.schedule.cron, enabled: unchanged.enabled }, { name, cron: '0 3 * * 1', enabled: true });

    await page.getByLabel('Schedule').fill('0 6 * * 1-5');
    await page.getByLabel('Skip if empty').check();
    await page.getByRole('button', { name: 'Save report' }).click();
    await page.waitForURL(/\/console\/reports\/\d+\?notice=/);
    assert.match(await page.locator('[data-next-run]').innerText(), /^\d{4}-\d{2}-\d{2} 06:00:00 UTC$/);
    await page.getByLabel('Enabled').uncheck();
    await page.getByRole('button', { name: 'Save report' }).click();
    await page.waitForURL(/\/console\/reports\/\d+\?notice=/);
    const edited = (await rig.api.call('GET', `/reports/${report.json.id}`)).json;
    assert.deepEqual({ name: edited.name, cron: edited.schedule.cron, enabled: edited.enabled, skipIfEmpty: edited.output.skipIfEmpty, timeframe: edited.timeframe.kind },
      { name: `${name} renamed`, cron: '0 6 * * 1-5', enabled: false, skipIfEmpty: true, timeframe: 'yesterday' });
    await context.close();

    const viewer = await signIn(rig, await rig.api.newKey('viewer', false));
    await viewer.page.goto(`/console/reports/${report.json.id}`);
    assert.equal(await viewer.page.getByRole('button', { name: 'Save report' }).count(), 0);
    await viewer.context.close();
  });
});

test('every field of the new forms has a label', async () => {
  const { context, page } = await signIn(rig, rig.api.adminKey);
  const [report] = (await rig.api.call('GET', '/reports?limit=1')).json.items;
  const [recording] = (await rig.api.call('GET', '/recording-export-jobs?limit=1')).json.items;
  for (const path of ['/console/recording-export-jobs/new', '/console/results-export-jobs/new', '/console/salesforce-export-jobs/new', `/console/recording-export-jobs/${recording.id}/edit`, `/console/reports/${report.id}`]) {
    await page.goto(path);
    assert.ok(await page.locator('main form input:not([type=hidden])').count() > 0, path);
    const unlabelled = await page.evaluate(`[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
      .filter((field) => field.labels.length === 0 && !field.getAttribute('aria-label')).map((field) => field.name)`);
    assert.deepEqual(unlabelled, [], path);
  }
  await context.close();
});
