import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { generateKey } from '../api/keys';
import { packagePath } from '../persistence/packagePath';
import { expectText, launchChromium, startLiveGateway, stopLiveGateways, watchProblems } from './support/browser';
import { startReceiver } from './support/receiver';

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

afterEach(stopLiveGateways);

interface Dashboard {
  page: Page;
  /** What went wrong in the page so far (watchProblems). */
  problems: (refusals?: number[]) => string[];
}

async function openDashboard(url: string): Promise<Dashboard> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  const problems = watchProblems(page, url);
  await page.goto(`${url}/ui`);
  return { page, problems };
}

/** Closes the page, which must have had no problem but the API's answers with the statuses in `refusals`. */
async function closeDashboard({ page, problems }: Dashboard, refusals: number[] = []): Promise<void> {
  await page.close();
  expect(problems(refusals)).toEqual([]);
}

/** Rows of a dead-letter queue's list, by message id, in the order shown. */
async function listedIds(dlq: Locator): Promise<(string | null)[]> {
  return Promise.all((await dlq.getByTestId('dead-letter').all()).map((row) => row.getAttribute('data-id')));
}

test('the dashboard shows queues, dead letters, topics with group lag and the activity chart, and redrives', async () => {
  const { url } = await startLiveGateway();
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

/** The note of each panel, shown instead of its figures. */
const PANEL_NOTES = ['activity-note', 'queues-note', 'dead-letters-note', 'topics-note'];

/** Every panel shows `note` instead of its figures. */
async function expectNotes(page: Page, note: string): Promise<void> {
  for (const testid of PANEL_NOTES) await expectText(page.getByTestId(testid), note);
}

test('with API keys and none entered, every panel asks for one and shows no figure; a refused key is said in each; the key typed in is used for the rest of the tab', async () => {
  const { key, id, hash } = generateKey();
  const keys = JSON.stringify({ keys: [{ id, name: 'dashboard', hash, scopes: ['*:*'] }] });
  const { url } = await startLiveGateway(['--keys', keys]);
  await call(url, 'PUT', '/v1/queues/payments', {}, key);

  const dashboard = await openDashboard(url);
  const { page } = dashboard;
  await expectText(page.getByTestId('status'), 'This gateway needs an API key.');
  await expectNotes(page, 'Not shown until an API key is entered above.');
  // No "0 produced, 0 consumed", no empty table: not one figure on the page, as none was read.
  expect(await page.locator('main').innerText()).not.toMatch(/\d/);
  expect(await page.getByTestId('queue-row').count()).toBe(0);

  const refused = 'mqg_000000000000_not-a-key';
  await page.getByTestId('api-key').fill(refused);
  await page.getByTestId('use-key').click();
  await expectText(page.getByTestId('status'), 'This API key was not accepted.');
  await expectNotes(page, 'Not shown: the API key was not accepted. Enter another above.');

  await page.getByTestId('api-key').fill(key);
  await page.getByTestId('use-key').click();
  const payments = page.locator('[data-testid=queue-row][data-queue=payments]');
  await expectText(payments.getByTestId('ready'), '0');
  await page.getByTestId('queues-note').waitFor({ state: 'hidden' });
  await page.reload();
  await expectText(payments.getByTestId('ready'), '0');

  // A key refused after one that worked leaves none of that key's figures in view.
  await page.getByTestId('api-key').fill(refused);
  await page.getByTestId('use-key').click();
  await expectNotes(page, 'Not shown: the API key was not accepted. Enter another above.');
  expect(await page.getByTestId('queues').isVisible()).toBe(false);
  await closeDashboard(dashboard, [401]);
});

/**
 * All `messages` in the queue or queue subscription at `path` (maxDeliveries 1), leased, nacked
 * and fetched again: each becomes a dead letter.
 */
async function deadLetterAll(url: string, path: string, messages: unknown[], key?: string): Promise<void> {
  const leased = await call<Leased>(url, 'POST', `${path}/fetch`, { max: messages.length }, key);
  expect(leased.messages).toHaveLength(messages.length);
  await call(url, 'POST', `${path}/nack`, { receipts: leased.messages.map((m) => m.receipt), delayMs: 0 }, key);
  expect((await call<Leased>(url, 'POST', `${path}/fetch`, { max: messages.length }, key)).messages).toEqual([]);
}

test('a dead-letter queue longer than a page lists its oldest 20 and says how many more, with long values cut', async () => {
  const { url } = await startLiveGateway();
  await call(url, 'PUT', '/v1/queues/jobs-dlq', {});
  await call(url, 'PUT', '/v1/queues/jobs', { deadLetterQueue: 'jobs-dlq', maxDeliveries: 1 });
  // Text over two lines and 200 characters: the preview is one line of 120, the last an ellipsis.
  const messages = Array.from({ length: 25 }, (_, i) => ({ value: `job ${i}\n${'x'.repeat(200)}`, valueEncoding: 'text' }));
  await call(url, 'POST', '/v1/queues/jobs/messages', { messages });
  await deadLetterAll(url, '/v1/queues/jobs', messages);
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

test('of many queues the page shows the twenty with the most messages waiting, and a search finds the others by name', async () => {
  const { url } = await startLiveGateway();
  for (let i = 0; i < 30; i++) {
    const name = `q${String(i).padStart(2, '0')}`;
    await call(url, 'PUT', `/v1/queues/${name}`, {});
    // q29 has the most: 30 messages; q00 the fewest: 1.
    await call(url, 'POST', `/v1/queues/${name}/messages`, { messages: Array.from({ length: i + 1 }, (_, n) => ({ value: n })) });
  }
  await call(url, 'PUT', '/v1/queues/quiet-dlq', {});
  await call(url, 'PUT', '/v1/queues/quiet', { deadLetterQueue: 'quiet-dlq', maxDeliveries: 3 });
  const dashboard = await openDashboard(url);
  const rows = dashboard.page.getByTestId('queue-row');
  await expectText(rows.first().getByTestId('name'), 'q29');
  const shown = async (): Promise<(string | null)[]> => Promise.all((await rows.all()).map((row) => row.getAttribute('data-queue')));
  expect(await shown()).toEqual(Array.from({ length: 20 }, (_, i) => `q${29 - i}`));
  await dashboard.page.getByTestId('search').fill('quiet');
  await dashboard.page.getByTestId('use-search').click();
  await expectText(rows.first().getByTestId('name'), 'quiet-dlq');
  expect(await shown()).toEqual(['quiet-dlq', 'quiet']);
  // The dead-letter queue named by a queue the page shows.
  await expectText(dashboard.page.locator('[data-testid=dlq][data-queue=quiet-dlq]').getByTestId('sources'), 'quiet');
  await closeDashboard(dashboard);
});

test('a key that may redrive but not consume a dead-letter queue, with no topic, push or metrics scope, sees its counts and why its messages, topics and rates are not shown', async () => {
  const full = generateKey();
  const admin = generateKey();
  const keys = JSON.stringify({
    keys: [
      { id: full.id, name: 'setup', hash: full.hash, scopes: ['*:*'] },
      { id: admin.id, name: 'operator', hash: admin.hash, scopes: ['admin:queues/*'] },
    ],
  });
  const { url } = await startLiveGateway(['--keys', keys]);
  await call(url, 'PUT', '/v1/queues/mail-dlq', {}, full.key);
  await call(url, 'PUT', '/v1/queues/mail', { deadLetterQueue: 'mail-dlq', maxDeliveries: 1 }, full.key);
  const messages = [{ value: { to: 'a@example.com' } }];
  await call(url, 'POST', '/v1/queues/mail/messages', { messages }, full.key);
  await deadLetterAll(url, '/v1/queues/mail', messages, full.key);
  // bills-dlq is named by a push subscription alone, which this key may not list: for this key it is just a queue.
  await call(url, 'PUT', '/v1/queues/bills-dlq', {}, full.key);
  await call(url, 'PUT', '/v1/queues/bills', {}, full.key);
  const push = { source: { queue: 'bills' }, url: 'http://127.0.0.1:9/bills', deadLetterQueue: 'bills-dlq' };
  await call(url, 'PUT', '/v1/push-subscriptions/bills-service', push, full.key);

  const dashboard = await openDashboard(url);
  const { page } = dashboard;
  await page.getByTestId('api-key').fill(admin.key);
  await page.getByTestId('use-key').click();
  const dead = page.locator('[data-testid=dlq][data-queue=mail-dlq]');
  await expectText(dead.getByTestId('ready'), '1');
  await expectText(dead.getByTestId('dead-letters-error'), 'Messages: This key has no consume access to queues/mail-dlq.');
  expect(await dead.getByTestId('redrive').isDisabled()).toBe(false);
  // The rest of the page still refreshes; the topics and the rates say why they are not shown.
  await expectText(page.locator('[data-testid=queue-row][data-queue=mail]').getByTestId('dead-lettered'), '1');
  await expectText(page.locator('[data-testid=queue-row][data-queue=bills-dlq]').getByTestId('name'), 'bills-dlq');
  expect(await page.getByTestId('dlq').getByTestId('name').allTextContents()).toEqual(['mail-dlq']);
  await expectText(page.getByTestId('topics-note'), 'This key has no scope access to topics.');
  await expectText(page.getByTestId('activity-note'), 'This key has no metrics scope (nor admin:*), which /metrics and /v1/activity need.');
  expect(await page.getByTestId('activity-produced').isVisible()).toBe(false);
  await closeDashboard(dashboard, [401, 403]);
});

test('a dead-letter queue named only by a push subscription, or only by a queue subscription, is listed with its dead letters', async () => {
  const { url } = await startLiveGateway();
  // As in the README's walkthrough, billing-dlq is named by push subscription billing-service alone.
  // Its target answers 400, which dead-letters a message at its first attempt.
  const target = await startReceiver(Date.now, () => ({ status: 400 }));
  try {
    await call(url, 'PUT', '/v1/queues/billing-dlq', {});
    await call(url, 'PUT', '/v1/queues/billing', {});
    const push = { source: { queue: 'billing' }, url: `${target.url}/billing.asmx`, deadLetterQueue: 'billing-dlq' };
    await call(url, 'PUT', '/v1/push-subscriptions/billing-service', push);
    await call(url, 'POST', '/v1/queues/billing/messages', { messages: [{ value: { invoice: 4711 } }] });
    // audit-dlq is named by queue subscription events/audit alone.
    await call(url, 'PUT', '/v1/queues/audit-dlq', {});
    await call(url, 'PUT', '/v1/topics/events', { partitions: 1 });
    await call(url, 'PUT', '/v1/topics/events/subscriptions/audit', { deadLetterQueue: 'audit-dlq', maxDeliveries: 1 });
    const events = [{ value: { event: 1 } }];
    await call(url, 'POST', '/v1/topics/events/messages', { messages: events });
    await deadLetterAll(url, '/v1/topics/events/subscriptions/audit', events);
    const { queues } = await call<{ queues: { deadLetterQueue: string | null }[] }>(url, 'GET', '/v1/queues');
    expect(queues.map((q) => q.deadLetterQueue)).toEqual([null, null, null]);

    const dashboard = await openDashboard(url);
    const { page } = dashboard;
    const billing = page.locator('[data-testid=dlq][data-queue=billing-dlq]');
    await expectText(billing.getByTestId('sources'), 'push subscription billing-service');
    // The push subscription dead-letters in the background: once the page shows it there, the API says which message it is.
    await expectText(billing.getByTestId('ready'), '1');
    const [refused] = await browse(url, 'billing-dlq', 20);
    const refusedRow = billing.locator(`[data-testid=dead-letter][data-id="${refused.id}"]`);
    await expectText(refusedRow.getByTestId('source'), 'billing');
    await expectText(refusedRow.getByTestId('value'), '{"invoice":4711}');
    expect(await listedIds(billing)).toEqual([refused.id]);
    expect(target.received.map((r) => r.path)).toEqual(['/billing.asmx']);

    const audit = page.locator('[data-testid=dlq][data-queue=audit-dlq]');
    await expectText(audit.getByTestId('sources'), 'queue subscription events/audit');
    const [died] = await browse(url, 'audit-dlq', 20);
    const diedRow = audit.locator(`[data-testid=dead-letter][data-id="${died.id}"]`);
    await expectText(diedRow.getByTestId('source'), 'events/audit');
    await expectText(diedRow.getByTestId('deliveries'), '1');
    await expectText(diedRow.getByTestId('value'), '{"event":1}');
    expect(await listedIds(audit)).toEqual([died.id]);

    // Those two, and no other queue, are dead-letter queues.
    expect(await page.getByTestId('dlq').getByTestId('name').allTextContents()).toEqual(['audit-dlq', 'billing-dlq']);
    await closeDashboard(dashboard);
  } finally {
    await target.close();
  }
});

test('the dashboard has an icon of its own: the browser asks the gateway for no /favicon.ico', async () => {
  const { url } = await startLiveGateway();
  const dashboard = await openDashboard(url);
  const { page } = dashboard;
  await expectText(page.getByTestId('queues-note'), 'No queues.');
  // Chromium asks for a page's icon as soon as the page has loaded, before the first refresh has been drawn.
  // Without an icon of its own that is /favicon.ico, whose 404 shows only as a console error.
  expect(dashboard.problems()).toEqual([]);
  const icon = await page.locator('link[rel=icon]').getAttribute('href');
  expect(icon).toMatch(/^data:image\/svg\+xml,/);
  // An image the browser can draw, not only an attribute. (A string: the tests are compiled without the DOM's types.)
  const width = await page.evaluate(`(async () => { const image = new Image(); image.src = ${JSON.stringify(icon)}; await image.decode(); return image.naturalWidth; })()`);
  expect(width).toBeGreaterThan(0);
  await closeDashboard(dashboard);
});

/** The offsets (or message ids) of the events the tail view shows, oldest first. */
async function tailPositions(page: Page): Promise<string[]> {
  return page.getByTestId('tail-event').getByTestId('position').allTextContents();
}

/** Waits (up to 10 s, as the page's own waits) until the gateway has `n` streams of `operation` open, as /metrics counts them. */
async function streamsOpen(url: string, operation: string, n: number, key?: string): Promise<void> {
  const line = `mqgate_streams_open{operation="${operation}"} ${n}`;
  const headers: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
  const deadline = Date.now() + 10_000;
  let lines: string[] = [];
  while (Date.now() < deadline) {
    lines = (await (await fetch(`${url}/metrics`, { headers })).text()).split('\n');
    if (lines.includes(line)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(lines.filter((l) => l.startsWith('mqgate_streams_open{'))).toContain(line);
}

test('the tail of a partition shows messages as they are appended, from the end or from an offset, the newest 50, with the schema version; leaving it closes the stream', async () => {
  const { url } = await startLiveGateway();
  await call(url, 'PUT', '/v1/topics/events', { partitions: 2 });
  await call(url, 'PUT', '/v1/topics/events/schema', { schema: { type: 'object' } });
  await call(url, 'PUT', '/v1/topics/events/schema', { schema: { type: 'object', required: ['n'] }, compatibility: 'none' });
  const produce = (from: number, n: number, partition = 1) =>
    call(url, 'POST', '/v1/topics/events/messages', { messages: Array.from({ length: n }, (_, i) => ({ partition, key: `k${from + i}`, value: { n: from + i } })) });
  await produce(0, 2);

  const dashboard = await openDashboard(url);
  const { page } = dashboard;
  await page.locator('[data-testid=topic][data-topic=events] [data-testid=partition-row][data-partition="1"]').getByTestId('tail-partition').click();
  await expectText(page.getByTestId('tail-title'), 'partition 1 of topic events');
  await expectText(page.getByTestId('schema-version'), '2');
  await expectText(page.getByTestId('schema-versions'), '2 versions');
  expect(await page.locator('#overview').isVisible()).toBe(false);
  await streamsOpen(url, 'streamPartition', 1);
  // From the end: the two messages already there are not shown; those appended now are, and not partition 0's.
  await produce(2, 3);
  await produce(0, 1, 0);
  await expectText(page.getByTestId('tail-event').last().getByTestId('position'), '4');
  expect(await tailPositions(page)).toEqual(['2', '3', '4']);
  const last = page.locator('[data-testid=tail-event][data-id="1:4"]');
  await expectText(last.getByTestId('key'), 'k4');
  await expectText(last.getByTestId('value'), '{"n":4}');

  // From offset 0, then 55 more: the page keeps the newest 50 of the 60.
  await page.getByTestId('tail-offset').fill('0');
  await page.getByTestId('tail-start').click();
  await expectText(page.getByTestId('tail-event').first().getByTestId('position'), '0');
  await produce(5, 55);
  await expectText(page.getByTestId('tail-event').last().getByTestId('position'), '59');
  expect(await tailPositions(page)).toEqual(Array.from({ length: 50 }, (_, i) => String(10 + i)));

  await page.getByTestId('tail-back').click();
  await page.locator('#overview').waitFor();
  await streamsOpen(url, 'streamPartition', 0);
  await closeDashboard(dashboard);
});

test('with keys, the tail opens its stream with a token minted for it, never with the key in a URL; a queue tail says it leases, and acks', async () => {
  const { key, id, hash } = generateKey();
  const keys = JSON.stringify({ keys: [{ id, name: 'dashboard', hash, scopes: ['*:*'] }] });
  const { url } = await startLiveGateway(['--keys', keys]);
  await call(url, 'PUT', '/v1/topics/events', {}, key);
  await call(url, 'PUT', '/v1/topics/events/schema', { schema: { type: 'object' } }, key);
  await call(url, 'PUT', '/v1/queues/jobs', { visibilityTimeoutMs: 45_000 }, key);
  await call(url, 'POST', '/v1/queues/jobs/messages', { messages: [{ value: 'first job' }] }, key);

  const dashboard = await openDashboard(url);
  const { page } = dashboard;
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  await page.getByTestId('api-key').fill(key);
  await page.getByTestId('use-key').click();
  await page.goto(`${url}/ui#tail/topics/events/0`);
  await expectText(page.getByTestId('schema-version'), '1');
  await streamsOpen(url, 'streamPartition', 1, key);
  await call(url, 'POST', '/v1/topics/events/messages', { messages: [{ value: { event: 'signed up' } }] }, key);
  await expectText(page.locator('[data-testid=tail-event][data-id="0:0"]').getByTestId('value'), '{"event":"signed up"}');

  await page.goto(`${url}/ui#tail/queues/jobs`);
  await expectText(page.getByTestId('tail-schema'), 'No schema.');
  expect(await page.getByTestId('tail-leases').textContent()).toMatch(/^This view leases what it shows.*at most 5 messages at a time.*\(45 s\)/);
  const job = page.getByTestId('tail-event');
  await expectText(job.getByTestId('value'), '"first job"');
  await expectText(job.getByTestId('deliveries'), '1');
  await job.getByTestId('ack').click();
  await expectText(job.getByTestId('settled'), 'acked');
  expect((await call<Queue>(url, 'GET', '/v1/queues/jobs', undefined, key)).stats).toMatchObject({ ready: 0, inFlight: 0 });

  const streams = requested.filter((u) => u.includes('/stream?'));
  expect(streams).toEqual([expect.stringMatching(/\/v1\/topics\/events\/partitions\/0\/stream\?streamToken=mqs_/), expect.stringMatching(/\/v1\/queues\/jobs\/stream\?streamToken=mqs_/)]);
  expect(requested.filter((u) => u.includes(key.slice(17)))).toEqual([]);
  // Before the key was entered the page's reads were refused; the queue has no schema: its 404 is the page's "No schema.".
  await closeDashboard(dashboard, [401, 404]);
});
