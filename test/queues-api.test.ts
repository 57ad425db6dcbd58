import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response } from 'supertest';
import type { QueueStats } from '../persistence/store';
import { call, until, expectSpecResponse } from './support/specResponses';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';
import { sweepAt } from './store-contract/fixtures';

interface Leased {
  id: string;
  receipt: string;
  deliveryCount: number;
  firstDeliveredAt: number;
  group: string | null;
  value: unknown;
  valueEncoding: string;
  contentType: string;
  headers: Record<string, string>;
  key: string | null;
}

const SOAP_ENVELOPE = `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://example.org/orders">
  <soap:Header/>
  <soap:Body>
    <m:PlaceOrder>
      <m:OrderId>4711</m:OrderId>
      <m:Item quantity="2">Grüner Tee — 緑茶</m:Item>
    </m:PlaceOrder>
  </soap:Body>
</soap:Envelope>
`;

let t: TestGateway;

beforeEach(() => {
  t = testGateway();
});

afterEach(() => disposeTestGateway(t));

/** Sends a request and checks the response against openapi.yaml. */

const put = (queue: string, body: object = {}) => call('putQueue', t.http.put(`/v1/queues/${queue}`).send(body));
const produce = (queue: string, messages: object[], headers: Record<string, string> = {}) =>
  call('produceMessages', t.http.post(`/v1/queues/${queue}/messages`).set(headers).send({ messages }));
const fetchFrom = (queue: string, body: object = {}) => call('fetchMessages', t.http.post(`/v1/queues/${queue}/fetch`).send(body));
const settle = (action: 'ack' | 'nack' | 'extend', queue: string, body: object) =>
  call({ ack: 'ackMessages', nack: 'nackMessages', extend: 'extendLeases' }[action], t.http.post(`/v1/queues/${queue}/${action}`).send(body));
const leased = (res: Response): Leased[] => res.body.messages as Leased[];

describe('queue lifecycle', () => {
  test('PUT creates (201), repeating it changes nothing (200), and GET shows settings and stats', async () => {
    const created = await put('orders', { visibilityTimeoutMs: 5000 });
    expect(created.status).toBe(201);
    const again = await put('orders', { visibilityTimeoutMs: 5000 });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(created.body);
    const got = await call('getQueue', t.http.get('/v1/queues/orders'));
    expect(got.body).toMatchObject({
      name: 'orders',
      visibilityTimeoutMs: 5000,
      maxDeliveries: null,
      deadLetterQueue: null,
      delayMs: 0,
      retentionMs: 345_600_000,
      maxMessageBytes: 1_048_576,
      stats: { ready: 0, inFlight: 0, delayed: 0, bytes: 0, oldestReadyAgeMs: null, produced: 0, acked: 0, deadLettered: 0 },
    });
  });

  test('list, purge and delete', async () => {
    await put('b');
    await put('a');
    await produce('a', [{ value: 1 }, { value: 2 }]);
    const list = await call('listQueues', t.http.get('/v1/queues'));
    expect(list.body.queues.map((q: { name: string }) => q.name)).toEqual(['a', 'b']);
    expect(list.body.queues[0].stats.ready).toBe(2);
    expect((await call('purgeQueue', t.http.post('/v1/queues/a/purge'))).body).toEqual({ purged: 2 });
    expect((await call('getQueue', t.http.get('/v1/queues/a'))).body.stats.ready).toBe(0);
    expect((await call('deleteQueue', t.http.delete('/v1/queues/a'))).status).toBe(204);
    expect((await call('getQueue', t.http.get('/v1/queues/a'))).status).toBe(404);
  });
});

describe('lists page', () => {
  const names = (res: Response) => (res.body as { queues: Array<{ name: string }> }).queues.map((q) => q.name);

  test('through every queue by nextCursor, in name order, each page with its own stats', async () => {
    const created = Array.from({ length: 23 }, (_, i) => `q${String(i).padStart(2, '0')}`);
    for (const name of [...created].reverse()) await put(name);
    await produce('q07', [{ value: 1 }, { value: 2 }]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const res = await call('listQueues', t.http.get(`/v1/queues?limit=5${query}`));
      expect(names(res).length).toBeLessThanOrEqual(5);
      seen.push(...names(res));
      if (names(res).includes('q07')) {
        expect(res.body.queues.find((q: { name: string }) => q.name === 'q07').stats).toMatchObject({ ready: 2 });
      }
      cursor = res.body.nextCursor as string | null;
      pages += 1;
    } while (cursor !== null);
    expect(seen).toEqual(created);
    expect(pages).toBe(5);
  });

  test('100 by default, at most 1000; a prefix keeps names that start with it', async () => {
    for (let i = 0; i < 101; i++) await put(`a${i}`);
    await put('b1');
    const first = await call('listQueues', t.http.get('/v1/queues'));
    expect(names(first)).toHaveLength(100);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const rest = await call('listQueues', t.http.get(`/v1/queues?cursor=${encodeURIComponent(first.body.nextCursor)}`));
    expect(names(rest)).toEqual(['a99', 'b1']);
    expect(rest.body.nextCursor).toBeNull();
    expect(names(await call('listQueues', t.http.get('/v1/queues?prefix=a10')))).toEqual(['a10', 'a100']);
    expect(names(await call('listQueues', t.http.get('/v1/queues?prefix=b')))).toEqual(['b1']);
    expect((await call('listQueues', t.http.get('/v1/queues?prefix=c'))).body).toEqual({ queues: [], nextCursor: null });
  });

  test('a cursor the gateway did not give, a limit of 0 or over 1000: 422 on the parameter', async () => {
    for (const [query, pointer] of [
      ['cursor=not-a-cursor!', '/query/cursor'],
      [`cursor=${Buffer.from('a').toString('base64')}=`, '/query/cursor'],
      ['limit=0', '/query/limit'],
      ['limit=1001', '/query/limit'],
    ]) {
      const res = await call('listQueues', t.http.get(`/v1/queues?${query}`));
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ pointer: expect.stringMatching(`^${pointer}`) }] });
    }
  });

  test('sort=backlog: the queues with the most messages waiting, in any state, then the oldest queue', async () => {
    for (const name of ['empty-old', 'b-two', 'a-three', 'c-one', 'empty-new']) await put(name);
    await produce('a-three', [{ value: 1 }, { value: 2 }, { value: 3, delayMs: 60_000 }]);
    await produce('b-two', [{ value: 1 }, { value: 2 }]);
    await produce('c-one', [{ value: 1 }]);
    // Leased messages still wait: a-three keeps its place.
    await fetchFrom('a-three', { max: 2 });
    const top = await call('listQueues', t.http.get('/v1/queues?sort=backlog&limit=4'));
    expect(names(top)).toEqual(['a-three', 'b-two', 'c-one', 'empty-old']);
    expect(top.body.nextCursor).toBeNull();
    expect(top.body.queues[0].stats).toMatchObject({ ready: 0, inFlight: 2, delayed: 1 });
    expect(names(await call('listQueues', t.http.get('/v1/queues?sort=backlog&prefix=empty-')))).toEqual(['empty-old', 'empty-new']);
    await produce('empty-new', [{ value: 1 }, { value: 2 }, { value: 3 }, { value: 4 }]);
    expect(names(await call('listQueues', t.http.get('/v1/queues?sort=backlog&limit=2')))).toEqual(['empty-new', 'a-three']);
    const cursor = (await call('listQueues', t.http.get('/v1/queues?limit=1'))).body.nextCursor as string;
    const refused = await call('listQueues', t.http.get(`/v1/queues?sort=backlog&cursor=${encodeURIComponent(cursor)}`));
    expect(refused.body).toMatchObject({ status: 422, code: 'validation_failed', errors: [{ pointer: '/query/cursor' }] });
  });

  test('topics, groups, queue subscriptions and push subscriptions page alike', async () => {
    for (const topic of ['t2', 't1']) await call('putTopic', t.http.put(`/v1/topics/${topic}`).send({}));
    for (const group of ['g2', 'g1']) await call('putGroup', t.http.put(`/v1/topics/t1/groups/${group}`).send({}));
    for (const sub of ['s2', 's1']) await call('putSubscription', t.http.put(`/v1/topics/t1/subscriptions/${sub}`).send({}));
    await put('q');
    for (const push of ['p2', 'p1']) {
      await call('putPushSubscription', t.http.put(`/v1/push-subscriptions/${push}`).send({ source: { queue: 'q' }, url: 'http://127.0.0.1:9/' }));
    }
    const walk = async (operationId: string, path: string, key: string): Promise<string[][]> => {
      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
        const res = await call(operationId, t.http.get(`${path}?limit=1${query}`));
        pages.push((res.body[key] as Array<{ name: string }>).map((item) => item.name));
        cursor = res.body.nextCursor as string | null;
      } while (cursor !== null);
      return pages;
    };
    expect(await walk('listTopics', '/v1/topics', 'topics')).toEqual([['t1'], ['t2']]);
    expect(await walk('listGroups', '/v1/topics/t1/groups', 'groups')).toEqual([['g1'], ['g2']]);
    expect(await walk('listSubscriptions', '/v1/topics/t1/subscriptions', 'subscriptions')).toEqual([['s1'], ['s2']]);
    expect(await walk('listPushSubscriptions', '/v1/push-subscriptions', 'pushSubscriptions')).toEqual([['p1'], ['p2']]);
  });
});

describe('produce', () => {
  test('JSON, text and base64 values with key and headers come back as produced', async () => {
    await put('q');
    const res = await produce('q', [
      { value: { order: 1, items: ['a'] }, key: 'customer-7', headers: { trace: 'abc' } },
      { value: 'plain text', valueEncoding: 'text' },
      { value: Buffer.from([0, 1, 254, 255]).toString('base64'), valueEncoding: 'base64' },
      { value: '<a/>', valueEncoding: 'text', contentType: 'application/xml' },
    ]);
    expect(res.status).toBe(201);
    expect(res.body.messages.map((m: { offset: number }) => m.offset)).toEqual([0, 1, 2, 3]);
    const got = leased(await fetchFrom('q', { max: 10 }));
    expect(got.map((m) => [m.value, m.valueEncoding, m.contentType])).toEqual([
      [{ order: 1, items: ['a'] }, 'json', 'application/json'],
      ['plain text', 'text', 'text/plain; charset=utf-8'],
      ['AAH+/w==', 'base64', 'application/octet-stream'],
      ['<a/>', 'text', 'application/xml'],
    ]);
    expect(got[0]).toMatchObject({ key: 'customer-7', headers: { trace: 'abc' }, deliveryCount: 1 });
    expect(got.map((m) => m.id)).toEqual(res.body.messages.map((m: { id: string }) => m.id));
  });

  test('a JSON value is stored as JSON.stringify writes it, escapes and all, whether or not its body held a backslash, by either parser', async () => {
    await put('q');
    // Raw UTF-8 that JSON leaves as it is (U+2028 included), and no backslash anywhere in the body.
    const plain = '{"messages":[{"value":"plain é 😀 \u2028 <>"},{"value":{"s":"é"}}]}';
    // Each of these strings is written with an escape; some must be escaped again, some not (é, the pair).
    const escaped = String.raw`{"messages":[{"value":"a\"b"},{"value":"c\\d"},{"value":"e\nf\t"},{"value":"\u0001"},{"value":"\u00e9 \ud83d\ude00"},{"value":"\ud800"},{"value":"\/"}]}`;
    // A backslash elsewhere than in the value: the value needs no escape either way.
    const elsewhere = String.raw`{"messages":[{"value":"x","headers":{"h":"\u0041"}}]}`;
    const values: unknown[] = [];
    for (const type of ['application/json', 'application/json; charset=utf-8']) {
      for (const body of [plain, escaped, elsewhere]) {
        const res = await t.http.post('/v1/queues/q/messages').set('Content-Type', type).send(body);
        expect(res.status).toBe(201);
        values.push(...(JSON.parse(body) as { messages: Array<{ value: unknown }> }).messages.map((m) => m.value));
      }
    }
    const fetched = await t.http.post('/v1/queues/q/fetch').send({ max: 100 });
    expect(fetched.status).toBe(200);
    // Stored values go out as their bytes: the answer holds each as JSON.stringify's text.
    const texts = [...fetched.text.matchAll(/"value":((?:"(?:[^"\\]|\\.)*")|\{[^}]*\})\}/g)].map((m) => m[1]);
    expect(texts).toEqual(values.map((value) => JSON.stringify(value)));
    expect(leased(fetched).map((m) => m.value)).toEqual(values);
  });

  test('a SOAP 1.1 request is stored as one message: exact bytes, content type and SOAPAction', async () => {
    await put('soap');
    const res = await call(
      'produceMessages',
      t.http
        .post('/v1/queues/soap/messages')
        .set('Content-Type', 'text/xml; charset=utf-8')
        .set('SOAPAction', '"http://example.org/orders/PlaceOrder"')
        .set('Mqgate-Header-Tenant', 'acme')
        .send(SOAP_ENVELOPE),
    );
    // A SOAP caller is answered as SOAP clients expect a one-way operation to be (test/soap.test.ts).
    expect(res.status).toBe(202);
    const [message] = leased(await fetchFrom('soap'));
    expect(message.contentType).toBe('text/xml; charset=utf-8');
    expect(message.valueEncoding).toBe('text');
    expect(message.value).toBe(SOAP_ENVELOPE);
    expect(message.headers).toEqual({ SOAPAction: '"http://example.org/orders/PlaceOrder"', tenant: 'acme' });
  });

  test('a raw JSON-typed body is delivered as JSON, with its content type', async () => {
    await put('events');
    const event = { specversion: '1.0', type: 'order.placed', data: { id: 7, note: 'ünïcode ✓' } };
    await call(
      'produceMessages',
      t.http.post('/v1/queues/events/messages').set('Content-Type', 'application/cloudevents+json').send(JSON.stringify(event)),
    );
    const [message] = leased(await fetchFrom('events'));
    expect(message).toMatchObject({ value: event, valueEncoding: 'json', contentType: 'application/cloudevents+json' });
  });

  test('raw binary bodies keep every byte', async () => {
    await put('bin');
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await call(
      'produceMessages',
      t.http.post('/v1/queues/bin/messages').set('Content-Type', 'application/octet-stream').send(bytes),
    );
    const [message] = leased(await fetchFrom('bin'));
    expect(message.valueEncoding).toBe('base64');
    expect(Buffer.from(message.value as string, 'base64').equals(bytes)).toBe(true);
  });

  test('an Idempotency-Key repeated returns the original ids, even after ack and purge', async () => {
    await put('q');
    const first = await produce('q', [{ value: 'a' }, { value: 'b' }], { 'Idempotency-Key': 'req-1' });
    const [a] = leased(await fetchFrom('q'));
    await settle('ack', 'q', { receipts: [a.receipt] });
    await call('purgeQueue', t.http.post('/v1/queues/q/purge'));
    const repeat = await produce('q', [{ value: 'a' }, { value: 'b' }], { 'Idempotency-Key': 'req-1' });
    expect(repeat.status).toBe(201);
    expect(repeat.body.messages).toEqual(first.body.messages.map((m: object) => ({ ...m, duplicate: true })));
    expect((await call('getQueue', t.http.get('/v1/queues/q'))).body.stats).toMatchObject({ ready: 0, produced: 2 });
  });

  test('per-message idempotency keys deduplicate individually', async () => {
    await put('q');
    await produce('q', [{ value: 1, idempotencyKey: 'one' }]);
    const res = await produce('q', [{ value: 1, idempotencyKey: 'one' }, { value: 2, idempotencyKey: 'two' }]);
    expect(res.body.messages.map((m: { duplicate: boolean }) => m.duplicate)).toEqual([true, false]);
    expect((await call('getQueue', t.http.get('/v1/queues/q'))).body.stats.ready).toBe(2);
  });

  test('delayMs, per message or the queue default, holds messages back until the clock passes it', async () => {
    await put('q', { delayMs: 2000 });
    await produce('q', [{ value: 'queue-default' }, { value: 'own-delay', delayMs: 500 }, { value: 'now', delayMs: 0 }]);
    expect(leased(await fetchFrom('q', { max: 10 })).map((m) => m.value)).toEqual(['now']);
    expect((await call('getQueue', t.http.get('/v1/queues/q'))).body.stats).toMatchObject({ delayed: 2, inFlight: 1 });
    t.clock.advance(500);
    expect(leased(await fetchFrom('q', { max: 10 })).map((m) => m.value)).toEqual(['own-delay']);
    t.clock.advance(1500);
    expect(leased(await fetchFrom('q', { max: 10 })).map((m) => m.value)).toEqual(['queue-default']);
  });
});

describe('leases', () => {
  test('a lease expires after the visibility timeout: redelivered with a new count, the old receipt refused and settling nothing', async () => {
    await put('q', { visibilityTimeoutMs: 10_000 });
    await produce('q', [{ value: 'job' }]);
    const [first] = leased(await fetchFrom('q', { visibilityTimeoutMs: 1000 }));
    expect(first.deliveryCount).toBe(1);
    /** The next delivery, once the current 1 s lease is over and not before. */
    const redelivered = async (): Promise<Leased> => {
      t.clock.advance(999);
      expect(leased(await fetchFrom('q'))).toEqual([]);
      t.clock.advance(1);
      const [next] = leased(await fetchFrom('q', { visibilityTimeoutMs: 1000 }));
      return next;
    };
    const second = await redelivered();
    expect(second.deliveryCount).toBe(2);
    expect(second.receipt).not.toBe(first.receipt);
    const stats = async (): Promise<QueueStats> => ((await call('getQueue', t.http.get('/v1/queues/q'))).body as { stats: QueueStats }).stats;
    // The old receipt alone: beside the live one, the live one's own ack would hide what the old one did.
    const refused = [{ receipt: first.receipt, status: 'expired', code: 'receipt_expired' }];
    for (const action of ['ack', 'nack'] as const) {
      expect((await settle(action, 'q', { receipts: [first.receipt] })).body.results).toEqual(refused);
      expect(await stats()).toMatchObject({ ready: 0, inFlight: 1, acked: 0 });
    }
    expect((await settle('extend', 'q', { receipts: [first.receipt], visibilityTimeoutMs: 60_000 })).body.results).toEqual(refused);
    // The second lease ends when its own fetch said: the refused extend did not move it.
    const third = await redelivered();
    expect(third.deliveryCount).toBe(3);
    const acked = await settle('ack', 'q', { receipts: [third.receipt] });
    expect(acked.body.results).toEqual([{ receipt: third.receipt, status: 'acked' }]);
    expect(await stats()).toMatchObject({ ready: 0, inFlight: 0, acked: 1 });
  });

  test('a receipt whose lease ran out is refused even before anyone else got the message', async () => {
    await put('q', { visibilityTimeoutMs: 1000 });
    await produce('q', [{ value: 'job' }]);
    const [message] = leased(await fetchFrom('q'));
    t.clock.advance(1000);
    const res = await settle('ack', 'q', { receipts: [message.receipt] });
    expect(res.body.results[0]).toMatchObject({ status: 'expired', code: 'receipt_expired' });
  });

  test('nack with a delay returns the message later; extend keeps a lease alive', async () => {
    await put('q', { visibilityTimeoutMs: 1000 });
    await produce('q', [{ value: 'a' }, { value: 'b' }]);
    const [a, b] = leased(await fetchFrom('q', { max: 2 }));
    expect((await settle('nack', 'q', { receipts: [a.receipt], delayMs: 3000 })).body.results[0].status).toBe('nacked');
    expect((await settle('extend', 'q', { receipts: [b.receipt], visibilityTimeoutMs: 5000 })).body.results[0].status).toBe(
      'extended',
    );
    t.clock.advance(2999);
    expect(leased(await fetchFrom('q', { max: 2 }))).toEqual([]);
    t.clock.advance(1);
    const [again] = leased(await fetchFrom('q', { max: 2 }));
    expect(again).toMatchObject({ value: 'a', deliveryCount: 2 });
    expect((await settle('ack', 'q', { receipts: [b.receipt] })).body.results[0].status).toBe('acked');
  });

  test('a nack without delay makes the message ready at once', async () => {
    await put('q');
    await produce('q', [{ value: 'a' }]);
    const [a] = leased(await fetchFrom('q'));
    await settle('nack', 'q', { receipts: [a.receipt] });
    expect(leased(await fetchFrom('q'))[0]).toMatchObject({ value: 'a', deliveryCount: 2 });
  });
});

describe('dead letters', () => {
  test('past maxDeliveries a message goes to the dead-letter queue and redrive brings it back', async () => {
    await put('orders-dlq');
    await put('orders', { maxDeliveries: 2, deadLetterQueue: 'orders-dlq', visibilityTimeoutMs: 1000 });
    await produce('orders', [{ value: { order: 9 }, headers: { trace: 't9' } }]);
    for (const count of [1, 2]) {
      const [m] = leased(await fetchFrom('orders'));
      expect(m.deliveryCount).toBe(count);
      t.clock.advance(1000);
    }
    expect(leased(await fetchFrom('orders'))).toEqual([]);
    const stats = (await call('getQueue', t.http.get('/v1/queues/orders'))).body.stats;
    expect(stats).toMatchObject({ ready: 0, inFlight: 0, deadLettered: 1 });
    expect((await call('getQueue', t.http.get('/v1/queues/orders-dlq'))).body.stats.ready).toBe(1);

    const redrive = await call('redriveMessages', t.http.post('/v1/queues/orders-dlq/redrive'));
    expect(redrive.body).toEqual({ redriven: 1, remaining: 0 });
    const [back] = leased(await fetchFrom('orders'));
    expect(back).toMatchObject({ value: { order: 9 }, headers: { trace: 't9' }, deliveryCount: 1 });
  });

  test('redrive with `to` moves the dead letters to another queue; not to their own, nor to one that does not exist', async () => {
    await put('dlq');
    await put('retry');
    await put('q', { maxDeliveries: 1, deadLetterQueue: 'dlq' });
    await produce('q', [{ value: 'x', headers: { a: '1' } }]);
    const [m] = leased(await fetchFrom('q'));
    await settle('nack', 'q', { receipts: [m.receipt] });
    expect(leased(await fetchFrom('q'))).toEqual([]);
    for (const [to, status, code] of [['dlq', 422, 'validation_failed'], ['nowhere', 404, 'queue_not_found']] as const) {
      const res = await call('redriveMessages', t.http.post('/v1/queues/dlq/redrive').send({ to }));
      expect({ to, status: res.status, code: res.body.code }).toEqual({ to, status, code });
    }
    expect((await call('redriveMessages', t.http.post('/v1/queues/dlq/redrive').send({ to: 'retry' }))).body).toEqual({ redriven: 1, remaining: 0 });
    expect(leased(await fetchFrom('retry'))[0]).toMatchObject({ value: 'x', headers: { a: '1' }, deliveryCount: 1 });
    expect(leased(await fetchFrom('q'))).toEqual([]);
  });

  test('a message keeps its id in the dead-letter queue and back from a redrive; a receipt from before the move settles nothing after it', async () => {
    await put('dlq');
    await put('retry');
    await put('q', { maxDeliveries: 1, deadLetterQueue: 'dlq', visibilityTimeoutMs: 1000 });
    const [expired, nacked] = (await produce('q', [{ value: 'expired' }, { value: 'nacked' }])).body.messages as Array<{ id: string }>;
    const first = leased(await fetchFrom('q', { max: 2 }));
    await settle('nack', 'q', { receipts: [first[1].receipt] });
    t.clock.advance(1000);
    // The claim that finds them used up moves both to the dead-letter queue.
    expect(leased(await fetchFrom('q', { max: 2 }))).toEqual([]);
    const dead = leased(await fetchFrom('dlq', { max: 2 }));
    expect(dead.map((m) => [m.value, m.id])).toEqual([
      ['expired', expired.id],
      ['nacked', nacked.id],
    ]);
    await settle('nack', 'dlq', { receipts: dead.map((m) => m.receipt) });

    // Back to their source; and, with `to`, to another queue: the same ids.
    expect((await call('redriveMessages', t.http.post('/v1/queues/dlq/redrive').send({ max: 1 }))).body).toEqual({ redriven: 1, remaining: 1 });
    expect((await call('redriveMessages', t.http.post('/v1/queues/dlq/redrive').send({ to: 'retry' }))).body).toEqual({ redriven: 1, remaining: 0 });
    const [back] = leased(await fetchFrom('q'));
    expect(back).toMatchObject({ value: 'expired', id: expired.id, deliveryCount: 1 });
    expect(leased(await fetchFrom('retry'))[0]).toMatchObject({ value: 'nacked', id: nacked.id, deliveryCount: 1 });
    // The first delivery's receipt names a delivery that is over: this one is not its to settle.
    expect((await settle('ack', 'q', { receipts: [first[0].receipt] })).body.results[0].status).not.toBe('acked');
    expect((await call('getQueue', t.http.get('/v1/queues/q'))).body.stats).toMatchObject({ inFlight: 1, acked: 0 });
    expect((await settle('ack', 'q', { receipts: [back.receipt] })).body.results[0].status).toBe('acked');
  });

  test('a dead letter keeps its headers and gains its source and delivery count', async () => {
    await put('dlq');
    await put('q', { maxDeliveries: 1, deadLetterQueue: 'dlq' });
    await produce('q', [{ value: 'x', headers: { a: '1' }, key: 'k' }]);
    const [m] = leased(await fetchFrom('q'));
    await settle('nack', 'q', { receipts: [m.receipt] });
    expect(leased(await fetchFrom('q'))).toEqual([]);
    const [dead] = leased(await fetchFrom('dlq'));
    expect(dead).toMatchObject({
      value: 'x',
      key: 'k',
      headers: { a: '1', 'mqgate-dead-letter-source': 'q', 'mqgate-delivery-count': '1' },
    });
  });
});

describe('FIFO queues', () => {
  test('ordering fifo: each group in produce order, one batch of a group in flight, other groups go on; a retried message keeps its place', async () => {
    expect((await put('jobs', { ordering: 'fifo' })).body).toMatchObject({ ordering: 'fifo', contentBasedDeduplication: false, receiveWaitMs: 0, tags: {} });
    await produce('jobs', [
      { value: 'a1', valueEncoding: 'text', group: 'a' },
      { value: 'a2', valueEncoding: 'text', group: 'a' },
      { value: 'b1', valueEncoding: 'text', group: 'b' },
    ]);
    const first = leased(await fetchFrom('jobs', { max: 2, visibilityTimeoutMs: 1000 }));
    expect(first.map((m) => [m.value, m.group])).toEqual([['a1', 'a'], ['a2', 'a']]);
    await produce('jobs', [{ value: 'a3', valueEncoding: 'text', group: 'a' }]);
    // Group a has a batch out: only b may go.
    expect(leased(await fetchFrom('jobs', { max: 10 })).map((m) => m.value)).toEqual(['b1']);
    await settle('ack', 'jobs', { receipts: [first[0].receipt] });
    await settle('nack', 'jobs', { receipts: [first[1].receipt] });
    const retried = leased(await fetchFrom('jobs', { max: 10 }));
    expect(retried.map((m) => [m.value, m.deliveryCount])).toEqual([['a2', 2], ['a3', 1]]);
    expect(retried[0].firstDeliveredAt).toBe(first[1].firstDeliveredAt);
  });

  test('ordering fifo: a nacked head waits while a later message of its batch is still in flight, as in SQS', async () => {
    await put('jobs', { ordering: 'fifo' });
    await produce('jobs', ['a1', 'a2'].map((value) => ({ value, valueEncoding: 'text' as const, group: 'a' })));
    const [a1, a2] = leased(await fetchFrom('jobs', { max: 2 }));
    await settle('nack', 'jobs', { receipts: [a1.receipt] });
    // a1 is ready again, but a2 of the same batch is leased: the group may not go.
    expect(leased(await fetchFrom('jobs', { max: 10 }))).toEqual([]);
    await settle('ack', 'jobs', { receipts: [a2.receipt] });
    expect(leased(await fetchFrom('jobs', { max: 10 })).map((m) => [m.value, m.deliveryCount])).toEqual([['a1', 2]]);
  });

  test('content-based deduplication, remembered 5 minutes on a FIFO queue', async () => {
    await put('orders.fifo', { ordering: 'fifo', contentBasedDeduplication: true });
    const once = await produce('orders.fifo', [{ value: { order: 1 }, group: 'g' }]);
    const again = await produce('orders.fifo', [{ value: { order: 1 }, group: 'g' }]);
    expect(again.body.messages[0]).toEqual({ ...once.body.messages[0], duplicate: true });
    t.clock.advance(5 * 60 * 1000 + 1);
    expect((await produce('orders.fifo', [{ value: { order: 1 }, group: 'g' }])).body.messages[0].duplicate).toBe(false);
  });

  test('a raw body names its group with Mqgate-Group; tags and the receive wait are settings like the others', async () => {
    await put('raw', { ordering: 'fifo', receiveWaitMs: 20_000, tags: { team: 'payments' } });
    await call('produceMessages', t.http.post('/v1/queues/raw/messages').set('Content-Type', 'text/plain').set('Mqgate-Group', 'g7').send('hello'));
    expect(leased(await fetchFrom('raw'))[0]).toMatchObject({ value: 'hello', group: 'g7' });
    expect((await call('getQueue', t.http.get('/v1/queues/raw'))).body).toMatchObject({ receiveWaitMs: 20_000, tags: { team: 'payments' } });
    const bad = await put('raw', { ordering: 'random' });
    expect({ status: bad.status, code: bad.body.code }).toEqual({ status: 422, code: 'validation_failed' });
  });
});

test('text kept as SQLite text (keys, groups, tags, content types) must be well-formed: a lone surrogate is refused, an emoji kept', async () => {
  await put('q');
  for (const message of [{ value: 1, key: 'a\ud800' }, { value: 1, group: '\udfffb' }, { value: 'x', valueEncoding: 'text', contentType: 'text/\ud800' }]) {
    const res = await call('produceMessages', t.http.post('/v1/queues/q/messages').set('Content-Type', 'application/json').send(JSON.stringify({ messages: [message] })));
    expect({ message, status: res.status, code: res.body.code }).toEqual({ message, status: 422, code: 'validation_failed' });
  }
  const tagged = await call('putQueue', t.http.put('/v1/queues/q').set('Content-Type', 'application/json').send('{"tags": {"team": "\\ud800"}}'));
  expect({ status: tagged.status, code: tagged.body.code }).toEqual({ status: 422, code: 'validation_failed' });
  await produce('q', [{ value: 1, key: 'k🙂', group: 'g🙂' }]);
  expect(leased(await fetchFrom('q'))[0]).toMatchObject({ key: 'k🙂', group: 'g🙂' });
  expect((await put('q', { tags: { team: '🙂' } })).body.tags).toEqual({ team: '🙂' });
});

describe('browse', () => {
  const browse = (path: string, query = '') => call(path.includes('/subscriptions/') ? 'browseSubscription' : 'browseQueue', t.http.get(`${path}/messages${query}`));

  test('a dead-letter queue can be looked at before a redrive: nothing is leased, no delivery counted', async () => {
    await put('dlq');
    await put('q', { maxDeliveries: 1, deadLetterQueue: 'dlq' });
    await produce('q', [{ value: { order: 1 } }, { value: 'two', valueEncoding: 'text', key: 'k2' }]);
    for (const m of leased(await fetchFrom('q', { max: 2 }))) await settle('nack', 'q', { receipts: [m.receipt] });
    expect(leased(await fetchFrom('q', { max: 2 }))).toEqual([]);

    const seen = (await browse('/v1/queues/dlq')).body.messages;
    expect(seen).toMatchObject([
      { value: { order: 1 }, valueEncoding: 'json', state: 'ready', deliveryCount: 0, headers: { 'mqgate-dead-letter-source': 'q' } },
      { value: 'two', valueEncoding: 'text', key: 'k2', state: 'ready', deliveryCount: 0 },
    ]);
    expect(seen[0]).not.toHaveProperty('receipt');
    expect((await browse('/v1/queues/dlq')).body.messages).toEqual(seen);
    expect((await call('getQueue', t.http.get('/v1/queues/dlq'))).body.stats).toMatchObject({ ready: 2, inFlight: 0 });
    expect((await call('redriveMessages', t.http.post('/v1/queues/dlq/redrive'))).body).toEqual({ redriven: 2, remaining: 0 });
    expect((await browse('/v1/queues/dlq')).body.messages).toEqual([]);
  });

  test('a page that ends with a moved message (its id older than its place) goes on after it, not after its id', async () => {
    await put('dlq');
    await put('q', { maxDeliveries: 1, deadLetterQueue: 'dlq' });
    await produce('q', [{ value: 'a' }, { value: 'b' }]);
    await produce('dlq', [{ value: 'c' }]);
    // b dies before a: the dead-letter queue holds c, then b, then a, each under the id it was produced with.
    const [a, b] = leased(await fetchFrom('q', { max: 2 }));
    await settle('nack', 'q', { receipts: [b.receipt] });
    await fetchFrom('q');
    await settle('nack', 'q', { receipts: [a.receipt] });
    await fetchFrom('q');
    const pages: Array<Array<[unknown, string]>> = [];
    let after = '';
    // One more page than there are messages: a position that went back would repeat them.
    for (let i = 0; i < 4; i++) {
      const page = (await browse('/v1/queues/dlq', `?max=1${after}`)).body.messages as Array<{ id: string; value: unknown }>;
      if (page.length === 0) break;
      pages.push(page.map((m) => [m.value, m.id]));
      after = `&after=${page[0].id}`;
    }
    expect(pages.map((page) => page[0][0])).toEqual(['c', 'b', 'a']);
    expect([pages[1][0][1], pages[2][0][1]]).toEqual([b.id, a.id]);
  });

  test('pages with after and max; states follow leases, delays and acks', async () => {
    await put('q');
    await produce('q', [{ value: 1 }, { value: 2 }, { value: 3, delayMs: 60_000 }, { value: 4 }, { value: 5 }]);
    const [first, second] = leased(await fetchFrom('q', { max: 2 }));
    await settle('ack', 'q', { receipts: [second.receipt] });
    const page = (await browse('/v1/queues/q', '?max=2')).body.messages as Array<{ id: string; value: number; state: string }>;
    expect(page.map((m) => [m.value, m.state])).toEqual([
      [1, 'leased'],
      [3, 'delayed'],
    ]);
    expect(page[0].id).toBe(first.id);
    const next = (await browse('/v1/queues/q', `?max=2&after=${page[1].id}`)).body.messages as Array<{ value: number; state: string }>;
    expect(next.map((m) => [m.value, m.state])).toEqual([
      [4, 'ready'],
      [5, 'ready'],
    ]);
    t.clock.advance(60_000);
    expect(((await browse('/v1/queues/q')).body.messages as Array<{ state: string }>).map((m) => m.state)).toEqual(['ready', 'ready', 'ready', 'ready']);
  });

  test('a topic subscription is browsed the same way; bad parameters and missing queues get their problem codes', async () => {
    await call('putTopic', t.http.put('/v1/topics/events').send({}));
    await call('putSubscription', t.http.put('/v1/topics/events/subscriptions/audit').send({}));
    await call('produceToTopic', t.http.post('/v1/topics/events/messages').send({ messages: [{ value: 'a', valueEncoding: 'text' }] }));
    expect((await browse('/v1/topics/events/subscriptions/audit')).body.messages).toMatchObject([{ value: 'a', state: 'ready' }]);
    expect((await browse('/v1/queues/nope')).body.code).toBe('queue_not_found');
    expect((await browse('/v1/topics/events/subscriptions/nope')).body.code).toBe('subscription_not_found');
    for (const query of ['?max=0', '?after=-1', '?after=x']) {
      await put('q');
      const res = await browse('/v1/queues/q', query);
      expect({ query, status: res.status, code: res.body.code }).toEqual({ query, status: 422, code: 'validation_failed' });
    }
  });
});

describe('long-poll', () => {
  test('a waiting fetch is woken by a produce, without the clock moving', async () => {
    await put('q');
    const pending = t.http.post('/v1/queues/q/fetch').send({ waitMs: 20_000 }).then((res) => res);
    await until(() => t.wakeups.waiting === 1);
    await produce('q', [{ value: 'wake up' }]);
    const res = await pending;
    expectSpecResponse(res, 'fetchMessages');
    expect(leased(res).map((m) => m.value)).toEqual(['wake up']);
    expect(t.wakeups.waiting).toBe(0);
  });

  test('a waiting fetch on a queue that is deleted ends at once with queue_not_found', async () => {
    await put('q');
    const pending = t.http.post('/v1/queues/q/fetch').send({ waitMs: 20_000 }).then((res) => res);
    await until(() => t.wakeups.waiting === 1);
    await call('deleteQueue', t.http.delete('/v1/queues/q'));
    const res = await pending;
    expectSpecResponse(res, 'fetchMessages');
    expect(res.body).toMatchObject({ status: 404, code: 'queue_not_found' });
  });

  test('a waiting fetch returns empty when waitMs passes', async () => {
    await put('q');
    const pending = t.http.post('/v1/queues/q/fetch').send({ waitMs: 1000 }).then((res) => res);
    await until(() => t.wakeups.waiting === 1);
    t.clock.advance(999);
    expect(t.wakeups.waiting).toBe(1);
    t.clock.advance(1);
    expect(leased(await pending)).toEqual([]);
  });

  test('a waiting fetch gets a delayed message the moment its delay ends', async () => {
    await put('q');
    await produce('q', [{ value: 'later', delayMs: 300 }]);
    const pending = t.http.post('/v1/queues/q/fetch').send({ waitMs: 1000 }).then((res) => res);
    await until(() => t.wakeups.waiting === 1);
    t.clock.advance(300);
    expect(leased(await pending).map((m) => m.value)).toEqual(['later']);
  });

  test('a waiting fetch is woken by a nack that makes a message ready', async () => {
    await put('q');
    await produce('q', [{ value: 'a' }]);
    const [a] = leased(await fetchFrom('q'));
    const pending = t.http.post('/v1/queues/q/fetch').send({ waitMs: 5000 }).then((res) => res);
    await until(() => t.wakeups.waiting === 1);
    await settle('nack', 'q', { receipts: [a.receipt] });
    expect(leased(await pending)[0]).toMatchObject({ value: 'a', deliveryCount: 2 });
  });
});

describe('client gone', () => {
  test('a long-poll whose client disconnects stops waiting and leases nothing', async () => {
    await put('q');
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/v1/queues/q/fetch', headers: { 'content-type': 'application/json' } });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ waitMs: 20_000 }));
    await until(() => t.wakeups.waiting === 1);
    req.destroy();
    await until(() => t.wakeups.waiting === 0);
    await produce('q', [{ value: 'for someone else' }]);
    expect((await call('getQueue', t.http.get('/v1/queues/q'))).body.stats).toMatchObject({ ready: 1, inFlight: 0 });
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('retention', () => {
  test('messages older than retentionMs are removed by the sweep, acked or not', async () => {
    await put('q', { retentionMs: 60_000 });
    await produce('q', [{ value: 'old' }]);
    t.clock.advance(30_000);
    await produce('q', [{ value: 'young' }]);
    t.clock.advance(30_001);
    await t.store.sweep(sweepAt(t.clock.now(), { idempotencyWindowMs: 60_000 }));
    expect(leased(await fetchFrom('q', { max: 10 })).map((m) => m.value)).toEqual(['young']);
  });
});
