// Shared by the console tests: the API in-process with a worker, a real chromium, and signing in.
import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createListImportActivities } from '../activities/list-import.js';
import { createReportActivities } from '../activities/report.js';
import type { ListImportInput } from '../contracts/list-import.js';
import { startApi, type Api } from './erasure-fixtures.js';
import { launchBrowser } from './harness/browser.js';
import { createTestEnv, type TestEnv } from './harness/env.js';

/** Runs held still until the test opens their gate: report runs by definition id, imports by campaign id. */
export interface Gates { reports: Map<string, { open: boolean }>; imports: Map<string, { open: boolean }> }

export interface ConsoleRig { env: TestEnv; api: Api; browser: Browser; gates: Gates; stop(): Promise<void> }

/** Waits while the gate is closed (at most 30 s, so a failed test never hangs), heartbeating so a cancel arrives. */
async function passGate(gate: { open: boolean } | undefined): Promise<void> {
  for (const until = Date.now() + 30_000; gate && !gate.open && Date.now() < until;) {
    Context.current().heartbeat();
    if (Context.current().cancellationSignal.aborted) throw new CancelledFailure('cancelled at the test gate');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startConsoleRig(): Promise<ConsoleRig> {
  const env = await createTestEnv();
  const gates: Gates = { reports: new Map(), imports: new Map() };
  const imports = createListImportActivities(env.deps);
  const reports = createReportActivities(env.deps);
  await env.startWorker({
    activityOverrides: {
      async stageImport(runId: string, input: ListImportInput) {
        await passGate(gates.imports.get(input.campaignId));
        return imports.stageImport(runId, input);
      },
      async generateReport(input: Parameters<typeof reports.generateReport>[0]) {
        await passGate(gates.reports.get(input.definitionId));
        return reports.generateReport(input);
      },
    },
  });
  const api = await startApi(env);
  const browser = await launchBrowser();
  return {
    env, api, browser, gates,
    async stop() {
      await browser.close();
      await api.close();
      await env.stop();
    },
  };
}

/** A fresh browser context (its own cookies) signed in with `key`; any alert() fails the test. */
export async function signIn(rig: ConsoleRig, key: string): Promise<{ context: BrowserContext; page: Page; dialogs: string[] }> {
  const context = await rig.browser.newContext({ baseURL: rig.api.base });
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => { dialogs.push(dialog.message()); void dialog.dismiss(); });
  await page.goto('/console');
  assert.match(page.url(), /\/console\/sign-in$/);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/console/tasks');
  return { context, page, dialogs };
}

/** The CSRF token of the page's forms (what a forged request would need to steal first). */
export async function csrfOf(page: Page): Promise<string> {
  const token = await page.locator('input[name="_csrf"]').first().getAttribute('value');
  assert.ok(token);
  return token;
}

/** With CONSOLE_SCREENSHOTS=<folder> set, saves the page as <folder>/console-<name>.png (docs/console.md's
 *  pictures are made this way); otherwise does nothing. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const folder = process.env.CONSOLE_SCREENSHOTS;
  if (folder) await page.screenshot({ path: `${folder}/console-${name}.png`, fullPage: true });
}
