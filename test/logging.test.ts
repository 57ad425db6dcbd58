import { generateKey } from '../api/keys';
import { checkKeys } from '../api/keysFile';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';

let t: TestGateway;

afterEach(() => disposeTestGateway(t));

const SECRET_VALUE = 'card-4111-1111';

test('one line per request: the client request id, operation, status and duration, never the body or the query', async () => {
  t = testGateway();
  await t.http.put('/v1/queues/q').send({});
  const res = await t.http
    .post('/v1/queues/q/messages?note=private')
    .set('X-Request-Id', 'order-42.retry:1')
    .send({ messages: [{ value: SECRET_VALUE }] });
  expect(res.headers['x-request-id']).toBe('order-42.retry:1');
  const line = t.logs.find((l) => l.requestId === 'order-42.retry:1');
  expect(line).toEqual({
    time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    level: 'info',
    msg: 'request',
    requestId: 'order-42.retry:1',
    operation: 'produceMessages',
    method: 'POST',
    path: '/v1/queues/q/messages',
    status: 201,
    durationMs: expect.any(Number),
    keyId: null,
  });
  expect(JSON.stringify(t.logs)).not.toMatch(/card-4111|private/);
});

test('a request without an id, or with one that is not a plain token, gets a new one', async () => {
  t = testGateway();
  const fresh = await t.http.get('/v1/queues');
  const replaced = await t.http.get('/nowhere').set('X-Request-Id', 'evil\tline {"level":"fatal"}');
  for (const res of [fresh, replaced]) expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(t.logs.map((l) => [l.requestId, l.operation, l.status])).toEqual([
    [fresh.headers['x-request-id'], 'listQueues', 200],
    [replaced.headers['x-request-id'], null, 404],
  ]);
});

test('the caller is logged by key id; the key itself never', async () => {
  const { key, id, hash } = generateKey();
  const keys = checkKeys({ keys: [{ id, name: 'ops', hash, scopes: ['*:*'] }] }, 'test');
  t = testGateway({ keys });
  await t.http.put('/v1/queues/q').set('Authorization', `Bearer ${key}`).send({});
  await t.http.get('/v1/queues/q').set('Authorization', 'Bearer mqg_000000000000_wrong');
  expect(t.logs.map((l) => [l.operation, l.status, l.keyId])).toEqual([
    ['putQueue', 201, id],
    ['getQueue', 401, null],
  ]);
  expect(JSON.stringify(t.logs)).not.toContain(key.slice(17));
  expect(JSON.stringify(t.logs)).not.toContain('wrong');
});
