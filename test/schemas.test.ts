import { createHash } from 'node:crypto';
import { GetQueueUrlCommand, SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { call } from './support/specResponses';
import { sqsGateway, type SqsGateway } from './support/sqsGateway';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';

/** JSON Schemas of queues and topics over HTTP: versions, compatibility, validation on produce. */

let t: TestGateway;

beforeEach(async () => {
  t = testGateway();
  await t.http.put('/v1/queues/orders').send({});
});

afterEach(() => disposeTestGateway(t));

const ORDER_V1 = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: { type: 'integer' },
    note: { type: 'string', maxLength: 20 },
    status: { enum: ['new', 'paid', 'cancelled'] },
    placedAt: { type: 'string', format: 'date-time' },
  },
};
/** ORDER_V1 with a longer `note`: a backward-compatible second version. */
const ORDER_LONGER_NOTE = { ...ORDER_V1, properties: { ...ORDER_V1.properties, note: { type: 'string', maxLength: 40 } } };
/** A note ORDER_LONGER_NOTE allows and ORDER_V1 does not. */
const NOTE_30 = 'x'.repeat(30);
const PIN_1 = { 'Mqgate-Schema-Version': '1' };
const ORDER_JSON = 'application/vnd.order+json';

/** Where a produce goes: the queue `orders` or the topic `events`, and the operation that produces there. */
interface Target {
  path: string;
  operation: 'produceMessages' | 'produceToTopic';
}
const QUEUE: Target = { path: '/v1/queues/orders', operation: 'produceMessages' };
const TOPIC: Target = { path: '/v1/topics/events', operation: 'produceToTopic' };

const putSchema = (body: object, path = QUEUE.path) => t.http.put(`${path}/schema`).send(body);
const produce = (messages: object[], headers: Record<string, string> = {}, target = QUEUE) =>
  call(target.operation, t.http.post(`${target.path}/messages`).set(headers).send({ messages }));
/** One raw body, of content type `type`, posted to `url` (a produce, or a request–reply request). */
const postRaw = (operation: string, url: string, body: string, type: string, headers: Record<string, string> = {}) =>
  call(operation, t.http.post(url).set({ ...headers, 'Content-Type': type }).send(body));
const produceRaw = (body: string, type: string, headers: Record<string, string> = {}, target = QUEUE) =>
  postRaw(target.operation, `${target.path}/messages`, body, type, headers);
const fetchAll = async () =>
  (await call('fetchMessages', t.http.post('/v1/queues/orders/fetch').send({ max: 10 }))).body.messages as Array<{ value: unknown; headers: Record<string, string> }>;
const ready = async (): Promise<number> => (await t.http.get('/v1/queues/orders')).body.stats.ready as number;

interface Reason {
  property: string;
  rule: string;
  version: number;
}

describe('registering and reading versions', () => {
  test('versions count from 1 with a fingerprint; the same schema again is idempotent; GET reads the latest and any version', async () => {
    expect((await call('getQueueSchema', t.http.get('/v1/queues/orders/schema'))).body.code).toBe('schema_not_found');
    const first = await call('putQueueSchema', putSchema({ schema: ORDER_V1 }));
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ version: 1, schema: ORDER_V1, compatibility: 'backward', allowRawBodies: false, versions: 1 });
    // SHA-256 of the canonical JSON, as the README defines it: keys sorted at every depth, arrays in their order, no whitespace.
    const canonical =
      '{"additionalProperties":false,"properties":{"id":{"type":"integer"},"note":{"maxLength":20,"type":"string"},' +
      '"placedAt":{"format":"date-time","type":"string"},"status":{"enum":["new","paid","cancelled"]}},"required":["id"],"type":"object"}';
    expect(first.body.fingerprint).toBe(createHash('sha256').update(canonical).digest('hex'));
    // The same schema, keys in another order at every depth: the same fingerprint, no new version.
    const { status, id } = ORDER_V1.properties;
    const reordered = {
      properties: { status, placedAt: { format: 'date-time', type: 'string' }, note: { maxLength: 20, type: 'string' }, id },
      required: ['id'],
      additionalProperties: false,
      type: 'object',
    };
    const again = await call('putQueueSchema', putSchema({ schema: reordered }));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ version: 1, fingerprint: first.body.fingerprint, versions: 1 });
    const v2 = { ...ORDER_V1, properties: { ...ORDER_V1.properties, total: { type: 'number' } } };
    const second = await call('putQueueSchema', putSchema({ schema: v2 }));
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ version: 2, versions: 2 });
    expect((await call('getQueueSchema', t.http.get('/v1/queues/orders/schema'))).body).toEqual(second.body);
    const one = await call('getQueueSchemaVersion', t.http.get('/v1/queues/orders/schema/versions/1'));
    expect(one.body).toEqual({ version: 1, schema: ORDER_V1, fingerprint: first.body.fingerprint, createdAt: first.body.createdAt });
    expect((await call('getQueueSchemaVersion', t.http.get('/v1/queues/orders/schema/versions/3'))).body.code).toBe('schema_not_found');
    expect((await call('getQueueSchema', t.http.get('/v1/queues/missing/schema'))).body.code).toBe('queue_not_found');
    expect((await call('putTopicSchema', putSchema({ schema: ORDER_V1 }, '/v1/topics/missing'))).body.code).toBe('topic_not_found');
  });

  test('draft-07 and draft 2020-12 both compile; a schema ajv cannot compile is 422 schema_invalid', async () => {
    await t.http.put('/v1/topics/events').send({});
    const draft07 = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'array', items: [{ type: 'string' }], additionalItems: false };
    expect((await call('putTopicSchema', putSchema({ schema: draft07 }, '/v1/topics/events'))).status).toBe(201);
    expect((await call('produceToTopic', t.http.post('/v1/topics/events/messages').send({ messages: [{ value: ['a', 'b'] }] }))).body.code).toBe(
      'schema_validation_failed',
    );
    // The queue's version 1 is its own, not the topic's: each is validated with its own compiled validator.
    const draft2020 = { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'integer' }], items: false };
    expect((await call('putQueueSchema', putSchema({ schema: draft2020, compatibility: 'none' }))).status).toBe(201);
    expect((await produce([{ value: [1, 2] }])).body.code).toBe('schema_validation_failed');
    expect((await produce([{ value: [1] }])).status).toBe(201);
    const invalid = await call('putQueueSchema', putSchema({ schema: { type: 'no-such-type' } }));
    expect(invalid.status).toBe(422);
    expect(invalid.body.code).toBe('schema_invalid');
    // Nesting past 64 levels is refused before anything recurses through it.
    let deep: object = { type: 'string' };
    for (let i = 0; i < 100; i += 1) deep = { items: deep };
    expect((await call('putQueueSchema', putSchema({ schema: deep }))).body.code).toBe('schema_invalid');
  });
});

describe('compatibility', () => {
  const refused = async (schema: object, compatibility?: string): Promise<Reason[]> => {
    const res = await call('putQueueSchema', putSchema(compatibility === undefined ? { schema } : { schema, compatibility }));
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('schema_incompatible');
    return (res.body.errors as Reason[]).map(({ property, rule, version }) => ({ property, rule, version }));
  };

  beforeEach(async () => {
    await putSchema({ schema: ORDER_V1 });
  });

  test('an incompatible change is refused with the property and the rule, for each family of rules; nothing is registered', async () => {
    const properties = ORDER_V1.properties;
    expect(await refused({ ...ORDER_V1, required: ['id', 'note'] })).toEqual([{ property: '/note', rule: 'required_added', version: 1 }]);
    expect(await refused({ ...ORDER_V1, properties: { ...properties, id: { type: 'string' } } })).toEqual([{ property: '/id', rule: 'type_narrowed', version: 1 }]);
    expect(await refused({ ...ORDER_V1, properties: { ...properties, status: { enum: ['new'] } } })).toEqual([
      { property: '/status', rule: 'enum_narrowed', version: 1 },
    ]);
    expect(await refused({ ...ORDER_V1, properties: { ...properties, note: { type: 'string', maxLength: 10 } } })).toEqual([
      { property: '/note', rule: 'bound_tightened', version: 1 },
    ]);
    const { note: _note, ...withoutNote } = properties;
    expect(await refused({ ...ORDER_V1, properties: withoutNote })).toEqual([{ property: '/note', rule: 'property_removed_from_closed_model', version: 1 }]);
    // Forward: the old version must read what the new one writes.
    expect(await refused({ ...ORDER_V1, properties: { ...properties, id: { type: 'number' } } }, 'forward')).toEqual([
      { property: '/id', rule: 'type_narrowed', version: 1 },
    ]);
    expect((await t.http.get('/v1/queues/orders/schema')).body).toMatchObject({ version: 1, versions: 1, compatibility: 'backward' });
  });

  test('a change the checker cannot judge is refused as cannot_judge, and accepted under none', async () => {
    const oneOf = { ...ORDER_V1, oneOf: [{ required: ['note'] }, { required: ['status'] }] };
    expect(await refused(oneOf)).toEqual([{ property: '', rule: 'cannot_judge', version: 1 }]);
    expect((await call('putQueueSchema', putSchema({ schema: oneOf, compatibility: 'none' }))).status).toBe(201);
  });

  test('the mode and allowRawBodies are kept with the schema and apply to later registrations until changed; the same schema changes only them', async () => {
    const { note: _note, ...withoutNote } = ORDER_V1.properties;
    // Forward accepts removing a property from a closed model, which backward refuses.
    const v2 = await call('putQueueSchema', putSchema({ schema: { ...ORDER_V1, properties: withoutNote }, compatibility: 'forward', allowRawBodies: true }));
    expect(v2.status).toBe(201);
    expect(v2.body).toMatchObject({ version: 2, compatibility: 'forward', allowRawBodies: true });
    // Neither named: both kept, and forward judges the next version too.
    const { status: _status, ...withoutStatus } = withoutNote;
    const v3 = await call('putQueueSchema', putSchema({ schema: { ...ORDER_V1, properties: withoutStatus } }));
    expect(v3.status).toBe(201);
    expect(v3.body).toMatchObject({ version: 3, compatibility: 'forward', allowRawBodies: true });
    const settingsOnly = await call('putQueueSchema', putSchema({ schema: { ...ORDER_V1, properties: withoutStatus }, compatibility: 'backward' }));
    expect(settingsOnly.status).toBe(200);
    expect(settingsOnly.body).toMatchObject({ version: 3, versions: 3, compatibility: 'backward', allowRawBodies: true });
    expect((await t.http.get('/v1/queues/orders/schema')).body).toMatchObject({ version: 3, compatibility: 'backward', allowRawBodies: true });
  });

  test('transitive modes check every earlier version; the plain ones only the latest', async () => {
    // v2 (registered forward) shortens `note`; v3 adds a property to v2, and reads v2's messages but not all of v1's.
    const shorter = { ...ORDER_V1.properties, note: { type: 'string', maxLength: 10 } };
    expect((await putSchema({ schema: { ...ORDER_V1, properties: shorter }, compatibility: 'forward' })).status).toBe(201);
    const v3 = { ...ORDER_V1, properties: { ...shorter, extra: { type: 'string' } } };
    expect(await refused(v3, 'backward_transitive')).toEqual([{ property: '/note', rule: 'bound_tightened', version: 1 }]);
    expect((await putSchema({ schema: v3, compatibility: 'backward' })).status).toBe(201);
  });
});

describe('validation on produce', () => {
  beforeEach(async () => {
    await putSchema({ schema: ORDER_V1 });
  });

  test("a batch with failing messages is refused whole with each one's index, instance path and message; nothing is stored", async () => {
    const res = await produce([
      { value: { id: 1, placedAt: '2024-05-01T10:00:00Z' } },
      { value: { id: 'two' } },
      { value: { id: 3 } },
      { value: { id: 4, note: 'x'.repeat(21) } },
      { value: { id: 5, placedAt: 'yesterday' } },
    ]);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('schema_validation_failed');
    expect(res.body.errors).toEqual([
      { pointer: '/body/messages/1/value/id', index: 1, instancePath: '/id', detail: 'must be integer' },
      { pointer: '/body/messages/3/value/note', index: 3, instancePath: '/note', detail: 'must NOT have more than 20 characters' },
      { pointer: '/body/messages/4/value/placedAt', index: 4, instancePath: '/placedAt', detail: 'must match format "date-time"' },
    ]);
    expect(await ready()).toBe(0);
  });

  test('stored messages carry the version they were validated against, on fetch and on a topic read', async () => {
    expect((await produce([{ value: { id: 1 } }])).status).toBe(201);
    const [message] = await fetchAll();
    expect(message.headers).toEqual({ 'mqgate-schema-version': '1' });
    await t.http.put('/v1/topics/events').send({});
    await putSchema({ schema: ORDER_V1 }, '/v1/topics/events');
    await call('produceToTopic', t.http.post('/v1/topics/events/messages').send({ messages: [{ value: { id: 7 }, headers: { a: 'b' } }] }));
    const read = await call('readPartition', t.http.get('/v1/topics/events/partitions/0/messages?offset=0'));
    expect(read.body.messages[0].headers).toEqual({ a: 'b', 'mqgate-schema-version': '1' });
    // The header is the gateway's: a client cannot set it.
    expect((await produce([{ value: { id: 1 }, headers: { 'mqgate-schema-version': '9' } }])).body.code).toBe('validation_failed');
  });

  test('a queue or topic deleted and created again has no schema: what the old one refused is stored, and its versions are gone', async () => {
    await t.http.put('/v1/topics/events').send({});
    await putSchema({ schema: ORDER_V1 }, TOPIC.path);
    for (const target of [QUEUE, TOPIC]) {
      expect((await produce([{ value: { id: 'one' } }], {}, target)).body.code).toBe('schema_validation_failed');
      expect((await t.http.delete(target.path)).status).toBe(204);
      expect((await t.http.put(target.path).send({})).status).toBe(201);
      expect((await produce([{ value: { id: 'one' } }], {}, target)).status).toBe(201);
      expect((await t.http.get(`${target.path}/schema`)).body.code).toBe('schema_not_found');
    }
  });

  test('Mqgate-Schema-Version pins the version a message is validated against; an unknown one is refused', async () => {
    await putSchema({ schema: ORDER_LONGER_NOTE });
    expect((await produce([{ value: { id: 1, note: NOTE_30 } }], PIN_1)).body.code).toBe('schema_validation_failed');
    expect((await produce([{ value: { id: 2, note: NOTE_30 } }])).status).toBe(201);
    expect((await produce([{ value: { id: 3 } }], PIN_1)).status).toBe(201);
    expect((await fetchAll()).map((m) => m.headers['mqgate-schema-version'])).toEqual(['2', '1']);
    const unknown = await produce([{ value: { id: 4 } }], { 'Mqgate-Schema-Version': '3' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('schema_version_unknown');
  });

  test('the pin holds on every produce path, queue and topic, batch and raw body; a resource without a schema has no version to pin', async () => {
    await t.http.put('/v1/topics/events').send({});
    expect((await produce([{ value: { id: 1 } }], PIN_1, TOPIC)).body.code).toBe('schema_version_unknown');
    for (const target of [QUEUE, TOPIC]) {
      await putSchema({ schema: ORDER_V1 }, target.path);
      await putSchema({ schema: ORDER_LONGER_NOTE }, target.path);
      expect((await produce([{ value: { id: 2, note: NOTE_30 } }], PIN_1, target)).body.code).toBe('schema_validation_failed');
      expect((await produceRaw(JSON.stringify({ id: 3, note: NOTE_30 }), ORDER_JSON, PIN_1, target)).body.code).toBe('schema_validation_failed');
      expect((await produceRaw(JSON.stringify({ id: 4, note: NOTE_30 }), ORDER_JSON, {}, target)).status).toBe(201);
    }
  });

  test('a request–reply request is validated as a raw body is; a refused one is not queued', async () => {
    const request = (body: string, type: string) => postRaw('sendRequest', '/v1/queues/orders/requests?timeoutMs=1000', body, type);
    expect((await request('{"id":"x"}', ORDER_JSON)).body.code).toBe('schema_validation_failed');
    expect((await request('<order/>', 'text/xml')).body.code).toBe('unsupported_media_type');
    expect(await ready()).toBe(0);
  });

  test('a body that is not JSON is 415 unless the schema allows raw bodies; raw JSON bodies are validated', async () => {
    const raw = (body: string, type: string) => produceRaw(body, type);
    const xml = await raw('<order/>', 'text/xml');
    expect(xml.status).toBe(415);
    expect(xml.body.code).toBe('unsupported_media_type');
    expect((await produce([{ value: 'plain', valueEncoding: 'text' }])).status).toBe(415);
    expect((await raw('{"id":"x"}', 'application/vnd.order+json')).body.code).toBe('schema_validation_failed');
    expect((await raw('{"id":5}', 'application/vnd.order+json')).status).toBe(201);
    await putSchema({ schema: ORDER_V1, allowRawBodies: true });
    expect((await raw('<order/>', 'text/xml')).status).toBe(201);
    const messages = await fetchAll();
    expect(messages.map((m) => m.headers)).toEqual([{ 'mqgate-schema-version': '1' }, {}]);
  });
});

describe('checking values without producing them', () => {
  const check = (body: object, path = '/v1/queues/orders') =>
    call(path.startsWith('/v1/topics') ? 'checkTopicSchema' : 'checkQueueSchema', t.http.post(`${path}/schema/check`).send(body));

  test('values are judged as a produce judges them, against the latest version or the one named, and nothing is stored', async () => {
    expect((await check({ values: [{ id: 1 }] })).body.code).toBe('schema_not_found');
    const first = await putSchema({ schema: ORDER_V1 });
    const v2 = { ...ORDER_V1, properties: { ...ORDER_V1.properties, note: { type: 'string', maxLength: 40 } } };
    const second = await putSchema({ schema: v2 });
    const note = 'x'.repeat(30);

    const passed = await check({ values: [{ id: 1, note }, { id: 2 }] });
    expect(passed.status).toBe(200);
    expect(passed.body).toEqual({ version: 2, fingerprint: second.body.fingerprint });
    const failed = await check({ values: [{ id: 1 }, { id: 'two' }, { id: 3, note }], version: 1 });
    expect(failed.status).toBe(422);
    expect(failed.body.code).toBe('schema_validation_failed');
    expect(failed.body.errors).toEqual([
      { pointer: '/body/values/1/id', index: 1, instancePath: '/id', detail: 'must be integer' },
      { pointer: '/body/values/2/note', index: 2, instancePath: '/note', detail: 'must NOT have more than 20 characters' },
    ]);
    // The same words as a produce's refusal, less what a dry run never does.
    expect(failed.body.detail).toBe(
      "2 message(s) break version 1 of the schema of queue 'orders'. Message 1 at /id: must be integer. Message 2 at /note: must NOT have more than 20 characters.",
    );
    expect((await check({ values: [{ id: 3, note }], version: 1 })).status).toBe(422);
    expect((await check({ values: [{ id: 3 }], version: 1 })).body).toEqual({ version: 1, fingerprint: first.body.fingerprint });
    expect((await check({ values: [{ id: 3 }], version: 3 })).body.code).toBe('schema_version_unknown');
    expect(await ready()).toBe(0);
  });

  test('a topic is checked alike; a missing resource or an empty list is refused', async () => {
    await t.http.put('/v1/topics/events').send({});
    await putSchema({ schema: ORDER_V1 }, '/v1/topics/events');
    expect((await check({ values: [{ id: 7 }] }, '/v1/topics/events')).body).toMatchObject({ version: 1 });
    expect((await check({ values: [null] }, '/v1/topics/events')).body.errors).toEqual([
      { pointer: '/body/values/0', index: 0, instancePath: '', detail: 'must be object' },
    ]);
    expect((await check({ values: [{ id: 7 }] }, '/v1/topics/missing')).body.code).toBe('topic_not_found');
    expect((await check({ values: [{ id: 7 }] }, '/v1/queues/missing')).body.code).toBe('queue_not_found');
    expect((await check({ values: [] }, '/v1/topics/events')).body.code).toBe('validation_failed');
  });
});

describe('the SQS face', () => {
  let g: SqsGateway;
  let sqs: SQSClient;
  let url: string;

  beforeEach(async () => {
    g = await sqsGateway();
    sqs = g.client();
    await g.t.http.put('/v1/queues/orders').send({});
    await g.t.http.put('/v1/queues/orders/schema').send({ schema: ORDER_V1 });
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: 'orders' }))).QueueUrl as string;
  });

  afterEach(() => g.close());

  test('SendMessage and SendMessageBatch are refused with InvalidMessageContents naming the failure; nothing is stored', async () => {
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"id":"x"}' }))).rejects.toMatchObject({
      name: 'InvalidMessageContents',
      message: expect.stringContaining('Message 0 at /id: must be integer'),
    });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'not json' }))).rejects.toMatchObject({ name: 'InvalidMessageContents' });
    await expect(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: '{"id":1}' }, { Id: 'b', MessageBody: '{"note":"n"}' }] })),
    ).rejects.toMatchObject({ name: 'InvalidMessageContents' });
    expect((await g.t.http.get('/v1/queues/orders')).body.stats.ready).toBe(0);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"id":1}' }));
    const fetched = await g.t.http.post('/v1/queues/orders/fetch').send({ max: 10 });
    expect(fetched.body.messages[0].headers['mqgate-schema-version']).toBe('1');
  });
});
