import type { Response, Test } from 'supertest';
import YAML from 'yaml';
import { PROBLEMS } from '../api/problem';
import { loadSpec } from '../api/spec';
import type { ErrorCode } from '../queue/errors';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';

const LIMITS = { maxMessageBytes: 1000, maxBatchMessages: 5, maxBatchBytes: 20_000, maxWaitMs: 3000, maxReplyWaitMs: 4000 };
const problemCodes = (loadSpec().document.components.schemas.ProblemCode as { enum: string[] }).enum;

let t: TestGateway;

beforeEach(async () => {
  t = testGateway({ limits: LIMITS });
  await t.http.put('/v1/queues/q').send({});
});

afterEach(() => disposeTestGateway(t));

/** Every error is problem+json with the documented fields, a listed code and its title, and no internal error behind it. */
async function expectProblem(pending: Test, status: number, code: ErrorCode): Promise<Response> {
  const res = await pending;
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: `urn:mqgate:problem:${code}`, status, title: PROBLEMS[code].title });
  expect(typeof res.body.detail).toBe('string');
  expect(problemCodes).toContain(code);
  expect(t.internalErrors).toEqual([]);
  return res;
}

async function expectNothingStored(): Promise<void> {
  const res = await t.http.get('/v1/queues/q');
  expect(res.body.stats.produced).toBe(0);
}

const produce = (body: unknown) => t.http.post('/v1/queues/q/messages').send(body as object);

test('unknown queue → 404 queue_not_found', async () => {
  await expectProblem(t.http.get('/v1/queues/nope'), 404, 'queue_not_found');
  await expectProblem(t.http.post('/v1/queues/nope/messages').send({ messages: [{ value: 1 }] }), 404, 'queue_not_found');
  await expectProblem(t.http.post('/v1/queues/nope/fetch').send({}), 404, 'queue_not_found');
  await expectProblem(t.http.post('/v1/queues/nope/ack').send({ receipts: ['x'] }), 404, 'queue_not_found');
  await expectProblem(t.http.delete('/v1/queues/nope'), 404, 'queue_not_found');
});

test('invalid names → 400 invalid_name', async () => {
  for (const name of ['-leading-dash', 'has%20space', 'a'.repeat(250), '%C3%A9t%C3%A9', 'semi%3Bcolon']) {
    const res = await expectProblem(t.http.put(`/v1/queues/${name}`).send({}), 400, 'invalid_name');
    expect(res.body.errors[0].pointer).toBe('/path/queue');
  }
});

test('a path that is not valid percent-encoding → 400 invalid_name', async () => {
  await expectProblem(t.http.put('/v1/queues/%E0%A4%A'), 400, 'invalid_name');
  await expectProblem(t.http.get('/v1/queues/%'), 400, 'invalid_name');
});

test('a body that cannot be decompressed → 400 bad_request', async () => {
  await expectProblem(
    t.http.post('/v1/queues/q/messages').set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send('not gzip'),
    400,
    'bad_request',
  );
  await expectNothingStored();
});

test('malformed JSON → 400 malformed_json', async () => {
  await expectProblem(
    t.http.post('/v1/queues/q/messages').set('Content-Type', 'application/json').send('{"messages": [{"value": 1}'),
    400,
    'malformed_json',
  );
  await expectNothingStored();
});

test('JSON of the wrong type (null, a list, a number) → 422 validation_failed naming the body, not malformed_json', async () => {
  for (const body of ['null', '[]', '7', '"messages"']) {
    const res = await expectProblem(
      t.http.post('/v1/queues/q/messages').set('Content-Type', 'application/json').send(body),
      422,
      'validation_failed',
    );
    expect({ body, errors: res.body.errors }).toEqual({ body, errors: [{ pointer: '/body', detail: 'must be object' }] });
  }
  await expectProblem(t.http.put('/v1/queues/q').set('Content-Type', 'application/json').send('null'), 422, 'validation_failed');
  await expectNothingStored();
});

describe('text in headers and the query', () => {
  const rawProduce = (path: string) => t.http.post(path).set('Content-Type', 'text/plain');

  test('UTF-8 in the headers and the query that become message data is kept as the client wrote it (bytes that are not UTF-8: http-edges.test.ts)', async () => {
    // node's client writes header text as UTF-8 bytes.
    await t.http.put('/v1/topics/t').send({});
    const stored = await rawProduce('/v1/topics/t/messages?key=caf%C3%A9')
      .set('Mqgate-Header-City', 'Zürich')
      .set('SOAPAction', '"urn:Bestellung-Größe"')
      .send('x');
    expect(stored.status).toBe(201);
    const read = await t.http.get('/v1/topics/t/partitions/0/messages?offset=earliest');
    expect(read.body.messages[0]).toMatchObject({ key: 'café', headers: { city: 'Zürich', SOAPAction: '"urn:Bestellung-Größe"' } });
  });
});

test('wrong field types → 422 validation_failed with a pointer to each', async () => {
  const res = await expectProblem(t.http.put('/v1/queues/q').send({ visibilityTimeoutMs: '10', delayMs: -1 }), 422, 'validation_failed');
  expect(res.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/body/delayMs', '/body/visibilityTimeoutMs']);
  await expectProblem(t.http.post('/v1/queues/q/fetch').send({ max: 'ten' }), 422, 'validation_failed');
  await expectProblem(produce({ messages: [{ value: 1, headers: { a: 2 } }] }), 422, 'validation_failed');
  await expectProblem(produce({ messages: 'not an array' }), 422, 'validation_failed');
});

test('unknown fields → 422 validation_failed naming the field', async () => {
  const res = await expectProblem(t.http.put('/v1/queues/q').send({ visibilityTimeout: 1000 }), 422, 'validation_failed');
  expect(res.body.errors).toEqual([{ pointer: '/body/visibilityTimeout', detail: 'is not a known field' }]);
  await expectProblem(produce({ messages: [{ value: 1, partitionKey: 'x' }] }), 422, 'validation_failed');
  await expectNothingStored();
});

test('an empty batch → 422 validation_failed', async () => {
  await expectProblem(produce({ messages: [] }), 422, 'validation_failed');
  await expectProblem(produce({}), 422, 'validation_failed');
});

test('one bad message rejects the whole batch and stores nothing', async () => {
  const res = await expectProblem(
    produce({ messages: [{ value: 'fine' }, { value: 'not base64!', valueEncoding: 'base64' }] }),
    422,
    'validation_failed',
  );
  expect(res.body.errors[0].pointer).toBe('/body/messages/1/value');
  await expectProblem(produce({ messages: [{ value: 'fine' }, { value: 42, valueEncoding: 'text' }] }), 422, 'validation_failed');
  const deep = `{"messages": [{"value": "fine"}, {"value": ${'['.repeat(5000)}${']'.repeat(5000)}}]}`;
  await expectProblem(t.http.post('/v1/queues/q/messages').set('Content-Type', 'application/json').send(deep), 422, 'validation_failed');
  await expectNothingStored();
});

test('a value whose content type says JSON but is not JSON → 422 validation_failed, nothing stored', async () => {
  await expectProblem(
    t.http.post('/v1/queues/q/messages').set('Content-Type', 'application/cloudevents+json').send('{"broken":'),
    422,
    'validation_failed',
  );
  const res = await expectProblem(
    produce({ messages: [{ value: 'not json', valueEncoding: 'text', contentType: 'application/json' }] }),
    422,
    'validation_failed',
  );
  expect(res.body.errors[0].pointer).toBe('/body/messages/0/value');
  await expectNothingStored();
});

test('a message over the size limit → 413 message_too_large, nothing stored', async () => {
  await expectProblem(produce({ messages: [{ value: 'ok' }, { value: 'x'.repeat(1001), valueEncoding: 'text' }] }), 413, 'message_too_large');
  await expectProblem(
    t.http.post('/v1/queues/q/messages').set('Content-Type', 'text/plain').send('y'.repeat(1001)),
    413,
    'message_too_large',
  );
  await expectNothingStored();
});

test('a queue cannot allow messages above the server limit', async () => {
  await expectProblem(t.http.put('/v1/queues/q').send({ maxMessageBytes: 1001 }), 422, 'validation_failed');
});

test('a batch over the count limit → 413 batch_too_large', async () => {
  await expectProblem(produce({ messages: Array.from({ length: 6 }, (_, i) => ({ value: i })) }), 413, 'batch_too_large');
  await expectNothingStored();
});

test('a body over the byte limit → 413 payload_too_large, before parsing', async () => {
  await expectProblem(produce({ messages: [{ value: 'z'.repeat(25_000), valueEncoding: 'text' }] }), 413, 'payload_too_large');
  await expectProblem(
    t.http.post('/v1/queues/q/messages').set('Content-Type', 'application/octet-stream').send(Buffer.alloc(25_000)),
    413,
    'payload_too_large',
  );
  await expectNothingStored();
});

test('receipts that are not ours → per-receipt unknown / receipt_unknown, others still settled', async () => {
  await t.http.put('/v1/queues/other').send({});
  await t.http.post('/v1/queues/other/messages').send({ messages: [{ value: 1 }] });
  await t.http.post('/v1/queues/q/messages').send({ messages: [{ value: 2 }] });
  const theirs = (await t.http.post('/v1/queues/other/fetch').send({})).body.messages[0].receipt as string;
  const ours = (await t.http.post('/v1/queues/q/fetch').send({})).body.messages[0].receipt as string;
  const res = await t.http.post('/v1/queues/q/ack').send({ receipts: [theirs, 'garbage', '%%%', ours] });
  expect(res.status).toBe(200);
  expect(res.body.results).toEqual([
    { receipt: theirs, status: 'unknown', code: 'receipt_unknown' },
    { receipt: 'garbage', status: 'unknown', code: 'receipt_unknown' },
    { receipt: '%%%', status: 'unknown', code: 'receipt_unknown' },
    { receipt: ours, status: 'acked' },
  ]);
  // The other queue's message is untouched: its receipt still works there.
  expect((await t.http.post('/v1/queues/other/ack').send({ receipts: [theirs] })).body.results[0].status).toBe('acked');
});

test('waitMs over the limit → 422 validation_failed', async () => {
  const res = await expectProblem(t.http.post('/v1/queues/q/fetch').send({ waitMs: 3001 }), 422, 'validation_failed');
  expect(res.body.errors[0].pointer).toBe('/body/waitMs');
});

test('every configured bound is the maximum the served openapi.yaml states, and every request over one is refused alike', async () => {
  const served = YAML.parse((await t.http.get('/openapi.yaml')).text) as unknown;
  const marked: Array<{ limit: string; maximum: unknown }> = [];
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (typeof record['x-mqgate-limit'] === 'string') marked.push({ limit: record['x-mqgate-limit'], maximum: record.maximum });
    Object.values(record).forEach(walk);
  };
  walk(served);
  expect(new Set(marked.map((m) => m.limit))).toEqual(new Set(['maxBatchMessages', 'maxWaitMs', 'maxMessageBytes', 'maxReplyWaitMs']));
  for (const { limit, maximum } of marked) expect({ limit, maximum }).toEqual({ limit, maximum: LIMITS[limit as keyof typeof LIMITS] });

  await t.http.put('/v1/topics/t').send({});
  await t.http.put('/v1/topics/t/subscriptions/s').send({});
  await t.http.put('/v1/topics/t/groups/g').send({});
  const over: Array<[Test, string]> = [
    [t.http.post('/v1/queues/q/fetch').send({ max: 6 }), '/body/max'],
    [t.http.post('/v1/topics/t/subscriptions/s/fetch').send({ max: 6 }), '/body/max'],
    [t.http.post('/v1/topics/t/groups/g/fetch').send({ max: 6 }), '/body/max'],
    [t.http.post('/v1/topics/t/groups/g/fetch').send({ waitMs: 3001 }), '/body/waitMs'],
    [t.http.get('/v1/topics/t/partitions/0/messages?max=6'), '/query/max'],
    [t.http.get('/v1/topics/t/partitions/0/messages?waitMs=3001'), '/query/waitMs'],
    [t.http.get('/v1/queues/q/messages?max=6'), '/query/max'],
    [t.http.put('/v1/topics/t').send({ maxMessageBytes: 1001 }), '/body/maxMessageBytes'],
    [t.http.post('/v1/queues/q/requests?timeoutMs=4001').type('text/plain').send('ping'), '/query/timeoutMs'],
    // Numbers too large for a double are Infinity once read: past every bound, not within them.
    [t.http.post('/v1/queues/q/requests?timeoutMs=1e400').type('text/plain').send('ping'), '/query/timeoutMs'],
    [t.http.post('/v1/queues/q/requests?timeoutMs=-1e400').type('text/plain').send('ping'), '/query/timeoutMs'],
    [t.http.get('/v1/topics/t/partitions/0/messages?waitMs=1e400'), '/query/waitMs'],
  ];
  for (const [pending, pointer] of over) {
    const res = await expectProblem(pending, 422, 'validation_failed');
    expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual([pointer]);
  }
  // At the bound, and by default (the spec's default of 100 is lowered to the limit of 5), they work.
  expect((await t.http.post('/v1/queues/q/fetch').send({ max: 5 })).status).toBe(200);
  expect((await t.http.get('/v1/topics/t/partitions/0/messages?max=5&waitMs=0')).status).toBe(200);
  expect((await t.http.get('/v1/queues/q/messages')).status).toBe(200);
});

test('a dead-letter queue that does not exist → 422 dead_letter_queue_not_found', async () => {
  await expectProblem(t.http.put('/v1/queues/p').send({ deadLetterQueue: 'ghost', maxDeliveries: 3 }), 422, 'dead_letter_queue_not_found');
  await expectProblem(t.http.get('/v1/queues/p'), 404, 'queue_not_found');
});

test('inconsistent dead-letter settings → 422 validation_failed', async () => {
  await expectProblem(t.http.put('/v1/queues/q').send({ deadLetterQueue: 'q', maxDeliveries: 3 }), 422, 'validation_failed');
  await expectProblem(t.http.put('/v1/queues/q').send({ maxDeliveries: 3 }), 422, 'validation_failed');
});

test('deleting a queue another queue dead-letters into → 409 queue_in_use', async () => {
  await t.http.put('/v1/queues/dlq').send({});
  await t.http.put('/v1/queues/q').send({ deadLetterQueue: 'dlq', maxDeliveries: 2 });
  await expectProblem(t.http.delete('/v1/queues/dlq'), 409, 'queue_in_use');
});

test('a non-JSON body where only JSON is accepted → 415 unsupported_media_type', async () => {
  await expectProblem(t.http.post('/v1/queues/q/fetch').set('Content-Type', 'text/plain').send('max=1'), 415, 'unsupported_media_type');
  await expectProblem(t.http.post('/v1/queues/q/ack').set('Content-Type', 'application/xml').send('<a/>'), 415, 'unsupported_media_type');
});

test('an invalid Idempotency-Key header → 422 validation_failed', async () => {
  await expectProblem(produce({ messages: [{ value: 1 }] }).set('Idempotency-Key', 'k'.repeat(201)), 422, 'validation_failed');
});

test('unknown routes and methods → 404 route_not_found / 405 method_not_allowed', async () => {
  await expectProblem(t.http.get('/v2/queues'), 404, 'route_not_found');
  const res = await expectProblem(t.http.patch('/v1/queues/q'), 405, 'method_not_allowed');
  expect(res.headers.allow).toBe('GET, PUT, DELETE');
});

test('a missing required body → 422 validation_failed', async () => {
  await expectProblem(t.http.post('/v1/queues/q/ack'), 422, 'validation_failed');
  await expectProblem(t.http.post('/v1/queues/q/extend').send({ receipts: ['r'] }), 422, 'validation_failed');
});
