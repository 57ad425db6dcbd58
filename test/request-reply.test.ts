import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Response } from 'supertest';
import { type ApiKey, generateKey } from '../api/keys';
import { checkKeys } from '../api/keysFile';
import { REPLY_KEEP_MS } from '../queue/replies';
import { call, until } from './support/specResponses';
import { startReceiver } from './support/receiver';
import { sqsGateway } from './support/sqsGateway';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';
import { sweepAt } from './store-contract/fixtures';

interface Leased {
  id: string;
  receipt: string;
  value: string;
  contentType: string;
  headers: Record<string, string>;
}

const REQUEST = `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:GetQuote xmlns:m="urn:quotes"><m:Item>Grüner Tee — 緑茶</m:Item></m:GetQuote></soap:Body></soap:Envelope>`;
const RESPONSE = `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:Quote xmlns:m="urn:quotes"><m:Price currency="€">4.20</m:Price></m:Quote></soap:Body></soap:Envelope>`;

let t: TestGateway;

beforeEach(async () => {
  t = testGateway({ limits: { maxReplyWaitMs: 10_000 } });
  await t.http.put('/v1/queues/quotes').send({ visibilityTimeoutMs: 60_000 });
});

afterEach(() => disposeTestGateway(t));

/** A caller's request–reply call, started; resolves once the gateway holds it waiting for its reply. */
async function waitingCaller(query = '', accept = 'text/xml'): Promise<{ answer: Promise<Response> }> {
  const before = t.replies.waiting;
  const answered = call(
    'sendRequest',
    t.http
      .post(`/v1/queues/quotes/requests${query}`)
      .set('Content-Type', 'text/xml; charset=UTF-8')
      .set('SOAPAction', '"urn:quotes#GetQuote"')
      .set('Mqgate-Header-Tenant', 'acme')
      .set('Accept', accept)
      .send(REQUEST),
  );
  await until(() => t.replies.waiting === before + 1);
  return { answer: answered };
}

async function fetchOne(): Promise<Leased> {
  const res = await call('fetchMessages', t.http.post('/v1/queues/quotes/fetch').send({ max: 10 }));
  expect(res.body.messages).toHaveLength(1);
  return res.body.messages[0] as Leased;
}

function reply(to: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return call('sendReply', t.http.post(to).set({ 'Content-Type': 'text/xml; charset=UTF-8', ...headers }).send(body));
}

test('the consumer fetches the request and replies; the caller gets the reply byte for byte', async () => {
  const { answer: caller } = await waitingCaller();
  const request = await fetchOne();
  expect(request.value).toBe(REQUEST);
  expect(request.contentType).toBe('text/xml; charset=UTF-8');
  const correlationId = request.headers['mqgate-correlation-id'];
  expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
  expect(request.headers).toEqual({
    SOAPAction: '"urn:quotes#GetQuote"',
    tenant: 'acme',
    'mqgate-correlation-id': correlationId,
    'mqgate-reply-to': `/v1/queues/quotes/replies/${correlationId}`,
  });

  expect((await reply(request.headers['mqgate-reply-to'], RESPONSE, { SOAPAction: '"urn:quotes#Quote"', 'Mqgate-Header-Region': 'Zürich' })).status).toBe(204);
  const res = await caller;
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('text/xml; charset=UTF-8');
  expect(res.text).toBe(RESPONSE);
  expect(res.headers.soapaction).toBe('"urn:quotes#Quote"');
  expect(Buffer.from(res.headers.region as string, 'latin1').toString()).toBe('Zürich');
  expect(res.headers['mqgate-correlation-id']).toBe(correlationId);
  expect(res.headers['mqgate-message-id']).toBe(request.id);
  // Replying does not ack: the request is the consumer's to settle.
  expect((await t.http.get('/v1/queues/quotes')).body.stats).toMatchObject({ inFlight: 1, acked: 0 });
  expect((await t.http.post('/v1/queues/quotes/ack').send({ receipts: [request.receipt] })).body.results[0].status).toBe('acked');
});

test('a reply may set the status: a fault reaches the caller as a 500 with the consumer envelope', async () => {
  const { answer: caller } = await waitingCaller();
  const request = await fetchOne();
  const fault = '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>out of tea</faultstring></soap:Fault></soap:Body></soap:Envelope>';
  await reply(request.headers['mqgate-reply-to'], fault, { 'Mqgate-Status': '500' });
  const res = await caller;
  expect(res.status).toBe(500);
  expect(res.text).toBe(fault);
});

test('reply headers that would describe the body or the connection are not passed on', async () => {
  const { answer: caller } = await waitingCaller();
  const request = await fetchOne();
  const headers = { 'Mqgate-Header-Content-Length': '1', 'Mqgate-Header-Transfer-Encoding': 'chunked', 'Mqgate-Header-Connection': 'close', 'Mqgate-Header-Kept': 'yes' };
  await reply(request.headers['mqgate-reply-to'], RESPONSE, headers);
  const res = await caller;
  expect(res.text).toBe(RESPONSE);
  expect(res.headers['content-length']).toBe(String(Buffer.byteLength(RESPONSE)));
  expect(res.headers['transfer-encoding']).toBeUndefined();
  expect(res.headers.kept).toBe('yes');
});

test('the first of two replies wins: the second is refused, 409 reply_already_given while the first waits for the caller', async () => {
  const { answer: caller } = await waitingCaller();
  const { headers } = await fetchOne();
  const id = headers['mqgate-correlation-id'];
  // In the store, both at once: one is stored, the other refused.
  const answer = (text: string) => ({ status: 200, contentType: 'text/plain', headers: {}, body: Buffer.from(text) });
  const outcomes = await Promise.all(
    ['first', 'second'].map((text) => t.store.putReply({ queue: 'quotes', correlationId: id, reply: answer(text), now: t.clock.now() })),
  );
  // With one writer (SQLite) the first asked is stored; with concurrent transactions (PostgreSQL) either may be. The
  // other is refused as `replied` while the caller has not taken its reply, or `unknown` once it has and the request is done.
  const stored = outcomes.indexOf('stored');
  expect(stored).toBeGreaterThanOrEqual(0);
  expect(['replied', 'unknown']).toContain(outcomes[1 - stored]);
  expect((await caller).text).toBe(['first', 'second'][stored]);
  // Over HTTP, after the caller has its reply (then the request is done: 404), or before (409): refused either way.
  const late = await reply(headers['mqgate-reply-to'], 'third');
  expect(['reply_already_given', 'reply_not_found']).toContain(late.body.code);
});

test('no reply in time: a reply_timeout fault (the caller is SOAP), the request stays queued, a late reply is refused (410, then 404 once swept)', async () => {
  const { answer: caller } = await waitingCaller('?timeoutMs=5000');
  t.clock.advance(4999);
  expect(t.replies.waiting).toBe(1);
  t.clock.advance(1);
  const res = await caller;
  expect(res.status).toBe(500);
  expect(res.headers['content-type']).toBe('text/xml; charset=utf-8');
  expect(res.text).toContain('<faultcode>soap:Server</faultcode>');
  expect(res.text).toContain('<mq:code>reply_timeout</mq:code><mq:status>504</mq:status>');

  const request = await fetchOne();
  expect(request.value).toBe(REQUEST);
  const late = await reply(request.headers['mqgate-reply-to'], RESPONSE);
  expect(late.status).toBe(410);
  expect(late.body.code).toBe('reply_expired');

  t.clock.advance(REPLY_KEEP_MS);
  await t.store.sweep(sweepAt(t.clock.now(), { idempotencyWindowMs: 1, repliesBefore: t.clock.now() - REPLY_KEEP_MS }));
  expect((await reply(request.headers['mqgate-reply-to'], RESPONSE)).body.code).toBe('reply_expired');
  t.clock.advance(1);
  await t.store.sweep(sweepAt(t.clock.now(), { idempotencyWindowMs: 1, repliesBefore: t.clock.now() - REPLY_KEEP_MS }));
  expect((await reply(request.headers['mqgate-reply-to'], RESPONSE)).body.code).toBe('reply_not_found');
});

test('a reply that arrives while the caller is being timed out still reaches it if committed first', async () => {
  const { answer: caller } = await waitingCaller('?timeoutMs=5000');
  const request = await fetchOne();
  t.clock.advance(4999);
  expect((await reply(request.headers['mqgate-reply-to'], 'just in time')).status).toBe(204);
  t.clock.advance(1);
  const res = await caller;
  expect(res.status).toBe(200);
  expect(res.text).toBe('just in time');
});

test('replies to ids no request of that queue awaits are 404 reply_not_found; to a missing queue 404 queue_not_found', async () => {
  await t.http.put('/v1/queues/other').send({});
  const { answer: caller } = await waitingCaller();
  const { headers } = await fetchOne();
  const id = headers['mqgate-correlation-id'];
  expect((await reply('/v1/queues/quotes/replies/00000000-0000-4000-8000-000000000000', 'x')).body.code).toBe('reply_not_found');
  expect((await reply(`/v1/queues/other/replies/${id}`, 'x')).body.code).toBe('reply_not_found');
  expect((await reply(`/v1/queues/ghost/replies/${id}`, 'x')).body.code).toBe('queue_not_found');
  // None of them answered the caller.
  expect(t.replies.waiting).toBe(1);
  await reply(headers['mqgate-reply-to'], 'the answer');
  expect((await caller).text).toBe('the answer');
});

test('requests to a missing queue are 404 and leave nothing waiting; timeoutMs is bounded by maxReplyWaitMs', async () => {
  const missing = await call('sendRequest', t.http.post('/v1/queues/ghost/requests').type('text/plain').send('hi'));
  expect(missing.status).toBe(404);
  expect(missing.body.code).toBe('queue_not_found');
  expect(t.replies.waiting).toBe(0);
  const over = await call('sendRequest', t.http.post('/v1/queues/quotes/requests?timeoutMs=10001').type('text/plain').send('hi'));
  expect(over.status).toBe(422);
  expect(over.body.errors[0].pointer).toBe('/query/timeoutMs');
});

test('a JSON request and reply are kept as bytes, not parsed', async () => {
  const body = '{ "sku" : "tea",  "n": 2 }';
  const answered = call('sendRequest', t.http.post('/v1/queues/quotes/requests').type('application/json').send(body));
  await until(() => t.replies.waiting === 1);
  const request = await fetchOne();
  expect(request.value).toEqual({ sku: 'tea', n: 2 });
  const answer = '{"price":  4.2}';
  await call('sendReply', t.http.post(request.headers['mqgate-reply-to']).type('application/json').send(answer));
  const res = await answered;
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.text).toBe(answer);
});

test('the gateway stopping: a caller asking for JSON gets 503 not_ready, the request stays queued, a reply is refused as expired', async () => {
  const { answer: caller } = await waitingCaller('', 'application/json');
  t.shutDown();
  const res = await caller;
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({ code: 'not_ready' });
  // A stopping gateway leases nothing more: browse shows the request still queued.
  const [request] = (await call('browseQueue', t.http.get('/v1/queues/quotes/messages'))).body.messages as Leased[];
  expect(request.value).toBe(REQUEST);
  expect((await reply(request.headers['mqgate-reply-to'], RESPONSE)).body.code).toBe('reply_expired');
});

test('a request survives a restart of the gateway: its message is still queued with its reply address', async () => {
  const { answer: caller } = await waitingCaller();
  t.shutDown();
  await caller;
  await t.close();
  t = testGateway({ dataDir: t.dataDir });
  const request = await fetchOne();
  expect(request.value).toBe(REQUEST);
  expect(request.headers['mqgate-reply-to']).toMatch(/^\/v1\/queues\/quotes\/replies\//);
  expect((await reply(request.headers['mqgate-reply-to'], RESPONSE)).body.code).toBe('reply_expired');
});

test("a push subscription's receiver replies: the caller gets its answer", async () => {
  const replies: Array<Promise<Response>> = [];
  const receiver = await startReceiver(
    () => t.clock.now(),
    (request) => {
      replies.push(reply(request.headers['mqgate-reply-to'] as string, `a quote for ${request.body.toString()}`));
      return { status: 204 };
    },
  );
  try {
    await call('putPushSubscription', t.http.put('/v1/push-subscriptions/quotes').send({ source: { queue: 'quotes' }, url: `${receiver.url}/quote` }));
    const res = await call('sendRequest', t.http.post('/v1/queues/quotes/requests').type('text/plain').send('tea'));
    expect(res.text).toBe('a quote for tea');
    expect(receiver.received.map((r) => r.headers['mqgate-correlation-id'])).toEqual([res.headers['mqgate-correlation-id']]);
    expect((await Promise.all(replies)).map((r) => r.status)).toEqual([204]);
  } finally {
    await receiver.close();
  }
});

test('an SQS consumer sees the reply address as message attributes and replies over HTTP', async () => {
  await disposeTestGateway(t);
  const gateway = await sqsGateway();
  t = gateway.t;
  await t.http.put('/v1/queues/quotes').send({});
  try {
    const { answer: caller } = await waitingCaller();
    const received = await gateway
      .client()
      .send(new ReceiveMessageCommand({ QueueUrl: `${gateway.url}/sqs/quotes`, MessageAttributeNames: ['All'], MaxNumberOfMessages: 1 }));
    const [message] = received.Messages ?? [];
    const attributes = message.MessageAttributes ?? {};
    const replyTo = attributes['mqgate-reply-to']?.StringValue ?? '';
    expect(replyTo).toBe(`/v1/queues/quotes/replies/${attributes['mqgate-correlation-id']?.StringValue}`);
    expect(message.Body).toBe(REQUEST);
    await reply(replyTo, RESPONSE);
    expect((await caller).text).toBe(RESPONSE);
  } finally {
    await gateway.close();
    t = testGateway();
  }
});

test('requesting takes produce on the queue, replying takes consume', async () => {
  const [caller, worker, admin] = [key('caller', ['produce:queues/quotes']), key('worker', ['consume:queues/quotes']), key('admin', ['*:*'])];
  await disposeTestGateway(t);
  t = testGateway({ keys: [caller.record, worker.record, admin.record] });
  await t.http.put('/v1/queues/quotes').set(caller.as).send({});
  await t.http.put('/v1/queues/quotes').set(admin.as).send({});
  const refused = await call('sendRequest', t.http.post('/v1/queues/quotes/requests').set(worker.as).type('text/plain').send('q'));
  expect(refused.body.code).toBe('forbidden');
  const answered = t.http.post('/v1/queues/quotes/requests').set(caller.as).type('text/plain').send('q').then((res) => res);
  await until(() => t.replies.waiting === 1);
  const fetched = await t.http.post('/v1/queues/quotes/fetch').set(worker.as).send({ max: 1 });
  const to = fetched.body.messages[0].headers['mqgate-reply-to'] as string;
  expect((await call('sendReply', t.http.post(to).set(caller.as).type('text/plain').send('a'))).body.code).toBe('forbidden');
  expect((await call('sendReply', t.http.post(to).set(worker.as).type('text/plain').send('a'))).status).toBe(204);
  expect((await answered).text).toBe('a');
});

/** A configured key and the header a client sends with it. */
function key(name: string, scopes: string[]): { record: ApiKey; as: { Authorization: string } } {
  const { key: token, id, hash } = generateKey();
  const [record] = checkKeys({ keys: [{ id, name, hash, scopes, limits: {} }] }, name);
  return { record, as: { Authorization: `Bearer ${token}` } };
}
