import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
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

/** A message of browseQueue, as much of it as the page shows. */
interface Browsed {
  id: string;
  timestamp: number;
  headers: Record<string, string>;
  state: string;
}

async function browse(url: string, queue: string, max: number): Promise<Browsed[]> {
  return (await call<{ messages: Browsed[] }>(url, 'GET', `/v1/queues/${queue}/messages?max=${max}`)).messages;
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

/** Rows of a dead-letter queue's list, by message id, in the order shown. */
async function listedIds(dlq: Locator): Promise<(string | null)[]> {
  return Promise.all((await dlq.getByTestId('dead-letter').all()).map((row) => row.getAttribute('data-id')));
}

test('the dashboard shows queues, dead letters, topics with group lag and the activity chart, and redrives', async () => {
  const { url } = await start();
  // orders: five messages; two are leased and nacked, so their second delivery (maxDeliveries 1) dead-letters them.
  // Of those two, order 0 is JSON and the other five bytes of binary.
  await call(url, 'PUT', '/v1/queues/orders-dlq', {});
  await call(url, 'PUT', '/v1/queues/orders', { deadLetterQueue: 'orders-dlq', maxDeliveries: 1, visibilityTimeoutMs: 600_000 });
  const value = (i: number): { value: { order: number } } => ({ value: { order: i } });
  const binary = { value: Buffer.from([0, 1, 2, 3, 4]).toString('base64'), valueEncoding: 'base64' };
  await call(url, 'POST', '/v1/queues/orders/messages', { messages: [value(0), binary, value(2), value(3), value(4)] });
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
  expect(dlq.stats).toMatchObject({ ready: 2, inFlight: 0, delayed: 0 });
  // Browsing leases nothing, so the page reading the same list a moment later sees the same messages.
  const deadLetters = await browse(url, 'orders-dlq', 20);
  expect(deadLetters.map((m) => [m.headers['mqgate-dead-letter-source'], m.headers['mqgate-delivery-count'], m.state])).toEqual([
    ['orders', '1', 'ready'],
    ['orders', '1', 'ready'],
  ]);
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

  const dead = page.locator('[data-testid=dlq][data-queue=orders-dlq]');
  await expectText(dead.getByTestId('ready'), count(dlq.stats.ready));
  await expectText(dead.getByTestId('leased'), '0');
  await expectText(dead.getByTestId('sources'), 'orders');
  // Only dead-letter queues are listed there.
  await expectText(page.getByTestId('dlq').getByTestId('name'), 'orders-dlq');
  // The dead letters themselves, oldest first: the ids browseQueue gives, where they died and after how many deliveries.
  const previews = ['{"order":0}', '(5 bytes, base64)'];
  for (const [i, message] of deadLetters.entries()) {
    const listed = dead.locator(`[data-testid=dead-letter][data-id="${message.id}"]`);
    await expectText(listed.getByTestId('id'), message.id);
    await expectText(listed.getByTestId('source'), 'orders');
    await expectText(listed.getByTestId('deliveries'), '1');
    await expectText(listed.getByTestId('state'), 'ready');
    await expectText(listed.getByTestId('value'), previews[i]);
    expect(await listed.getByTestId('time').locator('time').getAttribute('datetime')).toBe(new Date(message.timestamp).toISOString());
  }
  expect(await listedIds(dead)).toEqual(deadLetters.map((m) => m.id));
  expect(await dead.getByTestId('more').count()).toBe(0);

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
  await expectText(dead.getByTestId('ready'), '0');
  await expectText(dead.getByTestId('dead-letters-none'), 'No dead letters.');
  expect(await listedIds(dead)).toEqual([]);
  expect(await browse(url, 'orders-dlq', 20)).toEqual([]);
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

/** `max` messages in `queue` (maxDeliveries 1), all leased, nacked and fetched again: each becomes a dead letter. */
async function deadLetterAll(url: string, queue: string, messages: unknown[], key?: string): Promise<void> {
  const leased = await call<Leased>(url, 'POST', `/v1/queues/${queue}/fetch`, { max: messages.length }, key);
  expect(leased.messages).toHaveLength(messages.length);
  await call(url, 'POST', `/v1/queues/${queue}/nack`, { receipts: leased.messages.map((m) => m.receipt), delayMs: 0 }, key);
  expect((await call<Leased>(url, 'POST', `/v1/queues/${queue}/fetch`, { max: messages.length }, key)).messages).toEqual([]);
}

test('a dead-letter queue longer than a page lists its oldest 20 and says how many more, with long values cut', async () => {
  const { url } = await start();
  await call(url, 'PUT', '/v1/queues/jobs-dlq', {});
  await call(url, 'PUT', '/v1/queues/jobs', { deadLetterQueue: 'jobs-dlq', maxDeliveries: 1 });
  // Text over two lines and 200 characters: the preview is one line of 120, the last an ellipsis.
  const messages = Array.from({ length: 25 }, (_, i) => ({ value: `job ${i}\n${'x'.repeat(200)}`, valueEncoding: 'text' }));
  await call(url, 'POST', '/v1/queues/jobs/messages', { messages });
  await deadLetterAll(url, 'jobs', messages);
  expect((await queueNamed(url, 'jobs-dlq')).stats.ready).toBe(25);
  const oldest = await browse(url, 'jobs-dlq', 20);

  const dashboard = await openDashboard(url);
  const dead = dashboard.page.locator('[data-testid=dlq][data-queue=jobs-dlq]');
  await expectText(dead.getByTestId('more'), 'and 5 more');
  expect(await listedIds(dead)).toEqual(oldest.map((m) => m.id));
  const first = dead.locator(`[data-testid=dead-letter][data-id="${oldest[0].id}"]`);
  await expectText(first.getByTestId('value'), `job 0 ${'x'.repeat(113)}…`);
  await closeDashboard(dashboard);
});

test('a key that may redrive but not consume a dead-letter queue, and has no topic scope, sees its counts and why its messages are not listed', async () => {
  const full = generateKey();
  const admin = generateKey();
  const keys = JSON.stringify({
    keys: [
      { id: full.id, name: 'setup', hash: full.hash, scopes: ['*:*'] },
      { id: admin.id, name: 'operator', hash: admin.hash, scopes: ['admin:queues/*'] },
    ],
  });
  const { url } = await start(['--keys', keys]);
  await call(url, 'PUT', '/v1/queues/mail-dlq', {}, full.key);
  await call(url, 'PUT', '/v1/queues/mail', { deadLetterQueue: 'mail-dlq', maxDeliveries: 1 }, full.key);
  const messages = [{ value: { to: 'a@example.com' } }];
  await call(url, 'POST', '/v1/queues/mail/messages', { messages }, full.key);
  await deadLetterAll(url, 'mail', messages, full.key);

  const dashboard = await openDashboard(url);
  const { page } = dashboard;
  await page.getByTestId('api-key').fill(admin.key);
  await page.getByTestId('use-key').click();
  const dead = page.locator('[data-testid=dlq][data-queue=mail-dlq]');
  await expectText(dead.getByTestId('ready'), '1');
  await expectText(dead.getByTestId('dead-letters-error'), 'Messages: This key has no consume access to queues/mail-dlq.');
  expect(await dead.getByTestId('redrive').isDisabled()).toBe(false);
  // The rest of the page still refreshes, the topics it may not list shown as none.
  await expectText(page.locator('[data-testid=queue-row][data-queue=mail]').getByTestId('dead-lettered'), '1');
  await page.locator('#topics-empty').waitFor({ state: 'visible' });
  await closeDashboard(dashboard);
});
