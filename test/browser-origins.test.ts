import type { Response } from 'supertest';
import { generateKey } from '../api/keys';
import { checkKeys } from '../api/keysFile';
import { expectSpecResponse } from './support/specResponses';
import { disposeTestGateway, type TestGateway, type TestGatewayOptions, testGateway } from './support/testGateway';

/** What a browser page can make the gateway do: the Host check (DNS rebinding), cross-site writes, and CORS for pages that are let in. */

let t: TestGateway;

async function start(options: TestGatewayOptions = {}): Promise<void> {
  t = testGateway(options);
  await t.http.put('/v1/queues/orders').send({});
}

afterEach(() => disposeTestGateway(t));

async function stored(): Promise<number> {
  return ((await t.http.get('/v1/queues/orders')).body as { stats: { produced: number } }).stats.produced;
}

function expectRefused(res: Response, code: 'host_not_allowed' | 'origin_not_allowed'): void {
  expect({ status: res.status, code: (res.body as { code?: string }).code }).toEqual({ status: 403, code });
  expect(res.headers['access-control-allow-origin']).toBeUndefined();
}

/** A "simple" cross-origin request: any page may send it without a preflight. */
const driveBy = (origin: string) =>
  t.http.post('/v1/queues/orders/messages').set('Origin', origin).set('Content-Type', 'text/plain').send('drive-by');

describe('without keys (loopback only)', () => {
  test('a page on another site cannot write: Origin or Sec-Fetch-Site: cross-site → 403 origin_not_allowed, nothing stored', async () => {
    await start();
    const refused = await driveBy('http://evil.example');
    expectRefused(refused, 'origin_not_allowed');
    expectSpecResponse(refused, 'produceMessages');
    expectRefused(await t.http.post('/v1/queues/orders/messages').set('Sec-Fetch-Site', 'cross-site').set('Content-Type', 'text/plain').send('x'), 'origin_not_allowed');
    expectRefused(await driveBy('null'), 'origin_not_allowed');
    expectRefused(await t.http.delete('/v1/queues/orders').set('Origin', 'http://evil.example'), 'origin_not_allowed');
    // The SQS face changes state too.
    expectRefused(await t.http.post('/').set('Origin', 'http://evil.example').set('Content-Type', 'text/plain').send('{}'), 'origin_not_allowed');
    expect(await stored()).toBe(0);
  });

  test('a page of the gateway itself (the dashboard, /docs) and clients that are not browsers still write', async () => {
    await start();
    const own = await t.http
      .post('/v1/queues/orders/messages')
      .set('Host', '127.0.0.1:8080')
      .set('Origin', 'http://127.0.0.1:8080')
      .set('Sec-Fetch-Site', 'same-origin')
      .send({ messages: [{ value: 1 }] });
    expect(own.status).toBe(201);
    expect((await t.http.post('/v1/queues/orders/messages').send({ messages: [{ value: 2 }] })).status).toBe(201);
    // A read from another origin is answered (no CORS header: the browser keeps it from the page).
    const read = await t.http.get('/v1/queues').set('Origin', 'http://evil.example');
    expect(read.status).toBe(200);
    expect(read.headers['access-control-allow-origin']).toBeUndefined();
    expect(await stored()).toBe(2);
  });

  test('a Host that is not the gateway’s own name (DNS rebinding) → 403 host_not_allowed on every route, reads and pages too', async () => {
    await start();
    for (const path of ['/v1/queues', '/v1/queues/orders', '/ui', '/docs', '/openapi.yaml', '/healthz']) {
      const res = await t.http.get(path).set('Host', 'evil.example:8080');
      expectRefused(res, 'host_not_allowed');
      expect(res.text).not.toMatch(/"queues"|visibilityTimeoutMs|swagger|<html/i);
    }
    const write = await t.http.post('/v1/queues/orders/messages').set('Host', 'evil.example:8080').send({ messages: [{ value: 1 }] });
    expectRefused(write, 'host_not_allowed');
    expectSpecResponse(write, 'produceMessages');
    expectSpecResponse(await t.http.get('/healthz').set('Host', 'evil.example'), 'getHealth');
    for (const host of ['127.0.0.1:8080', 'localhost:8080', 'LOCALHOST', '[::1]:8080', '127.0.0.1']) {
      expect({ host, status: (await t.http.get('/v1/queues').set('Host', host)).status }).toEqual({ host, status: 200 });
    }
    expect(await stored()).toBe(0);
  });

  test('allowedHosts adds names, *.domain patterns, or * for any', async () => {
    await start({ allowedHosts: ['mq.internal', '*.corp.example'] });
    for (const [host, status] of [['mq.internal:8080', 200], ['queues.corp.example', 200], ['corp.example.evil', 403], ['evil.example', 403]] as const) {
      expect({ host, status: (await t.http.get('/v1/queues').set('Host', host)).status }).toEqual({ host, status });
    }
    await disposeTestGateway(t);
    await start({ allowedHosts: ['*'] });
    expect((await t.http.get('/v1/queues').set('Host', 'anything.example')).status).toBe(200);
  });
});

test('with keys, the Host is not checked (a page never has the key), but cross-site writes still are', async () => {
  const { key, id, hash } = generateKey();
  const [record] = checkKeys({ keys: [{ id, name: 'app', hash, scopes: ['*:*'] }] }, 'test');
  await start({ keys: [record] });
  const as = { Authorization: `Bearer ${key}` };
  await t.http.put('/v1/queues/orders').set(as).send({});
  expect((await t.http.get('/v1/queues').set(as).set('Host', 'mq.example.com')).status).toBe(200);
  expectRefused(await driveBy('http://evil.example').set(as), 'origin_not_allowed');
  // Same origin behind a proxy that keeps the Host: the page's own origin.
  const own = await t.http.post('/v1/queues/orders/messages').set(as).set('Host', 'mq.example.com').set('Origin', 'https://mq.example.com').send({ messages: [{ value: 1 }] });
  expect(own.status).toBe(201);
});

describe('corsOrigins: pages that may call the gateway from another origin', () => {
  const APP = 'https://app.example';

  test('a preflight from an allowed origin is answered 204 with what it may send; from another, 403 without CORS headers', async () => {
    await start({ corsOrigins: [APP] });
    const preflight = await t.http
      .options('/v1/queues/orders/messages')
      .set('Origin', APP)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization, content-type, idempotency-key');
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'GET, HEAD, PUT, POST, DELETE',
      'access-control-allow-headers': 'authorization, content-type, idempotency-key',
      'access-control-max-age': '600',
      vary: 'Origin',
    });
    const other = await t.http.options('/v1/queues/orders/messages').set('Origin', 'https://other.example').set('Access-Control-Request-Method', 'POST');
    expectRefused(other, 'origin_not_allowed');
    // Not a preflight (no Access-Control-Request-Method): OPTIONS is no method of the API.
    expect((await t.http.options('/v1/queues/orders/messages').set('Origin', APP)).status).toBe(405);
  });

  test('its requests change state and their answers, errors included, carry the CORS headers; other origins are still refused', async () => {
    await start({ corsOrigins: [APP] });
    const produced = await driveBy(APP);
    expect(produced.status).toBe(201);
    expect(produced.headers).toMatchObject({ 'access-control-allow-origin': APP, 'access-control-expose-headers': 'Retry-After, WWW-Authenticate, X-Request-Id' });
    const missing = await t.http.post('/v1/queues/nope/messages').set('Origin', APP).send({ messages: [{ value: 1 }] });
    expect({ status: missing.status, allow: missing.headers['access-control-allow-origin'] }).toEqual({ status: 404, allow: APP });
    expectRefused(await driveBy('https://app.example.evil'), 'origin_not_allowed');
    expect(await stored()).toBe(1);
  });
});
