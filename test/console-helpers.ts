// Shared by the console tests: the API in-process with a worker, a real chromium, and signing in.
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startApi, type Api } from './erasure-fixtures.js';
import { launchBrowser } from './harness/browser.js';
import { createTestEnv, type TestEnv } from './harness/env.js';

export interface ConsoleRig { env: TestEnv; api: Api; browser: Browser; stop(): Promise<void> }

export async function startConsoleRig(): Promise<ConsoleRig> {
  const env = await createTestEnv();
  await env.startWorker();
  const api = await startApi(env);
  const browser = await launchBrowser();
  return {
    env, api, browser,
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
