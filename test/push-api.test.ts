import { DEFAULT_LIMITS, defaultQueueSettings } from '../queue/limits';
import fs from 'node:fs';
import { packagePath } from '../persistence/packagePath';
import { eventually, polled, type Receiver, startReceiver } from './support/receiver';
import { call } from './support/specResponses';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';
import { commitStatsOf } from './support/testStore';

const SOAP_ENVELOPE = `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body><m:PlaceOrder xmlns:m="http://example.org/orders"><m:Item>Grüner Tee — 緑茶</m:Item></m:PlaceOrder></soap:Body>
</soap:Envelope>
`;
const SECRET = 'a-secret-of-32-characters-length';

let t: TestGateway;
let receiver: Receiver;

beforeEach(async () => {
  t = testGateway();
  receiver = await startReceiver(() => t.clock.now());
});

afterEach(async () => {
  // The receiver first: a request it holds would hold the gateway's shutdown until its timeout on the test's clock.
  await receiver.close();
  await disposeTestGateway(t);
  expect(t.backgroundErrors).toEqual([]);
});

const putQueue = (name: string, body: object = {}) => call('putQueue', t.http.put(`/v1/queues/${name}`).send(body));
const putPush = (name: string, body: object) => call('putPushSubscription', t.http.put(`/v1/push-subscriptions/${name}`).send(body));
const getPush = async (name: string) => (await call('getPushSubscription', t.http.get(`/v1/push-subscriptions/${name}`))).body;
const produce = (queue: string, messages: object[]) => call('produceMessages', t.http.post(`/v1/queues/${queue}/messages`).send({ messages }));
const queueStats = async (name: string) => (await call('getQueue', t.http.get(`/v1/queues/${name}`))).body.stats;
const fetchAll = async (queue: string) => (await call('fetchMessages', t.http.post(`/v1/queues/${queue}/fetch`).send({ max: 100 }))).body.messages;
const pushTo = (queue: string, settings: object = {}) => ({ source: { queue }, url: `${receiver.url}/hook`, ...settings });
const bodies = () => receiver.received.map((r) => r.body.toString('utf8'));
/** What `read` answers once `done` holds of it (or once polling gives up): a commit may land a little after the answer that caused it. */
const readWhen = async <T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> => {
  await polled(async () => done(await read()));
  return read();
};
/** Settles once the push subscription has recorded `n` attempts: the store has the outcome, not only the receiver. */
const attempts = async (name: string, n: number) => {
  expect((await readWhen(() => getPush(name), (push) => push.status.attempts >= n)).status.attempts).toBe(n);
};
/**
 * The counts `stats` reads once `n` are acked: the runner frees its slot when the target answers, and
 * the ack commits after (a round trip on PostgreSQL), so a read right after the attempts may come first.
 */
const onceAcked = <S extends { acked: number }>(stats: () => Promise<S>, n: number): Promise<S> => readWhen(stats, (read) => read.acked >= n);

describe('push subscription lifecycle', () => {
  test('PUT creates (201) then updates (200); GET shows settings and status, never the secret; list, pause, resume, delete', async () => {
    await putQueue('orders');
    const created = await putPush('billing', pushTo('orders', { secret: SECRET, headers: { Authorization: 'Bearer x' } }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'billing',
      source: { queue: 'orders' },
      url: `${receiver.url}/hook`,
      method: 'POST',
      headers: { Authorization: 'Bearer x' },
      timeoutMs: 10_000,
      concurrency: 8,
      maxAttempts: 10,
      backoff: { initialMs: 1000, maxMs: 60_000, multiplier: 2, jitter: 0.2 },
      ordering: 'unordered',
      deadLetterQueue: null,
      retryClientErrors: false,
      signed: true,
      paused: false,
      status: { state: 'running', backlog: 0, inFlight: 0, delivered: 0, attempts: 0, failures: 0, deadLettered: 0, lastError: null },
    });
    expect(JSON.stringify(created.body)).not.toContain(SECRET);
    // Without `secret` the current one stays; null removes it.
    const updated = await putPush('billing', pushTo('orders', { concurrency: 2 }));
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ concurrency: 2, signed: true, headers: {} });
    expect((await putPush('billing', pushTo('orders', { secret: null }))).body.signed).toBe(false);

    const listed = await call('listPushSubscriptions', t.http.get('/v1/push-subscriptions'));
    expect(listed.body.pushSubscriptions.map((p: { name: string }) => p.name)).toEqual(['billing']);
    const paused = await call('pausePushSubscription', t.http.post('/v1/push-subscriptions/billing/pause'));
    expect(paused.body).toMatchObject({ paused: true, status: { state: 'paused' } });
    const resumed = await call('resumePushSubscription', t.http.post('/v1/push-subscriptions/billing/resume'));
    expect(resumed.body).toMatchObject({ paused: false, status: { state: 'running' } });
    expect((await call('deletePushSubscription', t.http.delete('/v1/push-subscriptions/billing'))).status).toBe(204);
    const gone = await call('getPushSubscription', t.http.get('/v1/push-subscriptions/billing'));
    expect(gone.body).toMatchObject({ status: 404, code: 'push_subscription_not_found' });
  });

  test('bad settings are refused with their problem codes, and nothing is created', async () => {
    await putQueue('orders');
    const refused = async (body: object, status: number, code: string) => {
      const res = await putPush('bad', body);
      expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
    };
    await refused(pushTo('orders', { url: 'ftp://127.0.0.1/x' }), 422, 'validation_failed');
    await refused(pushTo('orders', { url: 'not a url' }), 422, 'validation_failed');
    await refused(pushTo('orders', { url: 'http://user:pw@127.0.0.1/x' }), 422, 'validation_failed');
    await refused(pushTo('orders', { concurrency: 0 }), 422, 'validation_failed');
    await refused(pushTo('orders', { backoff: { initialMs: 5000, maxMs: 1000 } }), 422, 'validation_failed');
    await refused(pushTo('orders', { headers: { 'Bad Header': 'x' } }), 422, 'validation_failed');
    await refused(pushTo('orders', { deadLetterQueue: 'orders' }), 422, 'validation_failed');
    await refused(pushTo('orders', { deadLetterQueue: 'missing' }), 422, 'dead_letter_queue_not_found');
    await refused({ url: `${receiver.url}/hook` }, 422, 'validation_failed');
    await refused(pushTo('missing'), 404, 'queue_not_found');
    await refused({ source: { topic: 'missing', group: 'g' }, url: `${receiver.url}/hook` }, 404, 'topic_not_found');
    expect((await call('listPushSubscriptions', t.http.get('/v1/push-subscriptions'))).body.pushSubscriptions).toEqual([]);

    await putQueue('other');
    expect((await putPush('p', pushTo('orders'))).status).toBe(201);
    const moved = await putPush('p', pushTo('other'));
    expect(moved.body).toMatchObject({ status: 409, code: 'source_cannot_change' });
  });

  test('malformed requests get a 4xx problem with a stable code, never a 5xx', async () => {
    await putQueue('orders');
    const path = '/v1/push-subscriptions';
    const cases: Array<[() => PromiseLike<{ status: number; body: { code: string } }>, number, string]> = [
      [() => t.http.put(`${path}/p`).set('Content-Type', 'application/json').send('{"source":'), 400, 'malformed_json'],
      [() => t.http.put(`${path}/p`).set('Content-Type', 'text/xml').send('<a/>'), 415, 'unsupported_media_type'],
      [() => t.http.put(`${path}/p`), 422, 'validation_failed'],
      [() => t.http.put(`${path}/-bad`).send(pushTo('orders')), 400, 'invalid_name'],
      [() => t.http.put(`${path}/p`).send({ ...pushTo('orders'), source: ['orders'] }), 422, 'validation_failed'],
      [() => t.http.put(`${path}/p`).send({ ...pushTo('orders'), source: { queue: 'orders', topic: 't' } }), 422, 'validation_failed'],
      [() => t.http.put(`${path}/p`).send({ ...pushTo('orders'), url: `http://x/${'a'.repeat(3000)}` }), 422, 'validation_failed'],
      [() => t.http.put(`${path}/p`).send({ ...pushTo('orders'), url: 'http://[::1' }), 422, 'validation_failed'],
      [() => t.http.put(`${path}/p`).send({ ...pushTo('orders'), secret: 'short' }), 422, 'validation_failed'],
      [() => t.http.put(`${path}/p`).send({ ...pushTo('orders'), method: 'GET' }), 422, 'validation_failed'],
      [() => t.http.put(`${path}/p`).send({ ...pushTo('orders'), headers: { a: 'line\nbreak' } }), 422, 'validation_failed'],
      [() => t.http.put(`${path}/p`).send({ ...pushTo('orders'), backoff: { multiplier: 0.5 } }), 422, 'validation_failed'],
      [() => t.http.put(`${path}/p`).send({ ...pushTo('orders'), extra: true }), 422, 'validation_failed'],
      [() => t.http.post(`${path}/nope/pause`), 404, 'push_subscription_not_found'],
      [() => t.http.delete(`${path}/nope`), 404, 'push_subscription_not_found'],
      [() => t.http.patch(`${path}/p`).send({}), 405, 'method_not_allowed'],
    ];
    for (const [send, status, code] of cases) {
      const res = await send();
      expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
    }
    expect((await call('listPushSubscriptions', t.http.get(path))).body.pushSubscriptions).toEqual([]);
    expect(t.internalErrors).toEqual([]);
  });

  test('a queue that is a push subscription\'s dead-letter queue cannot be deleted', async () => {
    await putQueue('orders');
    await putQueue('orders-dlq');
    await putPush('p', pushTo('orders', { deadLetterQueue: 'orders-dlq' }));
    const res = await call('deleteQueue', t.http.delete('/v1/queues/orders-dlq'));
    expect(res.body).toMatchObject({ status: 409, code: 'queue_in_use' });
    expect(res.body.detail).toContain('dead-letter queue of 1 other');
  });

  test('deleting the source deletes the push subscription and stops its deliveries, even to a new source of the same name', async () => {
    await putQueue('orders');
    await putPush('p', pushTo('orders'));
    await eventually(() => t.wakeups.waiting === 1);
    await call('deleteQueue', t.http.delete('/v1/queues/orders'));
    expect((await call('getPushSubscription', t.http.get('/v1/push-subscriptions/p'))).status).toBe(404);
    await eventually(() => t.wakeups.waiting === 0);
    await putQueue('orders');
    await produce('orders', [{ value: 1 }]);
    expect(await queueStats('orders')).toMatchObject({ ready: 1 });

    await call('putTopic', t.http.put('/v1/topics/events').send({}));
    await putPush('g', { source: { topic: 'events', group: 'g' }, url: `${receiver.url}/g` });
    await eventually(() => t.wakeups.waiting === 1);
    await call('deleteGroup', t.http.delete('/v1/topics/events/groups/g'));
    await eventually(() => t.wakeups.waiting === 0);
    expect((await call('listGroups', t.http.get('/v1/topics/events/groups'))).body.groups).toEqual([]);
    expect(receiver.received).toEqual([]);
  });

  test('with an allow-list, only its hosts may be targets', async () => {
    await disposeTestGateway(t);
    t = testGateway({ targets: { allowedHosts: ['*.example.com', `127.0.0.1:${new URL(receiver.url).port}`] } });
    await putQueue('orders');
    const refused = await putPush('p', pushTo('orders', { url: 'http://169.254.169.254/latest/meta-data' }));
    expect(refused.body).toMatchObject({ status: 422, code: 'target_not_allowed' });
    expect((await putPush('p', pushTo('orders', { url: 'https://hooks.example.com/x' }))).status).toBe(201);
    expect((await putPush('q', pushTo('orders'))).status).toBe(201);
  });
});

describe('delivery', () => {
  test('JSON, text and a SOAP 1.1 envelope arrive byte for byte with content type, SOAPAction and delivery headers; delivered ones are acked', async () => {
    await putQueue('orders');
    await putPush('billing', pushTo('orders', { headers: { Authorization: 'Bearer token' }, ordering: 'key' }));
    await produce('orders', [{ value: { order: 4711, total: 12.5 }, key: 'c-7', headers: { source: 'shop' } }]);
    await produce('orders', [{ value: 'hello, world', valueEncoding: 'text', key: 'c-7' }]);
    const soap = await call(
      'produceMessages',
      t.http
        .post('/v1/queues/orders/messages')
        .set('Content-Type', 'text/xml; charset=utf-8')
        .set('SOAPAction', '"http://example.org/orders/PlaceOrder"')
        // The JSON answer, for the message's id and offset.
        .set('Accept', 'application/json')
        .send(Buffer.from(SOAP_ENVELOPE)),
    );
    await eventually(() => receiver.received.length === 3);
    const [json, text, xml] = receiver.received;
    expect(json.body.toString()).toBe('{"order":4711,"total":12.5}');
    expect(json.headers).toMatchObject({
      'content-type': 'application/json',
      source: 'shop',
      authorization: 'Bearer token',
      'mqgate-attempt': '1',
      'mqgate-source': 'queues/orders',
      'mqgate-push-subscription': 'billing',
      'mqgate-key': 'c-7',
      'mqgate-partition': '0',
    });
    expect(json.method).toBe('POST');
    expect(json.path).toBe('/hook');
    expect(json.headers['mqgate-signature']).toBeUndefined();
    expect(text.body.toString()).toBe('hello, world');
    expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(xml.body.equals(Buffer.from(SOAP_ENVELOPE))).toBe(true);
    expect(xml.headers).toMatchObject({
      'content-type': 'text/xml; charset=utf-8',
      soapaction: '"http://example.org/orders/PlaceOrder"',
      'mqgate-message-id': soap.body.messages[0].id,
      'mqgate-offset': String(soap.body.messages[0].offset),
      'mqgate-message-timestamp': String(soap.body.messages[0].timestamp),
    });
    await attempts('billing', 3);
    expect(await onceAcked(() => queueStats('orders'), 3)).toMatchObject({ ready: 0, inFlight: 0, acked: 3 });
    expect((await getPush('billing')).status).toMatchObject({ delivered: 3, failures: 0, lastSuccessAt: t.clock.now() });
  });

  test('a receiver that fails twice then succeeds gets exactly three attempts, with growing gaps', async () => {
    receiver.answer = (_request, i) => ({ status: i < 2 ? 503 : 200 });
    await putQueue('orders');
    await putPush('p', pushTo('orders', { backoff: { initialMs: 1000, multiplier: 2, jitter: 0.2 } }));
    const start = t.clock.now();
    await produce('orders', [{ value: 'x', valueEncoding: 'text' }]);
    await attempts('p', 1);
    // The message stays leased by the push while it waits: no pull consumer gets it.
    expect(await fetchAll('orders')).toEqual([]);
    t.clock.advance(999);
    await attempts('p', 1);
    t.clock.advance(1);
    await attempts('p', 2);
    t.clock.advance(1999);
    await attempts('p', 2);
    t.clock.advance(1);
    await attempts('p', 3);
    t.clock.advance(3_600_000);
    await attempts('p', 3);
    expect(receiver.received.map((r) => r.headers['mqgate-attempt'])).toEqual(['1', '2', '3']);
    expect(receiver.received.map((r) => r.at - start)).toEqual([0, 1000, 3000]);
    expect((await getPush('p')).status).toMatchObject({
      delivered: 1,
      attempts: 3,
      failures: 2,
      lastError: { status: 503, error: 'HTTP 503 Service Unavailable' },
      lastErrorAt: start + 1000,
      lastSuccessAt: start + 3000,
    });
    expect(await onceAcked(() => queueStats('orders'), 1)).toMatchObject({ ready: 0, inFlight: 0, acked: 1 });
  });

  test('jitter varies each wait by up to ±jitter of itself', async () => {
    await disposeTestGateway(t);
    t = testGateway({ random: () => 0 });
    receiver.answer = (_request, i) => ({ status: i < 2 ? 500 : 200 });
    await putQueue('orders');
    await putPush('p', pushTo('orders', { backoff: { initialMs: 1000, multiplier: 3, jitter: 0.5 } }));
    const start = t.clock.now();
    await produce('orders', [{ value: 1 }]);
    await attempts('p', 1);
    t.clock.advance(500);
    await attempts('p', 2);
    t.clock.advance(1500);
    await attempts('p', 3);
    expect(receiver.received.map((r) => r.at - start)).toEqual([0, 500, 2000]);
  });

  test("a receiver's Retry-After is honoured over the backoff", async () => {
    receiver.answer = (_request, i) => (i === 0 ? { status: 429, headers: { 'Retry-After': '7' } } : { status: 200 });
    await putQueue('orders');
    await putPush('p', pushTo('orders'));
    await produce('orders', [{ value: 1 }]);
    await attempts('p', 1);
    t.clock.advance(6999);
    await attempts('p', 1);
    t.clock.advance(1);
    await attempts('p', 2);
    expect((await getPush('p')).status).toMatchObject({ delivered: 1, lastError: { status: 429 } });
  });

  test('a 400 goes to the dead-letter queue at once with the status and error; redrive delivers it again', async () => {
    receiver.answer = (_request, i) => ({ status: i === 0 ? 400 : 200 });
    await putQueue('orders');
    await putQueue('orders-dlq');
    await putPush('p', pushTo('orders', { deadLetterQueue: 'orders-dlq' }));
    await produce('orders', [{ value: 'refused', valueEncoding: 'text', headers: { trace: 't-1' } }]);
    await attempts('p', 1);
    t.clock.advance(3_600_000);
    await attempts('p', 1);
    const [dead] = await fetchAll('orders-dlq');
    expect(dead).toMatchObject({
      value: 'refused',
      headers: {
        trace: 't-1',
        'mqgate-push-subscription': 'p',
        'mqgate-push-status': '400',
        'mqgate-push-error': 'HTTP 400 Bad Request',
        'mqgate-dead-letter-source': 'orders',
        'mqgate-delivery-count': '1',
      },
    });
    expect(await queueStats('orders')).toMatchObject({ ready: 0, inFlight: 0, deadLettered: 1 });
    expect((await getPush('p')).status).toMatchObject({ delivered: 0, deadLettered: 1, failures: 1 });

    await call('nackMessages', t.http.post('/v1/queues/orders-dlq/nack').send({ receipts: [dead.receipt] }));
    expect((await call('redriveMessages', t.http.post('/v1/queues/orders-dlq/redrive').send({}))).body).toMatchObject({ redriven: 1 });
    await attempts('p', 2);
    expect(bodies()).toEqual(['refused', 'refused']);
    expect(receiver.received[1].headers.trace).toBe('t-1');
  });

  test('with retryClientErrors, or without a dead-letter queue, a 4xx is retried instead', async () => {
    receiver.answer = (_request, i) => ({ status: i < 2 ? 404 : 200 });
    await putQueue('a');
    await putQueue('dlq');
    await putPush('p', pushTo('a', { deadLetterQueue: 'dlq', retryClientErrors: true }));
    await produce('a', [{ value: 1 }]);
    await attempts('p', 1);
    t.clock.advance(1000);
    await attempts('p', 2);
    await call('deletePushSubscription', t.http.delete('/v1/push-subscriptions/p'));
    await putQueue('b');
    await putPush('q', pushTo('b'));
    receiver.answer = (_request, i) => ({ status: i < 3 ? 422 : 200 });
    await produce('b', [{ value: 2 }]);
    await attempts('q', 1);
    t.clock.advance(1000);
    await attempts('q', 2);
    expect((await getPush('q')).status).toMatchObject({ delivered: 1, deadLettered: 0 });
    expect(await queueStats('dlq')).toMatchObject({ ready: 0 });
  });

  test('after maxAttempts failures the message goes to the dead-letter queue with the last status', async () => {
    receiver.answer = (_request, i) => ({ status: 500 + i });
    await putQueue('orders');
    await putQueue('dlq');
    await putPush('p', pushTo('orders', { deadLetterQueue: 'dlq', maxAttempts: 3, backoff: { initialMs: 100, multiplier: 1 } }));
    await produce('orders', [{ value: 1 }]);
    for (const n of [1, 2, 3]) {
      await attempts('p', n);
      t.clock.advance(100);
    }
    await attempts('p', 3);
    const [dead] = await fetchAll('dlq');
    expect(dead.headers).toMatchObject({ 'mqgate-push-status': '502', 'mqgate-push-error': 'HTTP 502 Bad Gateway', 'mqgate-delivery-count': '3' });
  });

  test('a receiver that never answers is timed out and retried, and holds at most `concurrency` connections', async () => {
    receiver.answer = (_request, i) => (i < 2 ? 'hang' : { status: 200 });
    await putQueue('orders');
    await putPush('p', pushTo('orders', { timeoutMs: 2000, concurrency: 2 }));
    await produce('orders', [1, 2, 3, 4, 5].map((value) => ({ value })));
    await eventually(() => receiver.received.length === 2);
    // Both slots hang: two more are claimed ahead, nothing beyond.
    expect((await getPush('p')).status).toMatchObject({ inFlight: 4, backlog: 1 });
    t.clock.advance(2000);
    await attempts('p', 2);
    expect((await getPush('p')).status.lastError).toEqual({ status: null, error: 'timed out after 2000 ms' });
    // Waiting for their retries, they still hold both slots.
    expect(receiver.received).toHaveLength(2);
    expect((await getPush('p')).status).toMatchObject({ inFlight: 4, backlog: 1 });
    t.clock.advance(1000);
    await attempts('p', 7);
    expect(receiver.maxOpen).toBe(2);
    expect((await getPush('p')).status).toMatchObject({ delivered: 5, failures: 2, inFlight: 0, backlog: 0 });
  });

  test('a refused connection is retried; changing the target applies at once', async () => {
    await putQueue('orders');
    const closed = await startReceiver(() => t.clock.now());
    await closed.close();
    await putPush('p', pushTo('orders', { url: `${closed.url}/gone` }));
    await produce('orders', [{ value: 1 }]);
    await attempts('p', 1);
    expect((await getPush('p')).status.lastError).toEqual({ status: null, error: 'ECONNREFUSED' });
    // A new target restarts delivery at once: the message waiting for its retry is given back and sent there.
    await putPush('p', pushTo('orders'));
    await eventually(() => receiver.received.length === 1);
    expect(receiver.received[0].headers['mqgate-attempt']).toBe('2');
  });

  test('the signature verifies with the recipe in docs/push.md, and fails for a changed body or an old timestamp', async () => {
    const recipe = /```js\n([\s\S]*?)```/.exec(fs.readFileSync(packagePath('docs', 'push.md'), 'utf8'))?.[1] as string;
    type Verify = (secret: string, headers: object, body: Buffer, now?: number) => boolean;
    const verify = new Function('require', `${recipe}\nreturn verify;`)(require) as Verify;
    await putQueue('orders');
    await putPush('p', pushTo('orders', { secret: SECRET }));
    await produce('orders', [{ value: { signed: true } }]);
    await call(
      'produceMessages',
      t.http.post('/v1/queues/orders/messages').set('Content-Type', 'application/octet-stream').send(Buffer.from([0, 255, 1, 254])),
    );
    await eventually(() => receiver.received.length === 2);
    const now = t.clock.now();
    for (const { headers, body } of receiver.received) {
      expect(headers['mqgate-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(headers['mqgate-timestamp']).toBe(String(now));
      expect(verify(SECRET, headers, body, now)).toBe(true);
      expect(verify('another-secret-of-32-characters!', headers, body, now)).toBe(false);
      expect(verify(SECRET, headers, Buffer.concat([body, Buffer.from(' ')]), now)).toBe(false);
      expect(verify(SECRET, headers, body, now + 10 * 60 * 1000)).toBe(false);
    }
  });

  test('pausing stops deliveries until resumed', async () => {
    await putQueue('orders');
    await putPush('p', pushTo('orders'));
    await call('pausePushSubscription', t.http.post('/v1/push-subscriptions/p/pause'));
    await produce('orders', [{ value: 1 }, { value: 2 }]);
    expect((await getPush('p')).status).toMatchObject({ state: 'paused', backlog: 2 });
    expect(receiver.received).toEqual([]);
    await call('resumePushSubscription', t.http.post('/v1/push-subscriptions/p/resume'));
    await attempts('p', 2);
    expect(bodies().sort()).toEqual(['1', '2']);
  });

  test('pausing during a wait for a retry gives the message back to the queue at once', async () => {
    receiver.answer = () => ({ status: 503 });
    await putQueue('orders');
    await putPush('p', pushTo('orders'));
    await produce('orders', [{ value: 1 }]);
    await attempts('p', 1);
    await call('pausePushSubscription', t.http.post('/v1/push-subscriptions/p/pause'));
    expect(await queueStats('orders')).toMatchObject({ ready: 1, inFlight: 0 });
    expect((await fetchAll('orders'))[0]).toMatchObject({ value: 1, deliveryCount: 2 });
  });
});

test('messages claimed ahead keep their leases through a long wait for a retry: none is delivered twice', async () => {
  receiver.answer = ({ body }, i) => (body.toString() === '1' && i === 0 ? { status: 503, headers: { 'Retry-After': '600' } } : { status: 204 });
  await putQueue('orders');
  await putPush('p', pushTo('orders', { concurrency: 1, timeoutMs: 1000 }));
  await produce('orders', [{ value: 1 }, { value: 2 }]);
  await attempts('p', 1);
  // Message 2 waits for the only slot for ten minutes, far past its first lease. Before each second
  // the clock waits until no lease runs out within it: the renewals due so far have committed.
  const leaseEnd = (): Promise<number | null> => t.store.nextAvailableAt({ at: { queue: 'orders' }, now: t.clock.now() });
  const outlastsNextSecond = async () => {
    const end = await leaseEnd();
    return end === null || end > t.clock.now() + 1000;
  };
  for (let waited = 0; waited < 600_000; waited += 1000) {
    await polled(outlastsNextSecond);
    expect(await outlastsNextSecond()).toBe(true);
    t.clock.advance(1000);
    // On SQLite a read of messages is answered after the writes asked for before it (the renewals just due).
    await queueStats('orders');
  }
  await attempts('p', 3);
  expect(bodies()).toEqual(['1', '1', '2']);
  expect(receiver.received.map((r) => r.headers['mqgate-attempt'])).toEqual(['1', '2', '1']);
  expect((await getPush('p')).status).toMatchObject({ delivered: 2, failures: 1 });
  expect(await onceAcked(() => queueStats('orders'), 2)).toMatchObject({ ready: 0, inFlight: 0, acked: 2 });
});

test('a rebalance during a retry: the push fetches again from the committed offset at once, nothing is stranded', async () => {
  receiver.answer = (_request, i) => ({ status: i === 0 ? 503 : 200 });
  await call('putTopic', t.http.put('/v1/topics/events').send({}));
  await call('putGroup', t.http.put('/v1/topics/events/groups/g').send({ resetPolicy: 'earliest' }));
  await call('produceToTopic', t.http.post('/v1/topics/events/messages').send({ messages: [{ value: 'only' }] }));
  await putPush('p', { source: { topic: 'events', group: 'g' }, url: `${receiver.url}/e` });
  await attempts('p', 1);
  const joined = await call('joinGroup', t.http.post('/v1/topics/events/groups/g/members'));
  await call('leaveGroup', t.http.delete(`/v1/topics/events/groups/g/members/${joined.body.memberId}`));
  t.clock.advance(1000);
  // The retry is delivered, its commit is fenced (stale generation), and the message comes again in the new one.
  await eventually(() => receiver.received.length === 3);
  const lag = async () => (await call('describeGroup', t.http.get('/v1/topics/events/groups/g'))).body.partitions[0].lag;
  await polled(async () => (await lag()) === 0);
  expect(await lag()).toBe(0);
  expect(bodies()).toEqual(['"only"', '"only"', '"only"']);
});

test('a push made on a new group at latest delivers what is produced right after the PUT', async () => {
  await call('putTopic', t.http.put('/v1/topics/events').send({ partitions: 2 }));
  await call('produceToTopic', t.http.post('/v1/topics/events/messages').send({ messages: [{ value: 'before' }] }));
  await putPush('p', { source: { topic: 'events', group: 'fresh' }, url: `${receiver.url}/e` });
  await call('produceToTopic', t.http.post('/v1/topics/events/messages').send({ messages: [{ value: 'after' }] }));
  await eventually(() => receiver.received.length === 1);
  expect(bodies()).toEqual(['"after"']);
});

describe('ordering', () => {
  test("with per-key ordering a key's messages arrive in produce order although one is retried; other keys go on", async () => {
    const failedOnce = new Set<string>();
    receiver.answer = ({ body }) => {
      const value = body.toString();
      if (value === '"a2"' && !failedOnce.has(value)) {
        failedOnce.add(value);
        return { status: 503 };
      }
      return { status: 200 };
    };
    await putQueue('orders');
    await putPush('p', pushTo('orders', { ordering: 'key', concurrency: 16 }));
    const messages = [1, 2, 3, 4, 5].flatMap((i) => [{ value: `a${i}`, key: 'a' }, { value: `b${i}`, key: 'b' }]);
    await produce('orders', messages);
    await eventually(() => receiver.received.filter((r) => r.body.toString().startsWith('"b')).length === 5);
    await attempts('p', 7);
    // Key a waits behind a2's retry; key b was not held back.
    expect(bodies().filter((b) => b.startsWith('"a'))).toEqual(['"a1"', '"a2"']);
    expect((await getPush('p')).status.inFlight).toBe(4);
    t.clock.advance(1000);
    await attempts('p', 11);
    const order = (key: string) => bodies().filter((b) => b.startsWith(`"${key}`));
    expect(order('a')).toEqual(['"a1"', '"a2"', '"a2"', '"a3"', '"a4"', '"a5"']);
    expect(order('b')).toEqual(['"b1"', '"b2"', '"b3"', '"b4"', '"b5"']);
    expect(await onceAcked(() => queueStats('orders'), 10)).toMatchObject({ ready: 0, inFlight: 0, acked: 10 });
  });

  test('unordered, a retried message does not hold back the others of its key', async () => {
    receiver.answer = ({ body }, i) => ({ status: body.toString() === '1' && i === 0 ? 503 : 200 });
    await putQueue('orders');
    await putPush('p', pushTo('orders', { concurrency: 4 }));
    await produce('orders', [1, 2, 3].map((value) => ({ value, key: 'k' })));
    await attempts('p', 3);
    expect(bodies().sort()).toEqual(['1', '2', '3']);
    t.clock.advance(1000);
    await attempts('p', 4);
    expect(bodies().at(-1)).toBe('1');
  });
});

describe('topic sources', () => {
  test('a queue subscription of a topic is pushed like a queue, and other readers still see every message', async () => {
    await call('putTopic', t.http.put('/v1/topics/payments').send({ partitions: 3 }));
    await call('putSubscription', t.http.put('/v1/topics/payments/subscriptions/fraud').send({}));
    await putPush('fraud-hook', { source: { topic: 'payments', subscription: 'fraud' }, url: `${receiver.url}/fraud` });
    const messages = Array.from({ length: 30 }, (_, i) => ({ value: i, key: `k${i % 7}` }));
    await call('produceToTopic', t.http.post('/v1/topics/payments/messages').send({ messages }));
    await attempts('fraud-hook', 30);
    expect(receiver.received.map((r) => Number(r.body.toString())).sort((a, b) => a - b)).toEqual(messages.map((m) => m.value));
    expect(receiver.received[0].headers['mqgate-source']).toBe('topics/payments/subscriptions/fraud');
    const subscriptionStats = async () => (await call('getSubscription', t.http.get('/v1/topics/payments/subscriptions/fraud'))).body.stats;
    expect(await onceAcked(subscriptionStats, 30)).toMatchObject({ ready: 0, inFlight: 0, acked: 30 });
    // Acked by the subscription, every message is still in the log for its other readers, in whichever partition it went to.
    const replayed: number[] = [];
    for (const partition of [0, 1, 2]) {
      const replay = await call('readPartition', t.http.get(`/v1/topics/payments/partitions/${partition}/messages?offset=earliest&max=100`));
      replayed.push(...(replay.body.messages as Array<{ value: number }>).map((m) => m.value));
    }
    expect(replayed.sort((a, b) => a - b)).toEqual(messages.map((m) => m.value));
  });

  test('a consumer group is pushed as member push:<name>, commits as it delivers, and keeps each partition in order', async () => {
    receiver.answer = ({ body }, i) => ({ status: body.toString() === '5' && i < 8 ? 500 : 200 });
    await call('putTopic', t.http.put('/v1/topics/events').send({ partitions: 2 }));
    await call('putGroup', t.http.put('/v1/topics/events/groups/g').send({ resetPolicy: 'earliest' }));
    const messages = Array.from({ length: 20 }, (_, i) => ({ value: i, key: `k${i % 4}` }));
    await call('produceToTopic', t.http.post('/v1/topics/events/messages').send({ messages }));
    const created = await putPush('events-hook', { source: { topic: 'events', group: 'g' }, url: `${receiver.url}/e`, ordering: 'key' });
    // The answer's status is read once the push has started: on PostgreSQL some deliveries may have committed by then.
    expect(created.body.status.backlog).toBeLessThanOrEqual(20);
    expect(created.body.status.backlog).toBeGreaterThanOrEqual(20 - receiver.received.length);
    // 5 failed once: the rest of its key (9, 13, 17) waits behind it, and its partition commits up to it only.
    await attempts('events-hook', 17);
    expect(bodies().filter((b) => ['5', '9', '13', '17'].includes(b))).toEqual(['5']);
    const partitionOf5 = Number(receiver.received.find((r) => r.body.toString() === '5')?.headers['mqgate-partition']);
    const offsetOf5 = Number(receiver.received.find((r) => r.body.toString() === '5')?.headers['mqgate-offset']);
    type Partitions = Array<{ committed: number; lag: number }>;
    // Commits follow deliveries one at a time: the last may still be on its way. The group once `done` holds.
    const partitions = async () => (await call('describeGroup', t.http.get('/v1/topics/events/groups/g'))).body.partitions as Partitions;
    const partitionsWhen = (done: (read: Partitions) => boolean): Promise<Partitions> => readWhen(partitions, done);
    expect((await partitionsWhen((p) => p[partitionOf5].committed >= offsetOf5))[partitionOf5].committed).toBe(offsetOf5);
    t.clock.advance(1000);
    await attempts('events-hook', 21);
    const group = await call('describeGroup', t.http.get('/v1/topics/events/groups/g'));
    expect(group.body.members.map((m: { memberId: string }) => m.memberId)).toEqual(['push:events-hook']);
    expect((await partitionsWhen((p) => p.every(({ lag }) => lag === 0))).map(({ lag }) => lag)).toEqual([0, 0]);
    expect(receiver.received[0].headers['mqgate-source']).toBe('topics/events/groups/g');
    const delivered = receiver.received.map((r) => ({ key: r.headers['mqgate-key'], value: Number(r.body.toString()), status: r.headers['mqgate-attempt'] }));
    for (const key of ['k0', 'k1', 'k2', 'k3']) {
      const values = delivered.filter((d) => d.key === key).map((d) => d.value);
      expect(values).toEqual([...new Set(values)].sort((a, b) => a - b).flatMap((v) => (v === 5 ? [5, 5] : [v])));
    }
    expect((await getPush('events-hook')).status).toMatchObject({ delivered: 20, failures: 1, backlog: 0 });

    // After a restart the group's committed offsets are where delivery resumes: nothing is sent twice.
    await t.close();
    t = testGateway({ dataDir: t.dataDir });
    await call('produceToTopic', t.http.post('/v1/topics/events/messages').send({ messages: [{ value: 99, key: 'k1' }] }));
    await t.dispatcher.start();
    await eventually(() => receiver.received.length === 22);
    expect(bodies().at(-1)).toBe('99');
  });
});

test("a group source's dead letter is never refused for its size, and the group commits past it", async () => {
  receiver.answer = () => ({ status: 400 });
  await call('putTopic', t.http.put('/v1/topics/events').send({}));
  await call('putGroup', t.http.put('/v1/topics/events/groups/g').send({ resetPolicy: 'earliest' }));
  await putQueue('small-dlq', { maxMessageBytes: 10 });
  await call('produceToTopic', t.http.post('/v1/topics/events/messages').send({ messages: [{ value: 'x'.repeat(100) }] }));
  await putPush('p', { source: { topic: 'events', group: 'g' }, url: `${receiver.url}/e`, deadLetterQueue: 'small-dlq' });
  const settled = async () => (await getPush('p')).status;
  // The offset commits with the dead letter; the count of dead letters is recorded after.
  await polled(async () => (await settled()).deadLettered === 1);
  expect(await settled()).toMatchObject({ attempts: 1, failures: 1, deadLettered: 1, backlog: 0 });
  const [dead] = await fetchAll('small-dlq');
  expect(dead.headers).toMatchObject({ 'mqgate-dead-letter-group': 'events/g', 'mqgate-dead-letter-offset': '0', 'mqgate-push-status': '400' });
  expect(dead.value).toBe('x'.repeat(100));
});

test('a thousand idle push subscriptions do no work: each waits on a wake-up, and a produce wakes only its own', async () => {
  const n = 1000;
  const settings = { ...defaultQueueSettings(DEFAULT_LIMITS), maxMessageBytes: 1024 };
  for (let i = 0; i < n; i++) await t.store.putQueue({ name: `q${i}`, settings, now: t.clock.now() });
  for (let i = 0; i < n; i++) await t.push.put(`p${i}`, { source: { queue: `q${i}` }, url: `${receiver.url}/q${i}` });
  await eventually(() => t.wakeups.waiting === n);
  const before = commitStatsOf(t).operations;
  // Work while idle would run on the gateway's clock (a poll, a retry, a keep-alive): a day on the test's clock fires
  // every timer there is at once. A runner waiting with a timer would have left its wait by the time advance returns.
  t.clock.advance(24 * 60 * 60 * 1000);
  expect(t.wakeups.waiting).toBe(n);
  // Writes those timers asked for were requested before this one, so they are committed with it or before it.
  await t.store.putQueue({ name: 'after-a-day', settings, now: t.clock.now() });
  expect(commitStatsOf(t).operations).toBe(before + 1);
  await produce('q500', [{ value: 1 }]);
  await eventually(() => receiver.received.length === 1);
  expect(receiver.received[0].path).toBe('/q500');
});
