import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { generateKey } from '../api/keys';
import { MAX_NAMES } from '../api/metrics';
import { parseScope } from '../api/scopes';
import { polled, type Receiver, startReceiver } from './support/receiver';
import { settings } from './store-contract/fixtures';
import { call } from './support/specResponses';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';
import { commitStatsOf } from './support/testStore';

let t: TestGateway;

afterEach(() => disposeTestGateway(t));

/** One sample of the exposition text: a metric name, its labels and its value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match === null) throw new Error(`not a sample: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

/** The exposition text of one GET /metrics. */
async function scrapeText(): Promise<string> {
  const res = await call('getMetrics', t.http.get('/metrics'));
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text;
}

async function scrape(): Promise<Sample[]> {
  return parse(await scrapeText());
}

/** The value of the one sample with this name and (at least) these labels; undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

const produce = (path: string, count: number) =>
  t.http.post(`${path}/messages`).send({ messages: Array.from({ length: count }, (_, i) => ({ value: i, key: `k${i}` })) });

/** Debian's promtool (package prometheus): the linter Prometheus itself applies to an exposition. */
const PROMTOOL = '/usr/bin/promtool';

/** What `promtool check metrics` makes of an exposition: its exit status and everything it printed. */
function promtoolCheck(text: string): { status: number | null; printed: string } {
  // A missing promtool fails the test rather than skipping it, so an exposition never linted cannot pass as green.
  if (!fs.existsSync(PROMTOOL)) throw new Error(`${PROMTOOL} is missing: the metrics lint needs promtool (apt-get install prometheus).`);
  const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, printed: result.stdout + result.stderr };
}

/** Families declared by a `# TYPE` line of the exposition whose name starts with `prefix`. */
function families(text: string, prefix: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]).filter((name) => name.startsWith(prefix));
}

/** The sum of every sample with this name, whatever its labels. */
const total = (samples: Sample[], name: string) => samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);

/** A family's samples: its own name, or a histogram's series. */
const ofFamily = (samples: Sample[], family: string) =>
  samples.filter((s) => [family, `${family}_bucket`, `${family}_sum`, `${family}_count`].includes(s.name));

test('messages produced, delivered and acked per queue and topic; depth, dead letters, lag and requests from one scrape', async () => {
  t = testGateway();
  await t.http.put('/v1/queues/dead').send({});
  await t.http.put('/v1/queues/orders').send({ maxDeliveries: 1, deadLetterQueue: 'dead' });
  expect((await produce('/v1/queues/orders', 4)).status).toBe(201);
  // A repeat of an idempotent produce stores nothing, so it counts nothing.
  await t.http.post('/v1/queues/orders/messages').set('Idempotency-Key', 'once').send({ messages: [{ value: 'x' }] });
  await t.http.post('/v1/queues/orders/messages').set('Idempotency-Key', 'once').send({ messages: [{ value: 'x' }] });
  const fetched = (await t.http.post('/v1/queues/orders/fetch').send({ max: 3 })).body.messages as Array<{ receipt: string }>;
  await t.http.post('/v1/queues/orders/ack').send({ receipts: [fetched[0].receipt, 'not-a-receipt'] });
  await t.http.post('/v1/queues/orders/nack').send({ receipts: [fetched[1].receipt] });
  // The nacked message has had its one delivery: the next fetch moves it to the dead-letter queue.
  await t.http.post('/v1/queues/orders/fetch').send({ max: 1 });

  await t.http.put('/v1/topics/events').send({ partitions: 2 });
  expect((await produce('/v1/topics/events', 6)).status).toBe(201);
  await t.http.put('/v1/topics/events/groups/ledger').send({ resetPolicy: 'earliest' });
  const read = (await t.http.post('/v1/topics/events/groups/ledger/fetch').send({ max: 2 })).body.messages as Array<{ partition: number }>;
  await t.http.post('/v1/topics/events/groups/ledger/commit').send({});
  await t.http.get('/v1/queues/nowhere');

  const samples = await scrape();
  const { commits, operations } = commitStatsOf(t);
  const stats = (await t.http.get('/v1/queues/orders')).body.stats;
  const queue = { kind: 'queue', name: 'orders' };
  expect(valueOf(samples, 'mqgate_messages_produced_total', queue)).toBe(5);
  expect(valueOf(samples, 'mqgate_messages_delivered_total', queue)).toBe(4);
  expect(valueOf(samples, 'mqgate_messages_acked_total', queue)).toBe(1);
  expect(valueOf(samples, 'mqgate_messages_produced_total', { kind: 'topic', name: 'events' })).toBe(6);
  expect(valueOf(samples, 'mqgate_messages_delivered_total', { kind: 'topic', name: 'events' })).toBe(2);
  expect(valueOf(samples, 'mqgate_queue_messages_dead_lettered_total', { queue: 'orders' })).toBe(stats.deadLettered);
  expect(stats.deadLettered).toBe(1);
  for (const [state, field] of [['ready', 'ready'], ['in_flight', 'inFlight'], ['delayed', 'delayed']] as const) {
    expect(valueOf(samples, 'mqgate_queue_messages', { queue: 'orders', state })).toBe(stats[field]);
  }
  expect(valueOf(samples, 'mqgate_queue_messages', { queue: 'dead', state: 'ready' })).toBe(1);

  const group = (await t.http.get('/v1/topics/events/groups/ledger')).body.partitions as Array<{ partition: number; lag: number }>;
  for (const { partition, lag } of group) {
    expect(valueOf(samples, 'mqgate_group_lag', { topic: 'events', group: 'ledger', partition: String(partition) })).toBe(lag);
  }
  expect(group.reduce((sum, p) => sum + p.lag, 0)).toBe(6 - read.length);
  const ends = (await t.http.get('/v1/topics/events')).body.stats.partitions as Array<{ partition: number; endOffset: number }>;
  for (const { partition, endOffset } of ends) {
    expect(valueOf(samples, 'mqgate_topic_end_offset', { topic: 'events', partition: String(partition) })).toBe(endOffset);
  }

  expect(valueOf(samples, 'mqgate_http_requests_total', { operation: 'produceMessages', status: '201' })).toBe(3);
  expect(valueOf(samples, 'mqgate_http_requests_total', { operation: 'getQueue', status: '404' })).toBe(1);
  expect(valueOf(samples, 'mqgate_http_request_duration_seconds_count', { operation: 'fetchMessages' })).toBe(2);
  expect(valueOf(samples, 'mqgate_store_commit_operations_count')).toBe(commits);
  expect(valueOf(samples, 'mqgate_store_commit_operations_sum')).toBe(operations);
  expect(valueOf(samples, 'mqgate_store_commit_duration_seconds_count')).toBe(commits);
  expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
});

test('a scrape writes nothing to the store, not even with a group member past its session timeout (the next write to the group removes it)', async () => {
  t = testGateway();
  await t.http.put('/v1/topics/events').send({ partitions: 2 });
  await t.http.put('/v1/topics/events/groups/ledger').send({ sessionTimeoutMs: 6000 });
  expect((await t.http.post('/v1/topics/events/groups/ledger/members').send({})).status).toBe(201);
  t.clock.advance(10_000);
  const before = commitStatsOf(t).commits;
  const samples = await scrape();
  await scrape();
  expect(commitStatsOf(t).commits).toBe(before);
  // The gauges show the group as it stands: its one member gone, the partitions unowned.
  expect(valueOf(samples, 'mqgate_group_lag', { topic: 'events', group: 'ledger', partition: '0' })).toBe(0);
  expect((await t.http.get('/v1/topics/events/groups/ledger')).body.members).toEqual([]);
  expect(commitStatsOf(t).commits).toBe(before);
});

test('promtool check metrics passes, without a word, a scrape in which every mqgate family has series', async () => {
  t = testGateway();
  const receiver = await startReceiver(() => t.clock.now());
  try {
    await t.http.put('/v1/queues/dead').send({});
    await t.http.put('/v1/queues/orders').send({ maxDeliveries: 1, deadLetterQueue: 'dead' });
    await produce('/v1/queues/orders', 4);
    await t.http.put('/v1/queues/orders/schema').send({ schema: { type: 'integer' } });
    expect((await t.http.post('/v1/queues/orders/messages').send({ messages: [{ value: 'x' }] })).status).toBe(422);
    const [acked, nacked] = (await t.http.post('/v1/queues/orders/fetch').send({ max: 2 })).body.messages as Array<{ receipt: string }>;
    await t.http.post('/v1/queues/orders/ack').send({ receipts: [acked.receipt] });
    await t.http.post('/v1/queues/orders/nack').send({ receipts: [nacked.receipt] });
    // The nacked message has had its one delivery: this fetch dead-letters it and leases the next.
    await t.http.post('/v1/queues/orders/fetch').send({ max: 1 });

    await t.http.put('/v1/topics/events').send({ partitions: 2 });
    await produce('/v1/topics/events', 6);
    await t.http.put('/v1/topics/events/groups/ledger').send({ resetPolicy: 'earliest' });
    await t.http.post('/v1/topics/events/groups/ledger/fetch').send({ max: 2 });
    await t.http.post('/v1/topics/events/groups/ledger/commit').send({});

    await t.http.put('/v1/queues/hooks').send({});
    await t.http.put('/v1/push-subscriptions/relay').send({ source: { queue: 'hooks' }, url: `${receiver.url}/in` });
    await produce('/v1/queues/hooks', 1);
    await polled(async () => (await t.http.get('/v1/push-subscriptions/relay')).body.status.delivered === 1);

    // Errors too: a missing queue, a body the spec refuses, a path no route has.
    expect((await t.http.get('/v1/queues/nowhere')).status).toBe(404);
    expect((await t.http.put('/v1/queues/orders').send({ maxDeliveries: 'many' })).status).toBe(422);
    expect((await t.http.get('/nowhere')).status).toBe(404);

    const text = await scrapeText();
    const samples = parse(text);
    for (const state of ['ready', 'in_flight']) expect(valueOf(samples, 'mqgate_queue_messages', { queue: 'orders', state })).toBe(1);
    expect(valueOf(samples, 'mqgate_queue_messages_dead_lettered_total', { queue: 'orders' })).toBe(1);
    expect(total(samples, 'mqgate_group_lag')).toBe(4);
    expect(valueOf(samples, 'mqgate_push_delivered_total', { push: 'relay' })).toBe(1);
    expect(families(text, 'mqgate_').filter((family) => ofFamily(samples, family).length === 0)).toEqual([]);
    // The runtime's counts stay, by type, under gauge names: the receiver's listening socket is one handle and one resource.
    for (const name of ['nodejs_active_handles', 'nodejs_active_resources']) expect(total(samples, name)).toBeGreaterThan(0);

    expect(promtoolCheck(text)).toEqual({ status: 0, printed: '' });
  } finally {
    await receiver.close();
  }
});

test('messages refused by a schema, per queue and topic, by reason: 422 and InvalidMessageContents each failing message, 415 the message that is not JSON', async () => {
  t = testGateway();
  const schema = { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } };
  await t.http.put('/v1/queues/orders').send({});
  expect((await call('putQueueSchema', t.http.put('/v1/queues/orders/schema').send({ schema }))).status).toBe(201);
  await t.http.put('/v1/topics/events').send({ partitions: 1 });
  expect((await call('putTopicSchema', t.http.put('/v1/topics/events/schema').send({ schema }))).status).toBe(201);
  await t.http.put('/v1/queues/files').send({});
  expect((await call('putQueueSchema', t.http.put('/v1/queues/files/schema').send({ schema, allowRawBodies: true }))).status).toBe(201);
  const batch = (path: string, values: unknown[]) => call('produceMessages', t.http.post(`${path}/messages`).send({ messages: values.map((value) => ({ value })) }));
  const raw = (path: string, body: string, type: string) => t.http.post(`${path}/messages`).set('Content-Type', type).send(body);

  // Two of three break the schema: both count, the good one is neither stored nor counted.
  expect((await batch('/v1/queues/orders', [{ id: 1 }, { id: 'x' }, {}])).body.code).toBe('schema_validation_failed');
  expect((await raw('/v1/queues/orders', '{"id":"x"}', 'application/vnd.order+json')).body.code).toBe('schema_validation_failed');
  const sqs = await t.http
    .post('/')
    .set('Content-Type', 'application/x-amz-json-1.0')
    .set('X-Amz-Target', 'AmazonSQS.SendMessage')
    .send(JSON.stringify({ QueueUrl: '/000000000000/orders', MessageBody: '{"id":"x"}' }));
  expect(JSON.parse(sqs.text).__type).toBe('com.amazonaws.sqs#InvalidMessageContents');
  expect((await raw('/v1/queues/orders', '<order/>', 'text/xml')).body.code).toBe('unsupported_media_type');
  expect((await batch('/v1/topics/events', [{ id: 1 }, { id: 2.5 }])).body.code).toBe('schema_validation_failed');
  // Not counted: messages that pass, a raw body the schema allows, a version that does not exist.
  expect((await batch('/v1/queues/orders', [{ id: 1 }, { id: 2 }])).status).toBe(201);
  expect((await raw('/v1/queues/files', '<file/>', 'text/xml')).status).toBe(201);
  const pinned = await t.http.post('/v1/queues/orders/messages').set('Mqgate-Schema-Version', '7').send({ messages: [{ value: {} }] });
  expect(pinned.body.code).toBe('schema_version_unknown');

  const samples = await scrape();
  const failures = (kind: string, name: string, reason: string) => valueOf(samples, 'mqgate_schema_validation_failures_total', { kind, name, reason });
  expect(failures('queue', 'orders', 'schema_validation_failed')).toBe(4);
  expect(failures('queue', 'orders', 'unsupported_media_type')).toBe(1);
  expect(failures('topic', 'events', 'schema_validation_failed')).toBe(1);
  expect(samples.filter((s) => s.name === 'mqgate_schema_validation_failures_total')).toHaveLength(3);
  expect(valueOf(samples, 'mqgate_messages_produced_total', { kind: 'queue', name: 'orders' })).toBe(2);
});

test('a deleted queue leaves the depth gauges; totals from the store survive a restart', async () => {
  t = testGateway();
  await t.http.put('/v1/queues/gone').send({});
  await t.http.put('/v1/queues/kept').send({});
  await produce('/v1/queues/kept', 2);
  await t.http.delete('/v1/queues/gone');
  const samples = await scrape();
  expect(valueOf(samples, 'mqgate_queue_messages', { queue: 'gone', state: 'ready' })).toBeUndefined();
  expect(valueOf(samples, 'mqgate_queue_messages', { queue: 'kept', state: 'ready' })).toBe(2);

  const { dataDir } = t;
  await t.close();
  t = testGateway({ dataDir });
  const after = await scrape();
  expect(valueOf(after, 'mqgate_queue_messages', { queue: 'kept', state: 'ready' })).toBe(2);
  // Counted as they happen: a new process starts from zero, as Prometheus counters do.
  expect(valueOf(after, 'mqgate_messages_produced_total', { kind: 'queue', name: 'kept' })).toBeUndefined();
});

test('push attempts and failures per push subscription', async () => {
  t = testGateway();
  const receiver: Receiver = await startReceiver(() => t.clock.now(), (_request, index) => ({ status: index === 0 ? 503 : 204 }));
  try {
    await t.http.put('/v1/queues/hooks').send({});
    await t.http.put('/v1/push-subscriptions/relay').send({ source: { queue: 'hooks' }, url: `${receiver.url}/in`, backoff: { initialMs: 10, maxMs: 10, jitter: 0 } });
    await produce('/v1/queues/hooks', 1);
    const status = async () => (await t.http.get('/v1/push-subscriptions/relay')).body.status as { attempts: number; delivered: number };
    // The failure is on record before the retry's wait is set on the test clock (the runner first renews
    // the message's lease, a write of its own): the clock is moved on until the retry has gone out.
    await polled(async () => (await status()).attempts === 1);
    await polled(async () => {
      t.clock.advance(10);
      return (await status()).delivered === 1;
    });
    const samples = await scrape();
    expect(valueOf(samples, 'mqgate_push_attempts_total', { push: 'relay' })).toBe(2);
    expect(valueOf(samples, 'mqgate_push_failures_total', { push: 'relay' })).toBe(1);
    expect(valueOf(samples, 'mqgate_push_delivered_total', { push: 'relay' })).toBe(1);
    expect(valueOf(samples, 'mqgate_push_backlog', { push: 'relay' })).toBe(0);
  } finally {
    await receiver.close();
  }
});

test(`label values of counted events stay bounded: past ${MAX_NAMES} names, the rest are summed under _other`, async () => {
  t = testGateway();
  for (let i = 0; i <= MAX_NAMES + 1; i++) t.metrics.produced({ kind: 'queue', name: `q${i}` }, 1);
  t.metrics.produced({ kind: 'queue', name: 'q0' }, 1);
  // Schema refusals share the bound: a name already shown keeps its label, a new one is _other.
  t.metrics.schemaRefused({ kind: 'queue', name: 'q0' }, 'schema_validation_failed', 3);
  t.metrics.schemaRefused({ kind: 'queue', name: 'new' }, 'schema_validation_failed', 1);
  const all = await scrape();
  const samples = all.filter((s) => s.name === 'mqgate_messages_produced_total');
  expect(samples).toHaveLength(MAX_NAMES + 1);
  expect(valueOf(samples, 'mqgate_messages_produced_total', { name: 'q0' })).toBe(2);
  expect(valueOf(samples, 'mqgate_messages_produced_total', { name: '_other' })).toBe(2);
  const refused = all.filter((s) => s.name === 'mqgate_schema_validation_failures_total').map((s) => [s.labels.name, s.value]);
  expect(refused).toEqual([
    ['q0', 3],
    ['_other', 1],
  ]);
});

test(`the store's figures are read for the first ${MAX_NAMES} queues, topics and groups by name, whatever their number`, async () => {
  t = testGateway();
  const names = Array.from({ length: MAX_NAMES + 2 }, (_, i) => `q${String(i).padStart(4, '0')}`);
  for (const name of names) await t.store.putQueue({ name, settings: settings(), now: 0 });
  await call('produceMessages', t.http.post(`/v1/queues/${names[MAX_NAMES - 1]}/messages`).send({ messages: [{ value: 1 }] }));
  await call('produceMessages', t.http.post(`/v1/queues/${names[MAX_NAMES]}/messages`).send({ messages: [{ value: 1 }] }));
  await call('putTopic', t.http.put('/v1/topics/t').send({ partitions: 1 }));
  for (let i = 0; i <= MAX_NAMES; i++) await t.store.putGroup({ topic: 't', group: `g${String(i).padStart(4, '0')}`, settings: { resetPolicy: 'earliest', sessionTimeoutMs: 1000 }, now: 0 });
  const samples = await scrape();
  const ready = samples.filter((s) => s.name === 'mqgate_queue_messages' && s.labels.state === 'ready');
  expect(ready.map((s) => s.labels.queue)).toEqual(names.slice(0, MAX_NAMES));
  expect(valueOf(samples, 'mqgate_queue_messages', { queue: names[MAX_NAMES - 1], state: 'ready' })).toBe(1);
  expect(samples.filter((s) => s.name === 'mqgate_group_lag')).toHaveLength(MAX_NAMES);
});

test('/metrics with keys needs the metrics scope: no key 401, a queue-scoped key 403, a metrics key 200 (the full matrix: auth.test.ts)', async () => {
  const queueKey = generateKey();
  const scraperKey = generateKey();
  t = testGateway({
    keys: [
      { id: queueKey.id, name: 'ops', hash: queueKey.hash, scopes: [parseScope('consume:queues/x')], limits: {} },
      { id: scraperKey.id, name: 'scraper', hash: scraperKey.hash, scopes: [parseScope('metrics')], limits: {} },
    ],
  });
  const refused = await call('getMetrics', t.http.get('/metrics'));
  expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'unauthorized' });
  const lacking = await call('getMetrics', t.http.get('/metrics').set('Authorization', `Bearer ${queueKey.key}`));
  expect({ status: lacking.status, code: lacking.body.code }).toEqual({ status: 403, code: 'forbidden' });
  expect((await call('getMetrics', t.http.get('/metrics').set('Authorization', `Bearer ${scraperKey.key}`))).status).toBe(200);
});

test('activity: messages produced and delivered per interval, oldest first, on the test clock', async () => {
  t = testGateway();
  await t.http.put('/v1/queues/orders').send({});
  expect((await call('getActivity', t.http.get('/v1/activity'))).body).toEqual({ intervalMs: 5000, samples: [] });
  await produce('/v1/queues/orders', 5);
  await t.http.post('/v1/queues/orders/fetch').send({ max: 3 });
  t.clock.advance(5000);
  await produce('/v1/queues/orders', 1);
  t.clock.advance(5000);
  const { body } = await call('getActivity', t.http.get('/v1/activity'));
  expect(body.samples).toEqual([
    { at: t.clock.now() - 5000, produced: 5, consumed: 3 },
    { at: t.clock.now(), produced: 1, consumed: 0 },
  ]);
  // 15 minutes are kept, no more.
  for (let i = 0; i < 200; i++) t.clock.advance(5000);
  const kept = (await t.http.get('/v1/activity')).body.samples as unknown[];
  expect(kept).toHaveLength(180);
});
