import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../api/config';
import { generateKey } from '../api/keys';
import { createLogger } from '../api/logging';
import { type Gateway, startGateway } from '../api/server';
import { packagePath } from '../persistence/packagePath';
import { systemClock } from '../queue/clock';
import { expectText, launchChromium } from './support/browser';
import { tempDir } from './support/testGateway';

// Chromium starts in a second or two and the page waits for the gateway's first 5 s activity sample.
jest.setTimeout(60_000);

const SCREENSHOT = packagePath('test-artifacts', 'dashboard.png');

interface QueueStats {
  ready: number;
  inFlight: number;
  delayed: number;
  deadLettered: number;
}

interface Queue {
  name: string;
  stats: QueueStats;
}

interface Group {
  name: string;
  partitions: { partition: number; lag: number }[];
}

interface Leased {
  messages: { receipt: string }[];
}

interface Running {
  url: string;
  gateway: Gateway;
  dataDir: string;
  /** What the gateway logged at warn and above, and its internal errors: a test expects none. */
  problems: string[];
}

const running: Running[] = [];

/** A real gateway on a free loopback port with the real clock, as `mqgate serve` starts it. */
async function start(extraArgs: string[] = []): Promise<Running> {
  const dataDir = tempDir('mqgate-dashboard-');
  const config = loadConfig(['--port', '0', '--data-dir', dataDir, '--log-level', 'warn', ...extraArgs], {});
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

/** One API call that must succeed; its JSON answer. */
async function call<T>(url: string, method: string, route: string, body?: unknown, key?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  const response = await fetch(`${url}${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function queueNamed(url: string, name: string): Promise<Queue> {
  const { queues } = await call<{ queues: Queue[] }>(url, 'GET', '/v1/queues');
  const queue = queues.find((q) => q.name === name);
  if (queue === undefined) throw new Error(`no queue ${name}`);
  return queue;
}

const count = (n: number): string => n.toLocaleString('en-US');

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  for (const { gateway, dataDir, problems } of running.splice(0)) {
    await gateway.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    expect(problems).toEqual([]);
  }
});

interface Dashboard {
  page: Page;
  /** Script errors, failed requests and missing page files; a test expects none. */
  failures: string[];
}

async function openDashboard(url: string): Promise<Dashboard> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  const failures: string[] = [];
  page.on('pageerror', (error) => failures.push(error.message));
  // A reload cancels the refresh in flight: that is not a failure.
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText;
    if (reason !== 'net::ERR_ABORTED') failures.push(`${request.url()}: ${reason}`);
  });
  page.on('response', (response) => {
    if (response.url().startsWith(`${url}/ui`) && !response.ok()) failures.push(`${response.url()}: ${response.status()}`);
  });
  await page.goto(`${url}/ui`);
  return { page, failures };
}

async function closeDashboard({ page, failures }: Dashboard): Promise<void> {
  await page.close();
  expect(failures).toEqual([]);
}

test('the dashboard shows queues, dead letters, topics with group lag and the activity chart, and redrives', async () => {
  const { url } = await start();
  // orders: five messages; two are leased and nacked, so their second delivery (maxDeliveries 1) dead-letters them.
  await call(url, 'PUT', '/v1/queues/orders-dlq', {});
  await call(url, 'PUT', '/v1/queues/orders', { deadLetterQueue: 'orders-dlq', maxDeliveries: 1, visibilityTimeoutMs: 600_000 });
  const value = (i: number): { value: { order: number } } => ({ value: { order: i } });
  await call(url, 'POST', '/v1/queues/orders/messages', { messages: [0, 1, 2, 3, 4].map(value) });
  const first = await call<Leased>(url, 'POST', '/v1/queues/orders/fetch', { max: 2 });
  await call(url, 'POST', '/v1/queues/orders/nack', { receipts: first.messages.map((m) => m.receipt), delayMs: 0 });
  // The three never leased are older than the nacked two, so they are delivered; the nacked two are dead-lettered.
  const second = await call<Leased>(url, 'POST', '/v1/queues/orders/fetch', { max: 5 });
  expect(second.messages).toHaveLength(3);
  await call(url, 'POST', '/v1/queues/orders/messages', { messages: [5, 6].map(value) });
  await call(url, 'POST', '/v1/queues/orders/messages', { messages: [{ value: 7, delayMs: 600_000 }] });

  // events: 3 messages in partition 0 and 2 in partition 1; ledger has committed 2 and 0 of them.
  await call(url, 'PUT', '/v1/topics/events', { partitions: 2 });
  await call(url, 'POST', '/v1/topics/events/messages', {
    messages: [0, 0, 0, 1, 1].map((partition, i) => ({ partition, value: { event: i } })),
  });
  await call(url, 'PUT', '/v1/topics/events/groups/ledger', { resetPolicy: 'earliest' });
  await call(url, 'POST', '/v1/topics/events/groups/ledger/commit', {
    offsets: [
      { partition: 0, offset: 2 },
      { partition: 1, offset: 0 },
    ],
  });

  // What the API reports is what the page must show; the fixed numbers check the setup did what it says.
  const orders = await queueNamed(url, 'orders');
  const dlq = await queueNamed(url, 'orders-dlq');
  expect(orders.stats).toMatchObject({ ready: 2, inFlight: 3, delayed: 1, deadLettered: 2 });
  expect(dlq.stats).toMatchObject({ ready: 2, inFlight: 0 });
  const { groups } = await call<{ groups: Group[] }>(url, 'GET', '/v1/topics/events/groups');
  const ledger = groups.find((g) => g.name === 'ledger');
  expect(ledger?.partitions.map((p) => p.lag)).toEqual([1, 2]);

  const dashboard = await openDashboard(url);
  const { page } = dashboard;
  const row = page.locator('[data-testid=queue-row][data-queue=orders]');
  await expectText(row.getByTestId('ready'), count(orders.stats.ready));
  await expectText(row.getByTestId('in-flight'), count(orders.stats.inFlight));
  await expectText(row.getByTestId('delayed'), count(orders.stats.delayed));
  await expectText(row.getByTestId('dead-lettered'), count(orders.stats.deadLettered));
  await expectText(row.getByTestId('dead-letter-queue'), 'orders-dlq');
  expect(await row.getByTestId('oldest-ready').textContent()).toMatch(/^\d+ (ms|s)$/);

  const dead = page.locator('[data-testid=dead-letter-row][data-queue=orders-dlq]');
  await expectText(dead.getByTestId('dead-letters'), count(dlq.stats.ready));
  await expectText(dead.getByTestId('sources'), 'orders');
  // Only dead-letter queues are listed there.
  await expectText(page.getByTestId('dead-letter-row').getByTestId('name'), 'orders-dlq');

  const topic = page.locator('[data-testid=topic][data-topic=events]');
  await expectText(topic.locator('[data-testid=partition-row][data-partition="0"]').getByTestId('end-offset'), '3');
  await expectText(topic.locator('[data-testid=partition-row][data-partition="1"]').getByTestId('end-offset'), '2');
  for (const p of ledger?.partitions ?? []) {
    await expectText(topic.locator(`[data-testid=lag][data-group=ledger][data-partition="${p.partition}"]`), count(p.lag));
  }
  await expectText(topic.locator('[data-testid=total-lag][data-group=ledger]'), '3');

  // uPlot draws on a canvas; the totals under it come from /v1/activity once the first 5 s interval has passed:
  // 8 messages to orders and 5 to events produced, 2 + 3 leased from orders.
  await page.locator('[data-testid=chart] canvas').waitFor();
  await expectText(page.getByTestId('activity-produced'), '13');
  await expectText(page.getByTestId('activity-consumed'), '5');

  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  await dead.getByTestId('redrive').click();
  await expectText(page.getByTestId('notice'), 'Redrive of orders-dlq: 2 moved back, 0 left.');
  await expectText(dead.getByTestId('dead-letters'), '0');
  await expectText(row.getByTestId('ready'), count(orders.stats.ready + 2));
  expect((await queueNamed(url, 'orders')).stats.ready).toBe(orders.stats.ready + 2);
  expect(await dead.getByTestId('redrive').isDisabled()).toBe(true);
  await closeDashboard(dashboard);
});

test('with API keys the page asks for one, then uses the key typed in for the rest of the tab', async () => {
  const { key, id, hash } = generateKey();
  const keys = JSON.stringify({ keys: [{ id, name: 'dashboard', hash, scopes: ['*:*'] }] });
  const { url } = await start(['--keys', keys]);
  await call(url, 'PUT', '/v1/queues/payments', {}, key);

  const dashboard = await openDashboard(url);
  const { page } = dashboard;
  await expectText(page.getByTestId('status'), 'This gateway needs an API key.');
  expect(await page.getByTestId('queue-row').count()).toBe(0);

  await page.getByTestId('api-key').fill('mqg_000000000000_not-a-key');
  await page.getByTestId('use-key').click();
  await expectText(page.getByTestId('status'), 'This API key was not accepted.');

  await page.getByTestId('api-key').fill(key);
  await page.getByTestId('use-key').click();
  await expectText(page.locator('[data-testid=queue-row][data-queue=payments]').getByTestId('ready'), '0');
  await page.reload();
  await expectText(page.locator('[data-testid=queue-row][data-queue=payments]').getByTestId('ready'), '0');
  await closeDashboard(dashboard);
});
