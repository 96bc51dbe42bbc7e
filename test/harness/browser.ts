// A real browser for the console tests: Debian's chromium (installed with apt-get when missing; never a
// browser download) driven by playwright-core over CDP.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

function chromiumPath(): string {
  const found = CANDIDATES.find((file) => existsSync(file));
  if (found) return found;
  // Debian's package, from the distribution's own archive (the apt lists may be stale on a fresh machine).
  execFileSync('apt-get', ['update'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const installed = CANDIDATES.find((file) => existsSync(file));
  if (!installed) throw new Error(`apt-get install chromium left no browser at ${CANDIDATES.join(' or ')}; install Debian's chromium package.`);
  return installed;
}

export async function launchBrowser(): Promise<Browser> {
  const root = process.getuid?.() === 0;
  return chromium.launch({
    executablePath: chromiumPath(), headless: true,
    // Chromium refuses to start its sandbox as root (CI runs as root).
    args: [...(root ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--disable-gpu'],
  });
}
