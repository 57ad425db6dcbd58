import type { Response } from 'supertest';
import { accessOf } from '../api/auth';
import { RESOURCE_KINDS } from '../api/scopes';
import { type ApiKey, generateKey, hashKey, KeyRing } from '../api/keys';
import { checkKeys } from '../api/keysFile';
import { loadSpec, type SpecOperation } from '../api/spec';
import { expectSpecResponse, until } from './support/specResponses';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';

const spec = loadSpec();

/** A configured key and the token a client sends. */
interface Key {
  token: string;
  record: ApiKey;
}

function key(name: string, scopes: string[], limits: ApiKey['limits'] = {}): Key {
  const { key: token, id, hash } = generateKey();
  const [record] = checkKeys({ keys: [{ id, name, hash, scopes, limits }] }, name);
  return { token, record };
}

const ADMIN = key('admin', ['*:*']);
/** Stored in every fixture; must never appear in an answer to a caller without access. */
const SECRET_VALUE = 'only-for-a-keys';

interface Fixture {
  memberId: string;
  /** The reply address of a request–reply call that waits (on queue a-rr) until a reply, or the end of the test. */
  replyTo: string;
}

/** Resources every operation below works on, created with the all-powerful key. */
async function createFixture(t: TestGateway): Promise<Fixture> {
  const as = { Authorization: `Bearer ${ADMIN.token}` };
  const ok = (res: Response): Response => {
    expect(res.status).toBeLessThan(300);
    return res;
  };
  ok(await t.http.put('/v1/queues/a-dlq').set(as).send({}));
  ok(await t.http.put('/v1/queues/a-q').set(as).send({ maxDeliveries: 5, deadLetterQueue: 'a-dlq' }));
  ok(await t.http.post('/v1/queues/a-q/messages').set(as).send({ messages: [{ value: SECRET_VALUE }] }));
  ok(await t.http.put('/v1/topics/a-t').set(as).send({ partitions: 2 }));
  ok(await t.http.post('/v1/topics/a-t/messages').set(as).send({ messages: [{ value: SECRET_VALUE, partition: 0 }] }));
  ok(await t.http.put('/v1/topics/a-t/subscriptions/s').set(as).send({}));
  ok(await t.http.put('/v1/topics/a-t/groups/idle').set(as).send({}));
  const joined = ok(await t.http.post('/v1/topics/a-t/groups/g/members').set(as).send({}));
  ok(await t.http.put('/v1/push-subscriptions/a-p').set(as).send({ source: { queue: 'a-dlq' }, url: 'http://127.0.0.1:9/' }));
  ok(await t.http.post('/v1/push-subscriptions/a-p/pause').set(as));
  ok(await t.http.put('/v1/queues/a-rr').set(as).send({}));
  // Schemas that take every message (raw bodies too), so that the calls below are answered as without one.
  for (const resource of ['queues/a-q', 'topics/a-t']) ok(await t.http.put(`/v1/${resource}/schema`).set(as).send({ schema: {}, allowRawBodies: true }));
  // Answered by sendReply's call, or else by the gateway stopping at the end of the test.
  void t.http.post('/v1/queues/a-rr/requests?timeoutMs=60000').set(as).type('text/plain').send('ping').then(() => undefined);
  await until(() => t.replies.waiting === 1);
  const [request] = ok(await t.http.get('/v1/queues/a-rr/messages').set(as)).body.messages as Array<{ headers: Record<string, string> }>;
  return { memberId: (joined.body as { memberId: string }).memberId, replyTo: request.headers['mqgate-reply-to'] };
}

interface Call {
  method: 'get' | 'put' | 'post' | 'delete';
  path: string;
  body?: object | string;
  /** For a call that waits for another (a request for its reply): what makes it succeed, run meanwhile. */
  meanwhile?: (t: TestGateway) => Promise<void>;
}

/** Replies, as the all-powerful key, to the request–reply call that waits on queue a-q. */
async function answerRequest(t: TestGateway): Promise<void> {
  const as = { Authorization: `Bearer ${ADMIN.token}` };
  await until(() => t.replies.waiting === 2);
  const { messages } = (await t.http.get('/v1/queues/a-q/messages').set(as)).body as { messages: Array<{ headers: Record<string, string> }> };
  const replyTo = messages.map((m) => m.headers['mqgate-reply-to']).find((to) => to !== undefined) as string;
  expect((await t.http.post(replyTo).set(as).type('text/plain').send('pong')).status).toBe(204);
}

/** Ends a stream once it waits for messages, as a SIGTERM does: the stream's 200 is then complete. */
async function endStream(t: TestGateway): Promise<void> {
  await until(() => t.wakeups.waiting > 0);
  t.shutDown();
}

/** A request each operation answers with a 2xx when the caller may make it. */
function successfulCall(operationId: string, fixture: Fixture): Call {
  const receipts = { receipts: ['not-a-receipt'] };
  const calls: Record<string, Call> = {
    getHealth: { method: 'get', path: '/healthz' },
    getOpenApi: { method: 'get', path: '/openapi.yaml' },
    listQueues: { method: 'get', path: '/v1/queues' },
    putQueue: { method: 'put', path: '/v1/queues/a-q', body: {} },
    getQueue: { method: 'get', path: '/v1/queues/a-q' },
    deleteQueue: { method: 'delete', path: '/v1/queues/a-q' },
    purgeQueue: { method: 'post', path: '/v1/queues/a-q/purge' },
    produceMessages: { method: 'post', path: '/v1/queues/a-q/messages', body: { messages: [{ value: 1 }] } },
    sendRequest: { method: 'post', path: '/v1/queues/a-q/requests', body: 'ping', meanwhile: answerRequest },
    sendReply: { method: 'post', path: fixture.replyTo, body: 'pong' },
    fetchMessages: { method: 'post', path: '/v1/queues/a-q/fetch', body: {} },
    streamQueue: { method: 'get', path: '/v1/queues/a-q/stream', meanwhile: endStream },
    createQueueStreamToken: { method: 'post', path: '/v1/queues/a-q/stream/tokens' },
    browseQueue: { method: 'get', path: '/v1/queues/a-q/messages' },
    putQueueSchema: { method: 'put', path: '/v1/queues/a-q/schema', body: { schema: {}, allowRawBodies: true } },
    getQueueSchema: { method: 'get', path: '/v1/queues/a-q/schema' },
    getQueueSchemaVersion: { method: 'get', path: '/v1/queues/a-q/schema/versions/1' },
    checkQueueSchema: { method: 'post', path: '/v1/queues/a-q/schema/check', body: { values: [1] } },
    putTopicSchema: { method: 'put', path: '/v1/topics/a-t/schema', body: { schema: {}, allowRawBodies: true } },
    getTopicSchema: { method: 'get', path: '/v1/topics/a-t/schema' },
    getTopicSchemaVersion: { method: 'get', path: '/v1/topics/a-t/schema/versions/1' },
    checkTopicSchema: { method: 'post', path: '/v1/topics/a-t/schema/check', body: { values: [1] } },
    ackMessages: { method: 'post', path: '/v1/queues/a-q/ack', body: receipts },
    nackMessages: { method: 'post', path: '/v1/queues/a-q/nack', body: receipts },
    extendLeases: { method: 'post', path: '/v1/queues/a-q/extend', body: { ...receipts, visibilityTimeoutMs: 1000 } },
    redriveMessages: { method: 'post', path: '/v1/queues/a-dlq/redrive', body: {} },
    listTopics: { method: 'get', path: '/v1/topics' },
    putTopic: { method: 'put', path: '/v1/topics/a-t', body: { partitions: 2 } },
    getTopic: { method: 'get', path: '/v1/topics/a-t' },
    deleteTopic: { method: 'delete', path: '/v1/topics/a-t' },
    produceToTopic: { method: 'post', path: '/v1/topics/a-t/messages', body: { messages: [{ value: 1 }] } },
    readPartition: { method: 'get', path: '/v1/topics/a-t/partitions/0/messages?offset=0' },
    streamPartition: { method: 'get', path: '/v1/topics/a-t/partitions/0/stream?offset=latest', meanwhile: endStream },
    createPartitionStreamToken: { method: 'post', path: '/v1/topics/a-t/partitions/0/stream/tokens' },
    offsetForTimestamp: { method: 'get', path: '/v1/topics/a-t/partitions/0/offsets?timestamp=0' },
    listGroups: { method: 'get', path: '/v1/topics/a-t/groups' },
    putGroup: { method: 'put', path: '/v1/topics/a-t/groups/idle', body: {} },
    describeGroup: { method: 'get', path: '/v1/topics/a-t/groups/g' },
    deleteGroup: { method: 'delete', path: '/v1/topics/a-t/groups/idle' },
    joinGroup: { method: 'post', path: '/v1/topics/a-t/groups/g/members', body: {} },
    leaveGroup: { method: 'delete', path: `/v1/topics/a-t/groups/g/members/${fixture.memberId}` },
    fetchGroup: { method: 'post', path: '/v1/topics/a-t/groups/idle/fetch', body: {} },
    streamGroup: { method: 'get', path: '/v1/topics/a-t/groups/g/stream', meanwhile: endStream },
    createGroupStreamToken: { method: 'post', path: '/v1/topics/a-t/groups/g/stream/tokens' },
    commitGroup: { method: 'post', path: '/v1/topics/a-t/groups/idle/commit', body: { offsets: [{ partition: 0, offset: 1 }] } },
    seekGroup: { method: 'post', path: '/v1/topics/a-t/groups/idle/seek', body: { to: 'earliest' } },
    listSubscriptions: { method: 'get', path: '/v1/topics/a-t/subscriptions' },
    putSubscription: { method: 'put', path: '/v1/topics/a-t/subscriptions/s', body: {} },
    getSubscription: { method: 'get', path: '/v1/topics/a-t/subscriptions/s' },
    deleteSubscription: { method: 'delete', path: '/v1/topics/a-t/subscriptions/s' },
    fetchSubscription: { method: 'post', path: '/v1/topics/a-t/subscriptions/s/fetch', body: {} },
    streamSubscription: { method: 'get', path: '/v1/topics/a-t/subscriptions/s/stream', meanwhile: endStream },
    createSubscriptionStreamToken: { method: 'post', path: '/v1/topics/a-t/subscriptions/s/stream/tokens' },
    browseSubscription: { method: 'get', path: '/v1/topics/a-t/subscriptions/s/messages' },
    ackSubscription: { method: 'post', path: '/v1/topics/a-t/subscriptions/s/ack', body: receipts },
    nackSubscription: { method: 'post', path: '/v1/topics/a-t/subscriptions/s/nack', body: receipts },
    extendSubscription: { method: 'post', path: '/v1/topics/a-t/subscriptions/s/extend', body: { ...receipts, visibilityTimeoutMs: 1000 } },
    listPushSubscriptions: { method: 'get', path: '/v1/push-subscriptions' },
    putPushSubscription: {
      method: 'put',
      path: '/v1/push-subscriptions/a-p',
      body: { source: { queue: 'a-dlq' }, url: 'http://127.0.0.1:9/' },
    },
    getPushSubscription: { method: 'get', path: '/v1/push-subscriptions/a-p' },
    deletePushSubscription: { method: 'delete', path: '/v1/push-subscriptions/a-p' },
    pausePushSubscription: { method: 'post', path: '/v1/push-subscriptions/a-p/pause' },
    resumePushSubscription: { method: 'post', path: '/v1/push-subscriptions/a-p/resume' },
  };
  const call = calls[operationId];
  if (call === undefined) throw new Error(`no authorization case for ${operationId}: add one`);
  return call;
}

const ACTIONS = ['produce', 'consume', 'admin'] as const;

/** The keys of the matrix for one operation: the right one, and the wrong ones that must be refused. */
function keysFor(op: SpecOperation): { right: Key; lacking: Key; elsewhere: Key } {
  const access = accessOf(op);
  if (access.kind !== 'scoped') throw new Error(`${op.operation.operationId} is not scoped`);
  const { action, resource } = access;
  const needed = action ?? 'consume';
  // A push subscription's source is read through it: consume on the source too.
  const extra = op.operation.operationId === 'putPushSubscription' ? ['consume:queues/a-*'] : [];
  const right = key('right', [`${needed}:${resource}/a-*`, ...extra]);
  // `any` is met by every action, so lacking it means holding nothing on this kind.
  const lacking =
    action === null
      ? key('lacking', RESOURCE_KINDS.filter((k) => k !== resource).map((k) => `*:${k}/*`))
      : key('lacking', [...ACTIONS.filter((a) => a !== action).map((a) => `${a}:${resource}/a-*`), ...extra]);
  const elsewhere = key('elsewhere', [`*:${resource}/b-*`, ...RESOURCE_KINDS.filter((k) => k !== resource).map((k) => `*:${k}/*`)]);
  return { right, lacking, elsewhere };
}

function send(t: TestGateway, call: Call, token: string | null): Promise<Response> {
  const pending = t.http[call.method](call.path);
  if (token !== null) pending.set('Authorization', `Bearer ${token}`);
  return call.body === undefined ? pending : pending.send(call.body);
}

/** A refusal says why and nothing else: no resource data, no stored values. */
function expectRefusal(res: Response, status: 401 | 403, operationId: string): void {
  expect({ operationId, status: res.status, code: (res.body as { code?: string }).code }).toEqual({
    operationId,
    status,
    code: status === 401 ? 'unauthorized' : 'forbidden',
  });
  expect(Object.keys(res.body as object).sort()).toEqual(['code', 'detail', 'instance', 'status', 'title', 'type']);
  expect(res.text).not.toContain(SECRET_VALUE);
  expectSpecResponse(res, operationId);
}

async function gatewayWith(keys: Key[], gateways = 1): Promise<{ t: TestGateway; fixture: Fixture }> {
  const t = testGateway({ keys: [ADMIN, ...keys].map((k) => k.record), healthAuth: 'key', gateways });
  return { t, fixture: await createFixture(t) };
}

/** Runs `work` on a gateway with these keys (and the all-powerful one) and its fixture, then disposes of it; one of `gateways` sharing the keys' limits. */
async function withGateway(keys: Key[], work: (t: TestGateway, fixture: Fixture) => Promise<void>, gateways = 1): Promise<void> {
  const { t, fixture } = await gatewayWith(keys, gateways);
  try {
    await work(t, fixture);
  } finally {
    await disposeTestGateway(t);
  }
}

const scoped = spec.operations.filter((op) => accessOf(op).kind === 'scoped');

describe('authorization matrix: every scoped operation', () => {
  test.each(scoped.map((op) => [op.operation.operationId, op] as const))('%s', async (operationId, op) => {
    const { right, lacking, elsewhere } = keysFor(op);
    const unknown = generateKey().key;
    await withGateway([right, lacking, elsewhere], async (t, fixture) => {
      const call = successfulCall(operationId, fixture);
      expectRefusal(await send(t, call, null), 401, operationId);
      expectRefusal(await send(t, call, unknown), 401, operationId);
      expectRefusal(await send(t, call, `${right.token}x`), 401, operationId);
      expectRefusal(await send(t, call, lacking.token), 403, operationId);
      const other = await send(t, call, elsewhere.token);
      const access = accessOf(op);
      if (access.kind === 'scoped' && access.param === null) {
        // A list answers a key scoped elsewhere with only what it may see: here, nothing of a-*.
        expect(other.status).toBe(200);
        expect(other.text).not.toMatch(/"name":"a-/);
      } else {
        expectRefusal(other, 403, operationId);
      }
      const [res] = await Promise.all([send(t, call, right.token), call.meanwhile?.(t)]);
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(300);
      expectSpecResponse(res, operationId);
    });
  });

  test('every operation of the contract says who may call it', () => {
    for (const op of spec.operations) expect(() => accessOf(op)).not.toThrow();
    expect(spec.operations.filter((op) => accessOf(op).kind !== 'scoped').map((op) => op.operation.operationId).sort()).toEqual([
      'getActivity',
      'getDashboard',
      'getDashboardAsset',
      'getDocs',
      'getDocsAsset',
      'getHealth',
      'getMetrics',
      'getOpenApi',
      'getReady',
      // The SQS face checks its signature and scopes itself, on / and on a queue's URL.
      'sqsQueueRequest',
      'sqsRequest',
    ]);
  });
});

describe('a key scoped to queues/a-*', () => {
  const narrow = key('narrow', ['produce:queues/a-*', 'consume:queues/a-*', 'admin:queues/a-*']);
  let t: TestGateway;
  const as = { Authorization: `Bearer ${narrow.token}` };

  beforeEach(async () => {
    ({ t } = await gatewayWith([narrow]));
    await t.http.put('/v1/queues/b').set('Authorization', `Bearer ${ADMIN.token}`).send({});
    await t.http.post('/v1/queues/b/messages').set('Authorization', `Bearer ${ADMIN.token}`).send({ messages: [{ value: SECRET_VALUE }] });
  });
  afterEach(() => disposeTestGateway(t));

  test('cannot read, write or even see queues/b: the answer is the same as for a queue that does not exist', async () => {
    const calls: Array<[string, Call]> = [
      ['getQueue', { method: 'get', path: '/v1/queues/%s' }],
      ['produceMessages', { method: 'post', path: '/v1/queues/%s/messages', body: { messages: [{ value: 1 }] } }],
      ['fetchMessages', { method: 'post', path: '/v1/queues/%s/fetch', body: {} }],
      ['deleteQueue', { method: 'delete', path: '/v1/queues/%s' }],
      ['purgeQueue', { method: 'post', path: '/v1/queues/%s/purge' }],
    ];
    for (const [operationId, call] of calls) {
      const existing = await send(t, { ...call, path: call.path.replace('%s', 'b') }, narrow.token);
      const missing = await send(t, { ...call, path: call.path.replace('%s', 'c') }, narrow.token);
      expectRefusal(existing, 403, operationId);
      expect(existing.text.replaceAll('/b', '/c')).toBe(missing.text);
    }
    const listed = await t.http.get('/v1/queues').set(as);
    expect((listed.body as { queues: Array<{ name: string }> }).queues.map((q) => q.name)).toEqual(['a-dlq', 'a-q', 'a-rr']);
    expect(listed.text).not.toContain(SECRET_VALUE);
    const page = await t.http.get('/v1/queues?limit=2').set(as);
    expect(page.body).toMatchObject({ queues: [{ name: 'a-dlq' }, { name: 'a-q' }], nextCursor: expect.any(String) });
    const next = await t.http.get(`/v1/queues?limit=2&cursor=${encodeURIComponent(page.body.nextCursor as string)}`).set(as);
    expect(next.body).toMatchObject({ queues: [{ name: 'a-rr' }], nextCursor: null });
    expect((await t.http.post('/v1/queues/b/fetch').set('Authorization', `Bearer ${ADMIN.token}`).send({})).body).toMatchObject({
      messages: [{ value: SECRET_VALUE }],
    });
  });

  test('cannot point a queue of its own at a dead-letter queue or a push subscription at a source outside its scope', async () => {
    const dlq = await t.http.put('/v1/queues/a-new').set(as).send({ maxDeliveries: 3, deadLetterQueue: 'b' });
    expectRefusal(dlq, 403, 'putQueue');
    expect((await t.http.get('/v1/queues/a-new').set(as)).status).toBe(404);
    expect((await t.http.put('/v1/queues/a-new').set(as).send({ maxDeliveries: 3, deadLetterQueue: 'a-dlq' })).status).toBe(201);
    // Redriving into a queue is producing to it.
    await t.http.put('/v1/queues/a-dlq').set(as).send({});
    expectRefusal(await t.http.post('/v1/queues/a-dlq/redrive').set(as).send({ to: 'b' }), 403, 'redriveMessages');
    expect((await t.http.post('/v1/queues/a-dlq/redrive').set(as).send({ to: 'a-new' })).status).toBe(200);
    const pusher = key('pusher', ['admin:push-subscriptions/*', 'produce:queues/a-*']);
    await withGateway([pusher], async (other) => {
      const put = (source: string) =>
        other.http
          .put('/v1/push-subscriptions/p')
          .set('Authorization', `Bearer ${pusher.token}`)
          .send({ source: { queue: source }, url: 'http://127.0.0.1:9/' });
      expectRefusal(await put('a-q'), 403, 'putPushSubscription');
    });
  });

  test('cannot forge the headers redrive trusts to send messages into queues/b', async () => {
    const forged = { 'mqgate-dead-letter-source': 'b' };
    const json = await t.http.post('/v1/queues/a-q/messages').set(as).send({ messages: [{ value: 'in', headers: forged }] });
    expect(json.status).toBe(422);
    expect(json.body).toMatchObject({ code: 'validation_failed', errors: [{ pointer: '/body/messages/0/headers/mqgate-dead-letter-source' }] });
    const raw = await t.http.post('/v1/queues/a-q/messages').set(as).set('Content-Type', 'text/plain').set('Mqgate-Header-MQGATE-Dead-Letter-Source', 'b').send('in');
    expect(raw.status).toBe(422);
    expect((await t.http.post('/v1/queues/a-q/redrive').set(as).send({})).body).toMatchObject({ redriven: 0 });
    const b = await t.http.get('/v1/queues/b').set('Authorization', `Bearer ${ADMIN.token}`);
    expect((b.body as { stats: { ready: number } }).stats.ready).toBe(1);
  });

  test('a queue in use as a dead-letter queue does not name the queues that use it', async () => {
    await t.http.put('/v1/queues/b-payroll').set('Authorization', `Bearer ${ADMIN.token}`).send({ maxDeliveries: 1, deadLetterQueue: 'a-dlq' });
    const refused = await t.http.delete('/v1/queues/a-dlq').set(as);
    expect(refused.body).toMatchObject({ code: 'queue_in_use' });
    expect(refused.text).not.toContain('payroll');
  });

  test('health needs a key when healthAuth is key, any key; the contract is public', async () => {
    expectRefusal(await t.http.get('/healthz'), 401, 'getHealth');
    expect((await t.http.get('/healthz').set(as)).status).toBe(200);
    expectRefusal(await t.http.get('/readyz'), 401, 'getReady');
    expect((await t.http.get('/readyz').set(as)).status).toBe(200);
    expect((await t.http.get('/openapi.yaml')).status).toBe(200);
  });
});

describe('/metrics and /v1/activity name or count every resource: with keys, only a metrics (or admin:*) key reads them', () => {
  const OBSERVERS = [['/metrics', 'getMetrics'], ['/v1/activity', 'getActivity']] as const;
  const scraper = key('scraper', ['metrics']);
  const admin = key('all-admin', ['admin:*']);
  const narrow = key('narrow', ['*:queues/a-*', '*:topics/*', '*:push-subscriptions/*']);
  const queueAdmin = key('queue-admin', ['admin:queues/*']);

  test.each(['open', 'key'] as const)('healthAuth %s: no key or a bad one 401, a key without the scope 403, metrics / admin:* / *:* 200', async (healthAuth) => {
    const t = testGateway({ keys: [ADMIN, scraper, admin, narrow, queueAdmin].map((k) => k.record), healthAuth });
    try {
      await createFixture(t);
      expect((await t.http.get('/healthz')).status).toBe(healthAuth === 'open' ? 200 : 401);
      for (const [path, operationId] of OBSERVERS) {
        expectRefusal(await t.http.get(path), 401, operationId);
        expectRefusal(await send(t, { method: 'get', path }, `${scraper.token}x`), 401, operationId);
        for (const refused of [narrow, queueAdmin]) {
          const res = await send(t, { method: 'get', path }, refused.token);
          expectRefusal(res, 403, operationId);
          expect(res.text).not.toContain('a-q');
        }
        for (const allowed of [scraper, admin, ADMIN]) {
          const res = await send(t, { method: 'get', path }, allowed.token);
          expect({ path, key: allowed.record.name, status: res.status }).toEqual({ path, key: allowed.record.name, status: 200 });
          expectSpecResponse(res, operationId);
        }
      }
      expect((await send(t, { method: 'get', path: '/metrics' }, scraper.token)).text).toContain('queue="a-q"');
      // The scraper's key reads figures and nothing else: not even the list of queue names.
      expectRefusal(await send(t, { method: 'get', path: '/v1/queues' }, scraper.token), 403, 'listQueues');
      expectRefusal(await send(t, { method: 'get', path: '/v1/queues/a-q' }, scraper.token), 403, 'getQueue');
    } finally {
      await disposeTestGateway(t);
    }
  });

  test('without keys (loopback only) both stay open', async () => {
    const t = testGateway();
    try {
      for (const [path, operationId] of OBSERVERS) expectSpecResponse(await t.http.get(path).expect(200), operationId);
    } finally {
      await disposeTestGateway(t);
    }
  });
});

describe('per-key limits', () => {
  test('a key over its request rate gets 429 rate_limited with Retry-After; other keys go on; the rate refills with time', async () => {
    const slow = key('slow', ['*:*'], { requestsPerSecond: 2 });
    const other = key('other', ['*:*']);
    await withGateway([slow, other], async (t) => {
      const get = (k: Key) => t.http.get('/v1/queues/a-q').set('Authorization', `Bearer ${k.token}`);
      expect((await get(slow)).status).toBe(200);
      expect((await get(slow)).status).toBe(200);
      const limited = await get(slow);
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toBe('1');
      expect(limited.body).toMatchObject({ code: 'rate_limited' });
      expectSpecResponse(limited, 'getQueue');
      expect((await get(other)).status).toBe(200);
      t.clock.advance(499);
      expect((await get(slow)).status).toBe(429);
      t.clock.advance(1);
      expect((await get(slow)).status).toBe(200);
      expect((await get(slow)).status).toBe(429);
    });
  });

  test('one of 4 gateways sharing the keys\' limits lets a key through its part of them: a quarter, rounded up', async () => {
    const shared = key('shared', ['*:*'], { requestsPerSecond: 10, longPolls: 4 });
    await withGateway(
      [shared],
      async (t) => {
        const get = () => t.http.get('/v1/queues/a-q').set('Authorization', `Bearer ${shared.token}`);
        for (let i = 0; i < 3; i += 1) expect((await get()).status).toBe(200);
        expect((await get()).body).toMatchObject({ code: 'rate_limited' });
      },
      4,
    );
  });

  test('a key over its byte rate is refused until the bytes it moved are paid off; a large body is never refused forever', async () => {
    const bulk = key('bulk', ['*:*'], { bytesPerSecond: 1000 });
    await withGateway([bulk], async (t) => {
      const produce = (bytes: number) =>
        t.http
          .post('/v1/queues/a-q/messages')
          .set('Authorization', `Bearer ${bulk.token}`)
          .send({ messages: [{ value: 'x'.repeat(bytes) }] });
      expect((await produce(4500)).status).toBe(201);
      const limited = await produce(10);
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ code: 'rate_limited' });
      // About 3.6 s of debt: the 4.5 KB body and the answer, less the second's worth the bucket held.
      expect(Number(limited.headers['retry-after'])).toBe(4);
      t.clock.advance(3000);
      expect((await produce(10)).status).toBe(429);
      t.clock.advance(1000);
      expect((await produce(10)).status).toBe(201);
      expect((await t.http.get('/v1/queues/a-q').set('Authorization', `Bearer ${ADMIN.token}`)).body).toMatchObject({
        stats: { ready: 3 },
      });
    });
  });

  test('a key holds at most its long-polls at once: one more waiting fetch is 429 too_many_long_polls, a fetch that does not wait is not', async () => {
    const poller = key('poller', ['*:*'], { longPolls: 1 });
    await withGateway([poller], async (t) => {
      const as = { Authorization: `Bearer ${poller.token}` };
      await t.http.put('/v1/queues/a-empty').set(as).send({});
      const fetch = (waitMs: number) => t.http.post('/v1/queues/a-empty/fetch').set(as).send({ waitMs });
      const waiting = fetch(10_000).then((res) => res);
      await until(() => t.wakeups.waiting > 0);
      expect(t.wakeups.waiting).toBe(1);
      const refused = await fetch(1000);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ code: 'too_many_long_polls' });
      expect(refused.headers['retry-after']).toBe('1');
      expect((await fetch(0)).status).toBe(200);
      expect((await t.http.post('/v1/queues/a-empty/messages').set(as).send({ messages: [{ value: 1 }] })).status).toBe(201);
      expect(((await waiting).body as { messages: unknown[] }).messages).toHaveLength(1);
      // The slot is free again once the long-poll answered.
      const again = fetch(10_000).then((res) => res);
      await t.http.post('/v1/queues/a-empty/messages').set(as).send({ messages: [{ value: 2 }] });
      expect((await again).status).toBe(200);
    });
  });
});

describe('KeyRing', () => {
  test('a key let in once is still checked on every request: another secret of its id is refused, and so is its old token once a reload replaced it', () => {
    const { token, record } = key('checked', ['*:*']);
    const ring = new KeyRing([record]);
    expect(ring.authenticate(token)).toBe(record);
    expect(ring.authenticate(token)).toBe(record);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect(ring.authenticate(`${token.slice(0, -1)}${last}`)).toBeNull();
    const newToken = `${token.slice(0, -43)}${'C'.repeat(43)}`;
    const replaced: ApiKey = { ...record, hash: hashKey(newToken) };
    ring.replace([replaced]);
    expect(ring.authenticate(token)).toBeNull();
    expect(ring.authenticate(newToken)).toBe(replaced);
    ring.replace([]);
    expect(ring.authenticate(newToken)).toBeNull();
  });
});
