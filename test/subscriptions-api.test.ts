import { call, until } from './support/specResponses';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';
import { sweepAt } from './store-contract/fixtures';

interface Leased {
  id: string;
  receipt: string;
  value: number;
  deliveryCount: number;
  headers: Record<string, string>;
}

let t: TestGateway;

beforeEach(async () => {
  t = testGateway();
  await call('putTopic', t.http.put('/v1/topics/orders').send({ partitions: 3 }));
});

afterEach(() => disposeTestGateway(t));

const sub = (name: string) => `/v1/topics/orders/subscriptions/${name}`;
const putSub = (name: string, body: object = {}) => call('putSubscription', t.http.put(sub(name)).send(body));
const produce = (values: number[]) =>
  call('produceToTopic', t.http.post('/v1/topics/orders/messages').send({ messages: values.map((value) => ({ value, key: `k${value}` })) }));
const fetchFrom = async (name: string, body: object = { max: 1000 }): Promise<Leased[]> =>
  (await call('fetchSubscription', t.http.post(`${sub(name)}/fetch`).send(body))).body.messages as Leased[];
const settle = (name: string, action: 'ack' | 'nack' | 'extend', body: object) =>
  call(`${action}Subscription`, t.http.post(`${sub(name)}/${action}`).send(body));
const stats = async (name: string) => (await call('getSubscription', t.http.get(sub(name)))).body.stats;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
/** Every value the topic's three partitions hold, from their start: what any reader of the log can still see. */
const retainedValues = async (): Promise<number[]> => {
  const values: number[] = [];
  for (const partition of [0, 1, 2]) {
    const read = await call('readPartition', t.http.get(`/v1/topics/orders/partitions/${partition}/messages`).query({ max: 1000 }));
    values.push(...(read.body.messages as Array<{ value: number }>).map((m) => m.value));
  }
  return sorted(values);
};

test('two queue subscriptions each receive every message once, acked independently, bodies stored once', async () => {
  expect((await putSub('billing')).status).toBe(201);
  await putSub('shipping');
  await produce(range(0, 100));

  const billing = await fetchFrom('billing');
  const shipping = await fetchFrom('shipping');
  expect(sorted(billing.map((m) => m.value))).toEqual(range(0, 100));
  expect(sorted(shipping.map((m) => m.value))).toEqual(range(0, 100));
  expect(await fetchFrom('billing')).toEqual([]);

  const acked = await settle('billing', 'ack', { receipts: billing.map((m) => m.receipt) });
  expect(acked.body.results.every((r: { status: string }) => r.status === 'acked')).toBe(true);
  expect(await stats('billing')).toMatchObject({ ready: 0, inFlight: 0, acked: 100 });
  expect(await stats('shipping')).toMatchObject({ inFlight: 100, acked: 0 });

  // shipping gives ten back: only shipping sees them again.
  await settle('shipping', 'nack', { receipts: shipping.slice(0, 10).map((m) => m.receipt) });
  const again = await fetchFrom('shipping');
  expect(sorted(again.map((m) => m.value))).toEqual(sorted(shipping.slice(0, 10).map((m) => m.value)));
  expect(again.every((m) => m.deliveryCount === 2)).toBe(true);
  expect(await fetchFrom('billing')).toEqual([]);

  // A receipt of one subscription means nothing to the other.
  const foreign = await settle('billing', 'ack', { receipts: [shipping[50].receipt] });
  expect(foreign.body.results[0]).toMatchObject({ status: 'unknown', code: 'receipt_unknown' });

  // Acked messages stay in the topic for its other readers, and are stored once: the log holds 100, not one copy per subscription.
  expect(await retainedValues()).toEqual(range(0, 100));
  const partitions = await t.store.topicPartitions('orders');
  expect(partitions.reduce((sum, p) => sum + p.endOffset - p.startOffset, 0)).toBe(100);
});

test('a new subscription starts with the next message, or with every retained one when asked', async () => {
  await produce([1, 2]);
  await putSub('fresh');
  await putSub('full', { startAt: 'earliest' });
  await produce([3]);
  expect((await fetchFrom('fresh')).map((m) => m.value)).toEqual([3]);
  expect(sorted((await fetchFrom('full')).map((m) => m.value))).toEqual([1, 2, 3]);
});

test('leases expire and dead letters go to the dead-letter queue with their source', async () => {
  await call('putQueue', t.http.put('/v1/queues/orders-dlq').send({}));
  await putSub('fragile', { visibilityTimeoutMs: 1000, maxDeliveries: 2, deadLetterQueue: 'orders-dlq' });
  await produce([7]);
  for (const count of [1, 2]) {
    const [m] = await fetchFrom('fragile');
    expect(m.deliveryCount).toBe(count);
    t.clock.advance(1000);
  }
  expect(await fetchFrom('fragile')).toEqual([]);
  const dead = await call('fetchMessages', t.http.post('/v1/queues/orders-dlq/fetch').send({}));
  expect(dead.body.messages[0]).toMatchObject({ value: 7, headers: { 'mqgate-dead-letter-source': 'orders/fragile', 'mqgate-delivery-count': '2' } });
  expect(await stats('fragile')).toMatchObject({ deadLettered: 1, ready: 0, inFlight: 0 });
  // Redrive gives the topic's message back to this subscription only, counting deliveries afresh.
  await call('nackMessages', t.http.post('/v1/queues/orders-dlq/nack').send({ receipts: [dead.body.messages[0].receipt] }));
  const redrive = await call('redriveMessages', t.http.post('/v1/queues/orders-dlq/redrive'));
  expect(redrive.body).toEqual({ redriven: 1, remaining: 0 });
  const [back] = await fetchFrom('fragile');
  expect(back).toMatchObject({ value: 7, deliveryCount: 1 });
  expect(back.headers).toEqual({});
});

test('retention removes expired messages from every subscription too', async () => {
  await putSub('slow');
  await produce(range(10, 40));
  await call('putTopic', t.http.put('/v1/topics/orders').send({ partitions: 3, retentionBytes: 4 }));
  await t.store.sweep(sweepAt(t.clock.now(), { budget: 1000, idempotencyWindowMs: 1 }));
  const retained = await retainedValues();
  expect(retained.length).toBeLessThan(30);
  expect(sorted((await fetchFrom('slow')).map((m) => m.value))).toEqual(retained);
  expect((await stats('slow')).ready).toBe(0);
});

test('a stale receipt alone settles nothing: the message stays leased until the live lease ends, and is acked once', async () => {
  await putSub('billing', { visibilityTimeoutMs: 1000 });
  await produce([1]);
  const [first] = await fetchFrom('billing');
  t.clock.advance(1000);
  const [second] = await fetchFrom('billing');
  expect(second.deliveryCount).toBe(2);
  // The old receipt alone: beside the live one, the live one's own ack would hide what the old one did.
  const refused = [{ receipt: first.receipt, status: 'expired', code: 'receipt_expired' }];
  for (const action of ['ack', 'nack'] as const) {
    expect((await settle('billing', action, { receipts: [first.receipt] })).body.results).toEqual(refused);
    expect(await stats('billing')).toMatchObject({ ready: 0, inFlight: 1, acked: 0 });
  }
  expect((await settle('billing', 'extend', { receipts: [first.receipt], visibilityTimeoutMs: 60_000 })).body.results).toEqual(refused);
  // The second lease ends when its fetch said: the refused extend did not move it.
  t.clock.advance(999);
  expect(await fetchFrom('billing')).toEqual([]);
  t.clock.advance(1);
  const [third] = await fetchFrom('billing');
  expect(third.deliveryCount).toBe(3);
  expect((await settle('billing', 'ack', { receipts: [third.receipt] })).body.results).toEqual([{ receipt: third.receipt, status: 'acked' }]);
  expect(await stats('billing')).toMatchObject({ ready: 0, inFlight: 0, acked: 1 });
});

test('a waiting subscription fetch is woken by a produce to the topic', async () => {
  await putSub('live');
  const pending = t.http.post(`${sub('live')}/fetch`).send({ waitMs: 10_000 }).then((res) => res);
  await until(() => t.wakeups.waiting > 0);
  expect(t.wakeups.waiting).toBe(1);
  await produce([42]);
  expect((await pending).body.messages.map((m: Leased) => m.value)).toEqual([42]);
});

test('subscriptions and their leases survive a restart', async () => {
  await putSub('kept', { visibilityTimeoutMs: 60_000 });
  await produce([1, 2]);
  const [first] = await fetchFrom('kept', { max: 1 });
  await t.close();
  t = testGateway({ dataDir: t.dataDir });
  expect((await call('listSubscriptions', t.http.get('/v1/topics/orders/subscriptions'))).body.subscriptions).toHaveLength(1);
  expect(await stats('kept')).toMatchObject({ ready: 1, inFlight: 1 });
  expect((await settle('kept', 'ack', { receipts: [first.receipt] })).body.results[0].status).toBe('acked');
});

test("a subscription's receipts are signed: one altered, or built by hand from the real ids, settles nothing", async () => {
  await putSub('billing', { visibilityTimeoutMs: 60_000 });
  await produce([1]);
  const [leased] = await fetchFrom('billing');
  // The subscription's id is not shown by the API: read from the receipt, after its 16-byte tag (queue/receipts.ts).
  const [subscriptionId] = Buffer.from(leased.receipt, 'base64url').subarray(16).toString('latin1').split('.');
  const guessed = Buffer.from(`${subscriptionId}.${leased.id}.${leased.deliveryCount}`).toString('base64url');
  const altered = `${leased.receipt.slice(0, -1)}${leased.receipt.endsWith('A') ? 'B' : 'A'}`;
  const results = (await settle('billing', 'ack', { receipts: [guessed, altered] })).body.results;
  expect(results.map((r: { status: string }) => r.status)).toEqual(['unknown', 'unknown']);
  expect(await stats('billing')).toMatchObject({ inFlight: 1, acked: 0 });
  expect((await settle('billing', 'ack', { receipts: [leased.receipt] })).body.results[0].status).toBe('acked');
});

test('unknown subscriptions and bad settings get their problem codes', async () => {
  const missing = await call('fetchSubscription', t.http.post(`${sub('nope')}/fetch`).send({}));
  expect({ status: missing.status, code: missing.body.code }).toEqual({ status: 404, code: 'subscription_not_found' });
  const noDlq = await putSub('x', { maxDeliveries: 3 });
  expect({ status: noDlq.status, code: noDlq.body.code }).toEqual({ status: 422, code: 'validation_failed' });
  const ghostDlq = await putSub('x', { maxDeliveries: 3, deadLetterQueue: 'ghost' });
  expect({ status: ghostDlq.status, code: ghostDlq.body.code }).toEqual({ status: 422, code: 'dead_letter_queue_not_found' });
  const noTopic = await call('putSubscription', t.http.put('/v1/topics/none/subscriptions/x').send({}));
  expect({ status: noTopic.status, code: noTopic.body.code }).toEqual({ status: 404, code: 'topic_not_found' });
  await putSub('x');
  expect((await call('deleteSubscription', t.http.delete(sub('x')))).status).toBe(204);
  const gone = await call('getSubscription', t.http.get(sub('x')));
  expect({ status: gone.status, code: gone.body.code }).toEqual({ status: 404, code: 'subscription_not_found' });
});
