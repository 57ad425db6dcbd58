import type { ServerResponse } from 'node:http';
import { Metrics } from '../api/metrics';
import { DEFAULT_LIMITS } from '../queue/limits';
import { QueueService } from '../queue/queueService';
import { SchemaService } from '../queue/schemas';
import { Wakeups } from '../queue/wakeups';
import { until } from './support/specResponses';
import { bearer, type Envelope, followStream, openStream, type Served, type StreamClient, serve, streamKey } from './support/streamClient';
import { disposeTestGateway, type TestGateway, type TestGatewayOptions, testGateway } from './support/testGateway';

const ADMIN = streamKey('admin', ['*:*']);
const ADMIN_AUTH = { Authorization: `Bearer ${ADMIN.token}` };

let t: TestGateway;
let served: Served;
/** Every response the gateway's socket made, to look at what the gateway holds for a stream. */
let responses: ServerResponse[];

async function start(options: TestGatewayOptions = {}): Promise<void> {
  t = testGateway(options);
  responses = [];
  served = await serve(t, disposeTestGateway, (req, res) => {
    responses.push(res);
    t.app(req, res);
  });
}

afterEach(() => served.close());

/** Opens a stream on this test's gateway. */
function open(path: string, headers: Record<string, string> = {}): ReturnType<typeof openStream> {
  return openStream(served.port, path, headers);
}

/** Follows a stream on this test's gateway; fails unless it answered 200 with a stream. */
function stream(path: string, headers: Record<string, string> = {}): Promise<StreamClient> {
  return followStream(served.port, path, headers);
}

async function produceToTopic(values: unknown[]): Promise<void> {
  const res = await t.http.post('/v1/topics/t/messages').send({ messages: values.map((value) => ({ value, partition: 1 })) });
  expect(res.status).toBe(201);
}

async function produceToQueue(values: unknown[]): Promise<void> {
  expect((await t.http.post('/v1/queues/q/messages').send({ messages: values.map((value) => ({ value })) })).status).toBe(201);
}

/** The partition's messages as a read returns them. */
async function readBack(from: number): Promise<Envelope[]> {
  return (await t.http.get(`/v1/topics/t/partitions/1/messages?offset=${from}`)).body.messages as Envelope[];
}

describe('a partition stream', () => {
  beforeEach(async () => {
    await start();
    expect((await t.http.put('/v1/topics/t').send({ partitions: 2 })).status).toBe(201);
  });

  test('sends each message as one event, in order, id partition:offset and data the envelope a read returns; then waits for appends', async () => {
    await produceToTopic([{ n: 0 }, 'text\nwith a line break', { n: 2 }]);
    const client = await stream('/v1/topics/t/partitions/1/stream?offset=0');
    const read = await readBack(0);
    const events = await client.take(3);
    expect(events.map((e) => e.id)).toEqual(['1:0', '1:1', '1:2']);
    expect(events.map((e) => e.event)).toEqual(['message', 'message', 'message']);
    expect(events.map((e) => JSON.parse(e.data as string) as Envelope)).toEqual(read);
    // At the end of the log it waits for the next append, woken by its commit.
    await until(() => t.wakeups.waiting === 1);
    await produceToTopic([{ n: 3 }]);
    const [next] = await client.take(1);
    expect(next.id).toBe('1:3');
    expect(JSON.parse(next.data as string)).toEqual((await readBack(3))[0]);
    client.close();
  });

  test('a JSON value stored with line breaks goes out on one data line, the same JSON', async () => {
    // A body of a JSON type other than application/json is one message, its bytes kept as sent.
    expect((await t.http.post('/v1/topics/t/messages?partition=1').set('Content-Type', 'application/cloudevents+json').send('{"a":\n[1,\r\n2]}')).status).toBe(201);
    const client = await stream('/v1/topics/t/partitions/1/stream');
    const [event] = await client.take(1);
    expect((JSON.parse(event.data as string) as Envelope).value).toEqual({ a: [1, 2] });
    client.close();
  });

  test('Last-Event-ID resumes after that event, over offset: nothing lost, nothing repeated', async () => {
    await produceToTopic([0, 1, 2, 3, 4]);
    const first = await stream('/v1/topics/t/partitions/1/stream?offset=earliest');
    const seen = await first.take(3);
    first.close();
    const resumed = await stream('/v1/topics/t/partitions/1/stream?offset=0', { 'Last-Event-ID': seen[2].id as string });
    await produceToTopic([5]);
    const rest = await resumed.take(3);
    expect([...seen, ...rest].map((e) => (JSON.parse(e.data as string) as Envelope).value)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rest.map((e) => e.id)).toEqual(['1:3', '1:4', '1:5']);
    resumed.close();
    // Another partition's event id, or none of this form, is refused before the stream starts.
    expect((await open('/v1/topics/t/partitions/1/stream', { 'Last-Event-ID': '0:3' })).problem.code).toBe('validation_failed');
    expect((await open('/v1/topics/t/partitions/1/stream', { 'Last-Event-ID': 'three' })).problem.code).toBe('validation_failed');
  });

  test('refuses what it cannot stream before it starts: no topic, no partition, an offset out of range', async () => {
    expect((await open('/v1/topics/none/partitions/0/stream')).problem.code).toBe('topic_not_found');
    expect((await open('/v1/topics/t/partitions/7/stream')).problem.code).toBe('partition_not_found');
    const { status, problem } = await open('/v1/topics/t/partitions/1/stream?offset=5');
    expect([status, problem.code]).toEqual([416, 'offset_out_of_range']);
  });

  test('sends a heartbeat comment each time the clock passes the heartbeat interval', async () => {
    const client = await stream('/v1/topics/t/partitions/1/stream');
    t.clock.advance(14_999);
    await produceToTopic(['after']);
    // The event comes before any heartbeat: the interval (15 s) has not passed yet.
    expect((await client.take(1))[0].id).toBe('1:0');
    t.clock.advance(1);
    expect(await client.take(1)).toEqual([{ comment: 'keep-alive' }]);
    t.clock.advance(15_000);
    expect(await client.take(1)).toEqual([{ comment: 'keep-alive' }]);
    client.close();
  });

  test('NDJSON: one {id, message} object a line, a heartbeat {} between', async () => {
    await produceToTopic(['a', { b: 1 }]);
    const client = await stream('/v1/topics/t/partitions/1/stream', { Accept: 'application/x-ndjson' });
    const lines = await client.take(2);
    expect(lines.map((l) => l.id)).toEqual(['1:0', '1:1']);
    expect(lines.map((l) => JSON.parse(l.data as string) as Envelope)).toEqual(await readBack(0));
    t.clock.advance(15_000);
    expect(await client.take(1)).toEqual([{ comment: '{}' }]);
    client.close();
  });

  test('ends when the gateway shuts down', async () => {
    const client = await stream('/v1/topics/t/partitions/1/stream');
    await until(() => t.wakeups.waiting === 1);
    t.shutDown();
    await client.ended;
    expect(client.items).toEqual([]);
  });

  test('a slow reader: the gateway writes the next event only once the socket drained the last', async () => {
    const value = 'x'.repeat(32 * 1024);
    const count = 400;
    const client = await stream('/v1/topics/t/partitions/1/stream');
    client.res.pause();
    const served = responses[responses.length - 1];
    // 12.5 MiB: more than loopback's socket buffers take.
    for (let i = 0; i < count; i += 100) await produceToTopic(Array.from({ length: 100 }, () => value));
    await until(() => served.writableNeedDrain);
    // Held by the gateway: at most the event being written (about 33 KB) above the response's high-water mark.
    const eventBytes = 33 * 1024;
    expect(served.writableLength).toBeLessThanOrEqual(served.writableHighWaterMark + eventBytes);
    // It stays so while the reader sleeps: the stream waits for 'drain', it does not go on writing.
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(served.writableLength).toBeLessThanOrEqual(served.writableHighWaterMark + eventBytes);
    client.res.resume();
    const events = await client.take(count);
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: count }, (_, i) => `1:${i}`));
    client.close();
  });
});

describe('a queue stream', () => {
  beforeEach(async () => {
    await start();
    expect((await t.http.put('/v1/queues/q').send({ visibilityTimeoutMs: 30_000 })).status).toBe(201);
  });

  test('leases at most maxInFlight: the next event comes once one is acked, nacked or its lease runs out', async () => {
    await produceToQueue([0, 1, 2, 3, 4]);
    const client = await stream('/v1/queues/q/stream?maxInFlight=2');
    const first = await client.take(2);
    for (const event of first) {
      const message = JSON.parse(event.data as string) as Envelope;
      expect(event.event).toBe('message');
      expect(message.receipt).toBe(event.id);
      expect(message.deliveryCount).toBe(1);
    }
    expect(first.map((e) => (JSON.parse(e.data as string) as Envelope).value)).toEqual([0, 1]);
    // Two held: the stream waits, and sends nothing more.
    await until(() => t.wakeups.waiting === 1);
    expect(client.items).toEqual([]);
    expect((await t.http.get('/v1/queues/q')).body.stats).toMatchObject({ ready: 3, inFlight: 2 });

    expect((await t.http.post('/v1/queues/q/ack').send({ receipts: [first[0].id] })).body.results[0].status).toBe('acked');
    const [third] = await client.take(1);
    expect((JSON.parse(third.data as string) as Envelope).value).toBe(2);
    await until(() => t.wakeups.waiting === 1);
    expect(client.items).toEqual([]);

    expect((await t.http.post('/v1/queues/q/nack').send({ receipts: [third.id], delayMs: 60_000 })).body.results[0].status).toBe('nacked');
    expect((JSON.parse((await client.take(1))[0].data as string) as Envelope).value).toBe(3);
    await until(() => t.wakeups.waiting === 1);

    // The stream renews nothing: the leases of 1 and 3 run out (3 was nacked: it waits for its delay; a heartbeat
    // goes out too), so two slots are free: 1 comes again, and 4.
    t.clock.advance(30_000);
    const after = [await client.nextEvent(), await client.nextEvent()].map((e) => JSON.parse(e.data as string) as Envelope);
    expect(after.map((m) => [m.value, m.deliveryCount]).sort()).toEqual([
      [1, 2],
      [4, 1],
    ]);
    await until(() => t.wakeups.waiting === 1);
    expect(client.items.filter((item) => item.comment === undefined)).toEqual([]);
    client.close();
  });

  test('NDJSON carries the same events', async () => {
    await produceToQueue(['a']);
    const client = await stream('/v1/queues/q/stream', { Accept: 'application/x-ndjson' });
    const [line] = await client.take(1);
    const message = JSON.parse(line.data as string) as Envelope;
    expect(message).toMatchObject({ receipt: line.id, value: 'a', deliveryCount: 1 });
    client.close();
  });

  test('a queue that does not exist is 404 before the stream starts; maxInFlight is bounded', async () => {
    expect((await open('/v1/queues/none/stream')).problem.code).toBe('queue_not_found');
    expect((await open('/v1/queues/q/stream?maxInFlight=0')).problem.code).toBe('validation_failed');
  });

  test('ends when the gateway shuts down', async () => {
    const client = await stream('/v1/queues/q/stream');
    await until(() => t.wakeups.waiting === 1);
    t.shutDown();
    await client.ended;
  });
});

describe('a queue stream at its most leases', () => {
  // Heartbeats (and the re-check for other gateways' acks) every minute; leases of 30 s unless a test says otherwise.
  beforeEach(async () => {
    await start({ limits: { streamHeartbeatMs: 60_000 } });
    expect((await t.http.put('/v1/queues/q').send({ visibilityTimeoutMs: 30_000 })).status).toBe(201);
    await produceToQueue([0, 1]);
  });

  /** A stream of one lease at a time, holding message 0's, waiting. */
  async function holding(): Promise<{ client: StreamClient; receipt: string }> {
    const client = await stream('/v1/queues/q/stream?maxInFlight=1');
    const [first] = await client.take(1);
    expect((JSON.parse(first.data as string) as Envelope).value).toBe(0);
    await until(() => t.wakeups.waiting === 1);
    return { client, receipt: first.id as string };
  }

  test('a lease running out frees its slot when it ends, before the next re-check', async () => {
    const { client } = await holding();
    t.clock.advance(29_999);
    await until(() => t.wakeups.waiting === 1);
    expect(client.items).toEqual([]);
    t.clock.advance(1);
    // 1 has waited longer than 0, ready again only now.
    const next = JSON.parse((await client.take(1))[0].data as string) as Envelope;
    expect([next.value, next.deliveryCount]).toEqual([1, 1]);
    client.close();
  });

  test('an ack made through another gateway over the store frees the slot at the next re-check: the store announces no ack', async () => {
    expect((await t.http.put('/v1/queues/q').send({ visibilityTimeoutMs: 300_000 })).status).toBe(200);
    const { client, receipt } = await holding();
    const metrics = new Metrics();
    const other = new QueueService(t.store, t.clock, DEFAULT_LIMITS, new Wakeups(t.store, t.clock), metrics, new SchemaService(t.store, t.clock, metrics));
    expect((await other.ack({ queue: 'q' }, [receipt]))[0].status).toBe('acked');
    await until(() => t.wakeups.waiting === 1);
    t.clock.advance(59_999);
    await until(() => t.wakeups.waiting === 1);
    expect(client.items).toEqual([]);
    t.clock.advance(1);
    const next = JSON.parse((await client.nextEvent()).data as string) as Envelope;
    expect([next.value, next.deliveryCount]).toEqual([1, 1]);
    client.close();
  });

  test('an extended lease holds its slot past the end it had', async () => {
    const { client, receipt } = await holding();
    expect((await t.http.post('/v1/queues/q/extend').send({ receipts: [receipt], visibilityTimeoutMs: 120_000 })).body.results[0].status).toBe('extended');
    t.clock.advance(59_999);
    await until(() => t.wakeups.waiting === 1);
    expect(client.items).toEqual([]);
    client.close();
  });
});

describe('streams and keys', () => {
  const reader = streamKey('reader', ['consume:queues/q', 'consume:topics/t'], { longPolls: 1 });
  const elsewhere = streamKey('elsewhere', ['consume:queues/other-*', 'consume:topics/other-*']);

  beforeEach(async () => {
    await start({ keys: [ADMIN.record, reader.record, elsewhere.record] });
    expect((await t.http.put('/v1/queues/q').set(ADMIN_AUTH).send({})).status).toBe(201);
    expect((await t.http.put('/v1/topics/t').set(ADMIN_AUTH).send({})).status).toBe(201);
  });

  test('a stream needs a key (401) with consume on what it follows (403)', async () => {
    for (const path of ['/v1/queues/q/stream', '/v1/topics/t/partitions/0/stream']) {
      expect((await open(path)).problem.code).toBe('unauthorized');
      expect((await open(path, bearer(elsewhere))).problem.code).toBe('forbidden');
      const client = await stream(path, bearer(reader));
      client.close();
      // The reader's one long-poll slot is free once the gateway has ended the stream, not as soon as the client hung up.
      await until(() => t.metrics.openStreams === 0);
    }
  });

  test('an open stream holds one of the key long-poll slots', async () => {
    const client = await stream('/v1/topics/t/partitions/0/stream', bearer(reader));
    await until(() => t.wakeups.waiting === 1);
    const { status, problem } = await open('/v1/queues/q/stream', bearer(reader));
    expect([status, problem.code]).toEqual([429, 'too_many_long_polls']);
    const fetch = await t.http.post('/v1/queues/q/fetch').set(bearer(reader)).send({ waitMs: 1000 });
    expect(fetch.body.code).toBe('too_many_long_polls');
    // The admin key has slots of its own.
    const other = await stream('/v1/queues/q/stream', ADMIN_AUTH);
    other.close();
    client.close();
  });
});
