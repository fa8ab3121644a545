// Headless Chromium through playwright-core, using the system's chromium
// (Debian's package): no browser is downloaded.
import { mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO } from './shop.js';

/** Where screenshots go (gitignored). */
export const OUTPUT = join(REPO, 'test-output', 'browser');

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);

/**
 * Launches headless Chromium; it fails clearly when none is installed. The
 * screenshots folder (output) is emptied first.
 */
export async function launch(output = OUTPUT) {
  const executablePath = CANDIDATES.find((p) => existsSync(p));
  if (!executablePath) {
    throw new Error(`Chromium not found (looked at ${CANDIDATES.join(', ')}). Install it: apt-get install -y chromium`);
  }
  await rm(output, { recursive: true, force: true }); // no screenshots left from an older run
  await mkdir(output, { recursive: true });
  return chromium.launch({
    executablePath,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      // Without these, Chromium keeps trying to reach Google's services.
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** A phone-sized viewport (iPhone 12-ish). */
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
/** A laptop-sized viewport, for the dashboard. */
export const DESKTOP = { viewport: { width: 1280, height: 860 } };

/**
 * Opens a page in a new context and records what would show up as errors in
 * the browser console: console.error calls, uncaught exceptions, and failed
 * requests. Tests assert the list is empty (or holds only what they caused).
 */
export async function openPage(browser, options = PHONE) {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', ...options });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()} (${m.location().url})`); });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  page.on('requestfailed', (r) => {
    const failure = r.failure()?.errorText ?? '';
    // A read the page gave up on is not an error: leaving a page aborts its
    // open realtime stream and any GET still in flight (the header's
    // categories, when a test navigates right after an action). A server
    // that fails answers with a status, which the console reports.
    if (failure === 'net::ERR_ABORTED' && (r.method() === 'GET' || r.url().includes('/api/realtime'))) return;
    problems.push(`request failed: ${r.method()} ${r.url()} ${failure}`);
  });
  return { context, page, problems };
}

let shot = 0;

/** Saves a full-page screenshot as NN-name.png in dir (test-output/browser/). */
export async function screenshot(page, name, dir = OUTPUT) {
  shot += 1;
  const file = join(dir, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
