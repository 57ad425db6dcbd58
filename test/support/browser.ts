import fs from 'node:fs';
import { type Browser, chromium, errors, type Locator } from 'playwright-core';

/** The distribution's Chromium: playwright-core downloads no browser, and CI installs this one (.ci/run). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium. The flags keep it off the network: on a machine without
 * internet it otherwise keeps trying to reach Google's services.
 * A missing browser fails the test rather than skipping it, so a dashboard
 * that was never looked at cannot pass as green.
 */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the dashboard test needs Chromium (apt-get install chromium, as .ci/run does).`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/**
 * Waits (Playwright's auto-waiting, no sleeps) until the element's whole text
 * is `expected`, as the page refreshes; when it never gets there, fails with
 * what the element shows instead.
 */
export async function expectText(locator: Locator, expected: string): Promise<void> {
  try {
    await locator.filter({ hasText: exactly(expected) }).waitFor();
  } catch (error) {
    if (!(error instanceof errors.TimeoutError)) throw error;
  }
  // The locator goes into the comparison so that a failure names the element, not only the two texts.
  const element = locator.toString();
  expect({ element, text: (await locator.textContent())?.trim() }).toEqual({ element, text: expected });
}
