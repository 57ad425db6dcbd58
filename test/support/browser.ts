import fs from 'node:fs';
import { type Browser, chromium, errors, type Locator, type Page } from 'playwright-core';
import { loadConfig } from '../../api/config';
import { createLogger } from '../../api/logging';
import { type Gateway, startGateway } from '../../api/server';
import { systemClock } from '../../queue/clock';
import { storeFlags } from './childGateway';
import { tempDir } from './testGateway';

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

/** A gateway a browser opens. */
export interface LiveGateway {
  url: string;
  gateway: Gateway;
  dataDir: string;
  /** What the gateway logged at warn and above, and its internal errors: a test expects none. */
  problems: string[];
}

const running: LiveGateway[] = [];

/** A real gateway on a free loopback port with the real clock and the run's backend (storeFlags), as `mqgate serve` starts it; stopLiveGateways ends it. */
export async function startLiveGateway(extraArgs: string[] = []): Promise<LiveGateway> {
  const dataDir = tempDir('mqgate-browser-');
  const config = loadConfig(['--port', '0', ...(await storeFlags(dataDir)), '--log-level', 'warn', ...extraArgs], {});
  const problems: string[] = [];
  const gateway = await startGateway(config, {
    clock: systemClock,
    logger: createLogger(config.logLevel, { write: (line: string) => problems.push(line) }),
    onInternalError: (error) => problems.push(error.message),
    onBackgroundError: (error) => problems.push(String(error)),
  });
  const started = { url: gateway.url, gateway, dataDir, problems };
  running.push(started);
  return started;
}

/** Stops every gateway startLiveGateway started (in afterEach), and expects that none logged a problem. */
export async function stopLiveGateways(): Promise<void> {
  for (const { gateway, dataDir, problems } of running.splice(0)) {
    await gateway.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    expect(problems).toEqual([]);
  }
}

/** Something that went wrong in a page; `status` when it was an answer >= 400. */
interface Problem {
  url: string;
  status: number | null;
  text: string;
}

// Chromium logs each answer >= 400 as a console error. For the favicon it fetches on its own,
// that error is the only trace: no response event reports that request.
const LOAD_FAILED = /^Failed to load resource: the server responded with a status of (\d{3})/;

/**
 * Records, from now on, what goes wrong in `page`: script errors, console
 * errors, failed requests and answers >= 400. The function returned lists
 * each problem once, leaving out the API's answers (`origin/v1/…`) with the
 * statuses in `refusals`: a test that gives the page no key, or a key
 * without some scope, expects those.
 */
export function watchProblems(page: Page, origin: string): (refusals?: number[]) => string[] {
  const problems: Problem[] = [];
  page.on('pageerror', (error) => problems.push({ url: page.url(), status: null, text: `script error: ${error.message}` }));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const status = LOAD_FAILED.exec(message.text())?.[1];
    problems.push({ url: message.location().url, status: status === undefined ? null : Number(status), text: `console: ${message.text()}` });
  });
  // A reload cancels the requests in flight: that is not a failure.
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText;
    if (reason !== 'net::ERR_ABORTED') problems.push({ url: request.url(), status: null, text: `${request.method()} failed: ${reason}` });
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      problems.push({ url: response.url(), status: response.status(), text: `${response.request().method()} answered ${response.status()}` });
    }
  });
  return (refusals = []) => {
    const expected = (p: Problem): boolean => p.status !== null && refusals.includes(p.status) && p.url.startsWith(`${origin}/v1/`);
    return [...new Set(problems.filter((p) => !expected(p)).map((p) => `${p.url}: ${p.text}`))].sort();
  };
}
