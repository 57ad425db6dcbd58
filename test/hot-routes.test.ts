import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HotRoutes } from '../api/hotRoutes';
import { generateKey } from '../api/keys';
import { checkKeys } from '../api/keysFile';
import { disposeTestGateway, type LogLine, type TestGateway, testGateway } from './support/testGateway';

/**
 * Produce, fetch and ack of a queue with a plain JSON body are served without
 * express's router and body parser (api/hotRoutes.ts). Every request below is
 * sent twice: as `application/json`, which that path takes, and as
 * `application/json; charset="utf-8"` (the same JSON to express's parser,
 * but a form the hot path leaves to express). The two answers, and the log
 * line and metrics of each, must be the same.
 */

function key(name: string, scopes: string[]): { token: string; record: ReturnType<typeof checkKeys>[number] } {
  const { key: token, id, hash } = generateKey();
  const [record] = checkKeys({ keys: [{ id, name, hash, scopes }] }, name);
  return { token, record };
}

const WRITER = key('writer', ['*:queues/*']);
const READER = key('reader', ['consume:queues/q']);
const HOT = 'application/json';
const VIA_EXPRESS = 'application/json; charset="utf-8"';
const MAX_BATCH_BYTES = 64 * 1024;

let t: TestGateway;
let server: http.Server;
let base: string;
let serve: jest.SpyInstance<boolean, Parameters<HotRoutes['serve']>>;

beforeEach(async () => {
  t = testGateway({ keys: [WRITER.record, READER.record], limits: { maxBatchBytes: MAX_BATCH_BYTES } });
  serve = jest.spyOn(HotRoutes.prototype, 'serve');
  expect((await t.http.put('/v1/queues/q').set('Authorization', `Bearer ${WRITER.token}`).send({})).status).toBe(201);
  server = http.createServer(t.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  serve.mockRestore();
  await disposeTestGateway(t);
});

interface Call {
  path: string;
  token: string | null;
  body: string | Buffer;
}

/** An answer as read off the wire: the body parsed as JSON. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Sends `call` with `type`, the body's bytes as they are, and says whether the hot path took it. */
async function send(call: Call, type: string): Promise<{ res: Answer; hot: boolean; log: LogLine }> {
  const before = serve.mock.results.length;
  const headers: Record<string, string> = { 'Content-Type': type, ...(call.token === null ? {} : { Authorization: `Bearer ${call.token}` }) };
  const answer = await fetch(`${base}${call.path}`, { method: 'POST', headers, body: call.body });
  const res = { status: answer.status, headers: Object.fromEntries(answer.headers), body: JSON.parse(await answer.text()) as unknown };
  const taken = serve.mock.results.slice(before).map((result) => result.value as boolean);
  expect(taken).toHaveLength(1);
  return { res, hot: taken[0], log: t.logs[t.logs.length - 1] };
}

/** An answer without what differs between two requests that did the same: ids, receipts, times. */
function comparable(res: Answer, log: LogLine, differing: string[]): unknown {
  const volatile = new Set(['id', 'receipt', 'timestamp', 'offset', 'firstDeliveredAt', 'time', 'requestId', 'durationMs', ...differing]);
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([name, field]) => [name, volatile.has(name) ? typeof field : strip(field)]));
  };
  const headers = Object.keys(res.headers).filter((name) => !['date', 'x-request-id'].includes(name)).sort();
  return { status: res.status, type: res.headers['content-type'], headers, body: strip(res.body), log: strip(log) };
}

/**
 * Sends `call` both ways; expects the hot path to take the first only, and
 * the same answer, log line and status both times, but for the fields named
 * `differing` (a fetch's second call leases the next message).
 */
async function same(call: Call, differing: string[] = []): Promise<Answer> {
  const hot = await send(call, HOT);
  const viaExpress = await send(call, VIA_EXPRESS);
  expect([hot.hot, viaExpress.hot]).toEqual([true, false]);
  expect(comparable(hot.res, hot.log, differing)).toEqual(comparable(viaExpress.res, viaExpress.log, differing));
  return hot.res;
}

const produce = (body: string | Buffer, token: string | null = WRITER.token, queue = 'q'): Call => ({ path: `/v1/queues/${queue}/messages`, token, body });

test('produce: stored, refused as invalid, malformed, not UTF-8, too large, unknown, misnamed, unauthorized, forbidden — the same answers either way', async () => {
  const codes: Array<[Call, number, string | null]> = [
    [produce('{"messages":[{"value":{"n":1}}]}'), 201, null],
    // A byte order mark, which express's decoder drops.
    [produce('\ufeff{"messages":[{"value":2}]}'), 201, null],
    [produce('{"messages":[]}'), 422, 'validation_failed'],
    [produce(''), 422, 'validation_failed'],
    [produce('{"messages":[{"value":'), 400, 'malformed_json'],
    [produce(Buffer.concat([Buffer.from('{"messages":[{"value":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')])), 400, 'malformed_json'],
    [produce(JSON.stringify({ messages: [{ value: 'x'.repeat(MAX_BATCH_BYTES) }] })), 413, 'payload_too_large'],
    [produce('{"messages":[{"value":1}]}', WRITER.token, 'nowhere'), 404, 'queue_not_found'],
    [produce('{"messages":[{"value":1}]}', null), 401, 'unauthorized'],
    // Another last character than the key's own: a key that ends in 'A' would otherwise be sent unchanged.
    [produce('{"messages":[{"value":1}]}', `${WRITER.token.slice(0, -1)}${WRITER.token.endsWith('A') ? 'B' : 'A'}`), 401, 'unauthorized'],
    [produce('{"messages":[{"value":1}]}', READER.token), 403, 'forbidden'],
    [produce('{"messages":[{"value":1}]}', WRITER.token, 'not%20a%20name'), 400, 'invalid_name'],
  ];
  for (const [call, status, code] of codes) {
    const res = await same(call);
    expect({ status: res.status, code: (res.body as { code?: string }).code ?? null }).toEqual({ status, code });
  }
  // Each 201 stored its message, both ways: 2 calls × 2.
  const fetched = await t.http.post('/v1/queues/q/fetch').set('Authorization', `Bearer ${READER.token}`).send({ max: 10 });
  expect((fetched.body as { messages: Array<{ value: unknown }> }).messages.map((m) => m.value)).toEqual([{ n: 1 }, { n: 1 }, 2, 2]);
});

test('fetch and ack: leases, acks, the receipt of a lease run out refused — the same answers either way', async () => {
  const fetchCall = (body: string): Call => ({ path: '/v1/queues/q/fetch', token: READER.token, body });
  const ack = (receipts: string[]): Call => ({ path: '/v1/queues/q/ack', token: READER.token, body: JSON.stringify({ receipts }) });
  for (const value of [1, 2]) await send(produce(JSON.stringify({ messages: [{ value }] })), HOT);

  const leased = await same(fetchCall('{"max":1,"visibilityTimeoutMs":1000}'), ['value']);
  const [first] = (leased.body as { messages: Array<{ receipt: string; value: unknown }> }).messages;
  expect(first.value).toBe(1);
  // The second fetch (through express) leased message 2; both leases run out, and each message is leased again.
  t.clock.advance(1001);
  const again = await t.http.post('/v1/queues/q/fetch').set('Authorization', `Bearer ${READER.token}`).send({ max: 10 });
  const receipts = (again.body as { messages: Array<{ receipt: string }> }).messages.map((m) => m.receipt);
  expect(receipts).toHaveLength(2);

  const stale = await same(ack([first.receipt]));
  expect(stale.body).toEqual({ results: [{ receipt: first.receipt, status: 'expired', code: 'receipt_expired' }] });
  const acked = await send(ack(receipts), HOT);
  expect([acked.hot, acked.res.body]).toEqual([true, { results: receipts.map((receipt) => ({ receipt, status: 'acked' })) }]);
  expect((await same(fetchCall('{"max":"ten"}'))).status).toBe(422);
  expect((await same(fetchCall('{}'))).body).toEqual({ messages: [] });
});

test('requests the hot path does not read itself go to express: chunked, encoded, other types, other methods and paths', async () => {
  const body = '{"messages":[{"value":1}]}';
  const auth = `Bearer ${WRITER.token}`;
  const hotTaken = async (res: PromiseLike<unknown>): Promise<boolean> => {
    const before = serve.mock.results.length;
    await res;
    return serve.mock.results.slice(before).some((result) => result.value === true);
  };
  expect(await hotTaken(t.http.post('/v1/queues/q/messages').set('Authorization', auth).type('json').send(body))).toBe(true);
  expect(await hotTaken(t.http.post('/v1/queues/q/messages').set('Authorization', auth).type('text/plain').send('raw'))).toBe(false);
  expect(await hotTaken(t.http.post('/v1/queues/q/messages').set('Authorization', auth).set('Content-Type', HOT).set('Content-Encoding', 'identity').send(body))).toBe(false);
  expect(await hotTaken(t.http.post('/v1/queues/q/messages/').set('Authorization', auth).set('Content-Type', HOT).send(body))).toBe(false);
  expect(await hotTaken(t.http.post('/V1/queues/q/messages').set('Authorization', auth).set('Content-Type', HOT).send(body))).toBe(false);
  expect(await hotTaken(t.http.put('/v1/queues/q/messages').set('Authorization', auth).set('Content-Type', HOT).send(body))).toBe(false);
  expect(await hotTaken(t.http.post('/v1/queues/q/browse').set('Authorization', auth).set('Content-Type', HOT).send('{}'))).toBe(false);
  expect(await hotTaken(t.http.post('/v1/queues/%E0%A4%A/messages').set('Authorization', auth).set('Content-Type', HOT).send(body))).toBe(false);
});
