import { partitionForKey } from '../queue/partitioner';
import { call, until } from './support/specResponses';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';
import { sweepAt } from './store-contract/fixtures';

interface Produced {
  id: string;
  partition: number;
  offset: number;
  timestamp: number;
  duplicate: boolean;
}

interface Read {
  messages: Array<{ offset: number; value: unknown; key: string | null; timestamp: number }>;
  nextOffset: number;
  startOffset: number;
  endOffset: number;
}

let t: TestGateway;

beforeEach(() => {
  t = testGateway();
});

afterEach(() => disposeTestGateway(t));

const putTopic = (topic: string, body: object = {}) => call('putTopic', t.http.put(`/v1/topics/${topic}`).send(body));
const produce = async (topic: string, messages: object[], headers: Record<string, string> = {}): Promise<Produced[]> => {
  const res = await call('produceToTopic', t.http.post(`/v1/topics/${topic}/messages`).set(headers).send({ messages }));
  expect(res.status).toBe(201);
  return res.body.messages as Produced[];
};
const read = async (topic: string, partition: number, query: Record<string, string | number> = {}): Promise<Read> => {
  const res = await call('readPartition', t.http.get(`/v1/topics/${topic}/partitions/${partition}/messages`).query(query));
  expect(res.status).toBe(200);
  return res.body as Read;
};

describe('topic lifecycle', () => {
  test('PUT creates, repeats idempotently, grows partitions and refuses to shrink them', async () => {
    const created = await putTopic('events', { partitions: 4 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'events', partitions: 4, retentionMs: 604_800_000, retentionBytes: null });
    expect(created.body.stats.partitions).toEqual(
      [0, 1, 2, 3].map((partition) => ({ partition, startOffset: 0, endOffset: 0, bytes: 0 })),
    );
    expect((await putTopic('events', { partitions: 4 })).body).toEqual(created.body);
    const grown = await putTopic('events', { partitions: 6 });
    expect(grown.status).toBe(200);
    expect(grown.body.stats.partitions).toHaveLength(6);
    const shrink = await call('putTopic', t.http.put('/v1/topics/events').send({ partitions: 2 }));
    expect({ status: shrink.status, code: shrink.body.code }).toEqual({ status: 409, code: 'partitions_cannot_shrink' });
  });

  test('queues and topics share one namespace', async () => {
    await putTopic('shared');
    const asQueue = await call('putQueue', t.http.put('/v1/queues/shared').send({}));
    expect({ status: asQueue.status, code: asQueue.body.code }).toEqual({ status: 409, code: 'name_in_use' });
    await call('putQueue', t.http.put('/v1/queues/work').send({}));
    const asTopic = await call('putTopic', t.http.put('/v1/topics/work').send({}));
    expect({ status: asTopic.status, code: asTopic.body.code }).toEqual({ status: 409, code: 'name_in_use' });
    expect((await call('listTopics', t.http.get('/v1/topics'))).body.topics.map((x: { name: string }) => x.name)).toEqual(['shared']);
  });

  test('delete removes the topic and its messages', async () => {
    await putTopic('gone');
    await produce('gone', [{ value: 1 }]);
    expect((await call('deleteTopic', t.http.delete('/v1/topics/gone'))).status).toBe(204);
    const res = await call('getTopic', t.http.get('/v1/topics/gone'));
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 404, code: 'topic_not_found' });
  });
});

describe('produce', () => {
  test("a keyed message lands on murmur2(key) % partitions, as Kafka's default partitioner puts it", async () => {
    await putTopic('keyed', { partitions: 12 });
    const keys = Array.from({ length: 50 }, (_, i) => `customer-${i}`);
    const results = await produce('keyed', keys.map((key) => ({ value: key, key })));
    expect(results.map((r) => r.partition)).toEqual(keys.map((key) => partitionForKey(key, 12)));
    // Offsets are dense per partition, from 0.
    const perPartition = new Map<number, number[]>();
    for (const r of results) perPartition.set(r.partition, [...(perPartition.get(r.partition) ?? []), r.offset]);
    for (const offsets of perPartition.values()) expect(offsets).toEqual(offsets.map((_, i) => i));
  });

  test('an explicit partition wins over the key; a missing partition is partition_not_found', async () => {
    await putTopic('p', { partitions: 3 });
    const [result] = await produce('p', [{ value: 1, key: 'k', partition: 2 }]);
    expect(result.partition).toBe(2);
    const res = await call('produceToTopic', t.http.post('/v1/topics/p/messages').send({ messages: [{ value: 1 }, { value: 2, partition: 3 }] }));
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 404, code: 'partition_not_found' });
    expect((await read('p', 0)).messages).toEqual([]);
  });

  test('keyless messages stay together within a request and spread over partitions across requests', async () => {
    await putTopic('spread', { partitions: 3 });
    const batches = [];
    for (let i = 0; i < 6; i++) batches.push(await produce('spread', [{ value: i }, { value: i }]));
    for (const batch of batches) expect(new Set(batch.map((r) => r.partition)).size).toBe(1);
    expect(new Set(batches.map((batch) => batch[0].partition))).toEqual(new Set([0, 1, 2]));
  });

  test('a raw body is one message, its key and partition from the query', async () => {
    await putTopic('raw', { partitions: 4 });
    const res = await call(
      'produceToTopic',
      t.http.post('/v1/topics/raw/messages').query({ key: 'order-9' }).set('Content-Type', 'application/xml').send('<order id="9"/>'),
    );
    const [produced] = res.body.messages as Produced[];
    expect(produced.partition).toBe(partitionForKey('order-9', 4));
    const { messages } = await read('raw', produced.partition);
    expect(messages[0]).toMatchObject({ key: 'order-9', value: '<order id="9"/>', contentType: 'application/xml' });
    const explicit = await call('produceToTopic', t.http.post('/v1/topics/raw/messages').query({ partition: 3 }).set('Content-Type', 'text/plain').send('x'));
    expect(explicit.body.messages[0].partition).toBe(3);
  });

  test('an Idempotency-Key repeated returns the original partitions and offsets', async () => {
    await putTopic('idem', { partitions: 2 });
    const first = await produce('idem', [{ value: 1, key: 'a' }, { value: 2, key: 'b' }], { 'Idempotency-Key': 'r1' });
    const again = await produce('idem', [{ value: 1, key: 'a' }, { value: 2, key: 'b' }], { 'Idempotency-Key': 'r1' });
    expect(again).toEqual(first.map((r) => ({ ...r, duplicate: true })));
  });
});

describe('reads by offset', () => {
  beforeEach(async () => {
    await putTopic('log');
    await produce('log', Array.from({ length: 10 }, (_, i) => ({ value: `m${i}`, valueEncoding: 'text' })));
  });

  test('from earliest, an offset or latest, with max and nextOffset', async () => {
    const first = await read('log', 0, { max: 4 });
    expect(first.messages.map((m) => m.value)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(first).toMatchObject({ nextOffset: 4, startOffset: 0, endOffset: 10 });
    const next = await read('log', 0, { offset: first.nextOffset, max: 100 });
    expect(next.messages.map((m) => m.offset)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(next.nextOffset).toBe(10);
    expect(await read('log', 0, { offset: 'latest' })).toMatchObject({ messages: [], nextOffset: 10 });
    expect((await read('log', 0, { offset: 10 })).messages).toEqual([]);
  });

  test('maxBytes stops a read early but always returns at least one message', async () => {
    expect((await read('log', 0, { maxBytes: 5 })).messages.map((m) => m.value)).toEqual(['m0', 'm1']);
    expect((await read('log', 0, { maxBytes: 1 })).messages.map((m) => m.value)).toEqual(['m0']);
  });

  test('an offset outside the partition → 416 offset_out_of_range naming the range', async () => {
    const res = await call('readPartition', t.http.get('/v1/topics/log/partitions/0/messages').query({ offset: 11 }));
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 416, code: 'offset_out_of_range' });
    expect(res.body.detail).toContain('0 to 10');
  });

  test('an offset below the start after retention → offset_out_of_range; earliest moves with it', async () => {
    await putTopic('log', { retentionBytes: 4 });
    await t.store.sweep(sweepAt(t.clock.now(), { idempotencyWindowMs: 1 }));
    expect((await read('log', 0)).messages.map((m) => m.value)).toEqual(['m8', 'm9']);
    const res = await call('readPartition', t.http.get('/v1/topics/log/partitions/0/messages').query({ offset: 3 }));
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 416, code: 'offset_out_of_range' });
    expect((await call('getTopic', t.http.get('/v1/topics/log'))).body.stats.partitions[0]).toEqual({
      partition: 0,
      startOffset: 8,
      endOffset: 10,
      bytes: 4,
    });
  });

  test('bad partitions and parameters are refused', async () => {
    const missing = await call('readPartition', t.http.get('/v1/topics/log/partitions/1/messages'));
    expect({ status: missing.status, code: missing.body.code }).toEqual({ status: 404, code: 'partition_not_found' });
    const notANumber = await call('readPartition', t.http.get('/v1/topics/log/partitions/one/messages'));
    expect({ status: notANumber.status, code: notANumber.body.code }).toEqual({ status: 422, code: 'validation_failed' });
    for (const query of [{ offset: 'middle' }, { max: 0 }, { waitMs: 20_001 }, { offset: -1 }]) {
      const res = await call('readPartition', t.http.get('/v1/topics/log/partitions/0/messages').query(query));
      expect({ query, status: res.status, code: res.body.code }).toEqual({ query, status: 422, code: 'validation_failed' });
    }
  });

  test('a read at the end of the log waits for the next message, woken by its produce', async () => {
    const pending = t.http.get('/v1/topics/log/partitions/0/messages').query({ offset: 'latest', waitMs: 10_000 }).then((res) => res);
    await until(() => t.wakeups.waiting === 1);
    await produce('log', [{ value: 'fresh', valueEncoding: 'text' }]);
    const res = await pending;
    expect((res.body as Read).messages.map((m) => m.value)).toEqual(['fresh']);
  });
});

describe('time', () => {
  test('offsetForTimestamp finds the first message at or after a time', async () => {
    await putTopic('timed');
    await produce('timed', [{ value: 'a' }, { value: 'b' }]);
    const t1 = t.clock.now() + 1000;
    t.clock.advance(1000);
    await produce('timed', [{ value: 'c' }]);
    t.clock.advance(1000);
    await produce('timed', [{ value: 'd' }]);
    const offsetAt = async (timestamp: number): Promise<number> =>
      (await call('offsetForTimestamp', t.http.get('/v1/topics/timed/partitions/0/offsets').query({ timestamp }))).body.offset;
    expect(await offsetAt(0)).toBe(0);
    expect(await offsetAt(t1 - 1)).toBe(2);
    expect(await offsetAt(t1)).toBe(2);
    expect(await offsetAt(t1 + 1)).toBe(3);
    expect(await offsetAt(t1 + 10_000)).toBe(4);
  });

  test('timestamps never go backwards within a partition, even when the clock does', async () => {
    await putTopic('mono');
    const [first] = await produce('mono', [{ value: 1 }]);
    t.clock.advance(-5000);
    const [second] = await produce('mono', [{ value: 2 }]);
    expect(second.timestamp).toBe(first.timestamp);
  });

  test('retentionMs deletes messages older than it, oldest first', async () => {
    await putTopic('aging', { retentionMs: 60_000 });
    await produce('aging', [{ value: 'old' }]);
    t.clock.advance(30_000);
    await produce('aging', [{ value: 'young' }]);
    t.clock.advance(30_001);
    await t.store.sweep(sweepAt(t.clock.now(), { idempotencyWindowMs: 1 }));
    expect(await read('aging', 0)).toMatchObject({ startOffset: 1, messages: [{ value: 'young' }] });
  });
});
