import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Headless Chromium for end-to-end tests: Debian's `chromium` package driven by playwright-core
 * (no browser download). `.ci/run` installs the package and sets CI_REQUIRE_BROWSER=1, so in CI a
 * missing browser fails the run instead of skipping the suites.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SCREENSHOT_DIR = 'test-artifacts/screenshots';

/**
 * Whether browser suites can run. Without Chromium: throws when CI_REQUIRE_BROWSER=1, otherwise
 * prints one line naming the suite and returns false (use `describe.skip`).
 */
export function browserAvailable(suite: string): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env['CI_REQUIRE_BROWSER'] === '1') throw new Error(`${CHROMIUM_PATH} is required (CI_REQUIRE_BROWSER=1): apt-get install chromium`);
  process.stdout.write(`Chromium not found at ${CHROMIUM_PATH}: skipping ${suite} (apt-get install chromium)\n`);
  return false;
}

/** `describe` when Chromium is there, `describe.skip` (with the one-line notice) when it is not. */
export function describeWithBrowser(suite: string): jest.Describe {
  return browserAvailable(suite) ? describe : describe.skip;
}

/** Launches headless Chromium with flags that keep it quiet and offline (no updates, sync or QUIC probes). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Saves a full-page screenshot to `test-artifacts/screenshots/<name>.png` (creating the folder); returns the path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/**
 * Screenshots of the page as it is, at desktop width and at phone width (`<name>-desktop.png`,
 * `<name>-phone.png`), then back to desktop. Width is what the responsive CSS reacts to, so the page
 * does not have to be loaded again (which would repeat a POST).
 */
export async function saveScreenshots(page: Page, name: string): Promise<void> {
  await page.setViewportSize(DESKTOP);
  await saveScreenshot(page, `${name}-desktop`);
  await page.setViewportSize(PHONE);
  await saveScreenshot(page, `${name}-phone`);
  await page.setViewportSize(DESKTOP);
}

/** Collects the page's console errors and uncaught exceptions into `errors` (a page must end with none), and accepts its dialogs (confirm before delete). */
export function watchPage(page: Page, errors: string[]): void {
  page.on('dialog', (d) => void d.accept().catch(() => undefined));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
}
