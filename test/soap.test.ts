import type { Test } from 'supertest';
import { generateKey } from '../api/keys';
import { checkKeys } from '../api/keysFile';
import { expectFault, type Soap, soapPost, VERSIONS } from './support/soapCallers';
import { call } from './support/specResponses';
import { disposeTestGateway, type TestGateway, type TestGatewayOptions, testGateway } from './support/testGateway';

// What SOAP callers are told: a stored message as success (202, or 200 and an
// envelope), every failure as a fault of their SOAP version. The real clients
// (node-soap, zeep) are in soap-clients.test.ts; here, each answer exactly.
// A store that cannot confirm a write is in fsync-order.test.ts: only SQLite's
// store lets a test fail its fsync, and this file runs on both backends.

let t: TestGateway;

async function gateway(options: TestGatewayOptions = {}): Promise<void> {
  await disposeTestGateway(t);
  t = testGateway(options);
}

beforeEach(async () => {
  t = testGateway();
  await t.http.put('/v1/queues/q').send({});
});

afterEach(() => disposeTestGateway(t));

function post(soap: Soap, path: string, body?: string): Test {
  return soapPost(t.http, soap, path, body);
}

describe.each(VERSIONS)('SOAP $version', (soap) => {
  test('a stored message is 202 with no body, and is kept byte for byte with its action', async () => {
    const res = await call('produceMessages', post(soap, '/v1/queues/q/messages'));
    expect(res.status).toBe(202);
    expect(res.text).toBe('');
    const [message] = (await t.http.post('/v1/queues/q/fetch').send({ max: 1 })).body.messages;
    expect(message).toMatchObject({ value: soap.body, contentType: soap.headers['Content-Type'], headers: { SOAPAction: '"urn:ping#Ping"' } });
  });

  test('soapAnswer=envelope: 200 and an mq:accepted envelope naming the message', async () => {
    const res = await call('produceMessages', post(soap, '/v1/queues/q/messages?soapAnswer=envelope'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(soap.faultType);
    const [message] = (await t.http.get('/v1/queues/q/messages')).body.messages;
    expect(res.text).toContain(
      `<mq:accepted><mq:messageId>${message.id}</mq:messageId><mq:queue>q</mq:queue><mq:timestamp>${new Date(t.clock.now()).toISOString()}</mq:timestamp><mq:duplicate>false</mq:duplicate></mq:accepted>`,
    );
  });

  test('to a topic: 202, or an envelope with its partition and offset', async () => {
    await t.http.put('/v1/topics/events').send({ partitions: 2 });
    expect((await call('produceToTopic', post(soap, '/v1/topics/events/messages?partition=1'))).status).toBe(202);
    const res = await call('produceToTopic', post(soap, '/v1/topics/events/messages?partition=1&soapAnswer=envelope'));
    expect(res.text).toMatch(/<mq:topic>events<\/mq:topic><mq:partition>1<\/mq:partition><mq:offset>1<\/mq:offset>/);
  });

  test('asking for JSON gets the JSON API: 201 and problem+json', async () => {
    const stored = await call('produceMessages', post(soap, '/v1/queues/q/messages').set('Accept', 'application/json'));
    expect(stored.status).toBe(201);
    const missing = await call('produceMessages', post(soap, '/v1/queues/ghost/messages').set('Accept', 'application/json'));
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toContain('application/problem+json');
  });

  test('a missing queue is a caller fault carrying queue_not_found; nothing is stored', async () => {
    expectFault(await call('produceMessages', post(soap, '/v1/queues/ghost/messages')), soap, 'queue_not_found', 404);
    expect((await t.http.get('/v1/queues/ghost')).status).toBe(404);
  });

  test('a message over the limit is a fault carrying message_too_large', async () => {
    await gateway({ limits: { maxMessageBytes: 100 } });
    await t.http.put('/v1/queues/q').send({});
    expectFault(await call('produceMessages', post(soap, '/v1/queues/q/messages')), soap, 'message_too_large', 413);
  });

  test('a reserved message header is a fault carrying validation_failed and the field', async () => {
    const res = await call('produceMessages', post(soap, '/v1/queues/q/messages').set('Mqgate-Header-Mqgate-Source', 'x'));
    expectFault(res, soap, 'validation_failed', 422);
    expect(res.text).toContain('<mq:error pointer="/headers/mqgate-header-mqgate-source">');
  });

  test('operations other than produce and request–reply answer problem+json, SOAP request or not', async () => {
    const res = await call('fetchMessages', post(soap, '/v1/queues/q/fetch'));
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  test('no key, a bad key and a key without scope are faults: unauthorized, unauthorized, forbidden', async () => {
    const keys = [generateKey(), generateKey()];
    const records = keys.map(({ id, hash }, i) => checkKeys({ keys: [{ id, name: `k${i}`, hash, scopes: i === 0 ? ['*:*'] : ['consume:queues/q'], limits: {} }] }, `k${i}`)[0]);
    await gateway({ keys: records });
    await t.http.put('/v1/queues/q').set('Authorization', `Bearer ${keys[0].key}`).send({});
    const none = await call('produceMessages', post(soap, '/v1/queues/q/messages'));
    expectFault(none, soap, 'unauthorized', 401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="mqgate"');
    expectFault(await post(soap, '/v1/queues/q/messages').set('Authorization', 'Bearer nope'), soap, 'unauthorized', 401);
    expectFault(await post(soap, '/v1/queues/q/messages').set('Authorization', `Bearer ${keys[1].key}`), soap, 'forbidden', 403);
    expect((await post(soap, '/v1/queues/q/messages').set('Authorization', `Bearer ${keys[0].key}`)).status).toBe(202);
  });

  test('a full queue is a fault carrying quota_exceeded, with Retry-After', async () => {
    await t.http.put('/v1/queues/q').send({ maxStoredMessages: 1 });
    expect((await post(soap, '/v1/queues/q/messages')).status).toBe(202);
    const res = await call('produceMessages', post(soap, '/v1/queues/q/messages'));
    expectFault(res, soap, 'quota_exceeded', 429);
    expect(res.headers['retry-after']).toBe('1');
  });

  test('a request–reply timeout is a gateway fault carrying reply_timeout, and is not an internal error', async () => {
    const answered = post(soap, '/v1/queues/q/requests?timeoutMs=1000').then((res) => res);
    await new Promise<void>((resolve) => {
      const check = (): void => void (t.replies.waiting === 1 ? resolve() : setImmediate(check));
      check();
    });
    t.clock.advance(1000);
    expectFault(await answered, soap, 'reply_timeout', 504, 'gateway');
    expect(t.internalErrors).toEqual([]);
  });
});

test('text/xml without SOAPAction is not SOAP: 201 and JSON', async () => {
  const res = await call('produceMessages', t.http.post('/v1/queues/q/messages').type('text/xml').send('<order/>'));
  expect(res.status).toBe(201);
  const missing = await call('produceMessages', t.http.post('/v1/queues/ghost/messages').type('text/xml').send('<order/>'));
  expect(missing.headers['content-type']).toContain('application/problem+json');
});

test('text in a fault is escaped', async () => {
  const res = await post(VERSIONS[0], '/v1/queues/q/messages').set("Mqgate-Header-Mqgate-a&b'c", 'x');
  expectFault(res, VERSIONS[0], 'validation_failed', 422);
  expect(res.text).toContain(`<mq:error pointer="/headers/mqgate-header-mqgate-a&amp;b'c">`);
});
