import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { listen } from '../api/listen';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';

let t: TestGateway;
let server: Server;
let port: number;

beforeEach(async () => {
  t = testGateway();
  server = await listen(t.app, 0, '127.0.0.1');
  port = (server.address() as AddressInfo).port;
  await t.http.put('/v1/queues/q').send({});
  await t.http.post('/v1/queues/q/messages').send({ messages: [{ value: 'kept' }] });
});
afterEach(async () => {
  server.close();
  await disposeTestGateway(t);
});

/**
 * Sends bytes as they are and returns everything the server answers until it
 * closes. The client does not half-close: node's server would end the
 * connection at the client's FIN, before answers still being written (a
 * write's answer waits for its fsync).
 */
function raw(bytes: string | Buffer, to = port): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(to, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

async function ready(): Promise<number> {
  return ((await t.http.get('/v1/queues/q')).body as { stats: { ready: number } }).stats.ready;
}

describe('bytes that are not UTF-8 are refused, never stored altered', () => {
  const BAD = Buffer.from([0xff, 0xfe]);
  /** A request as bytes: the head's lines, then the body (a string is UTF-8; a Buffer as it is). */
  const request = (head: Array<string | Buffer>, body: Array<string | Buffer>): Buffer => {
    const bytes = Buffer.concat(body.map((part) => Buffer.from(part)));
    const lines = [...head, 'Host: 127.0.0.1', 'Connection: close', `Content-Length: ${bytes.length}`, '', ''];
    return Buffer.concat([...lines.flatMap((line) => [Buffer.from(line), Buffer.from('\r\n')]).slice(0, -1), bytes]);
  };
  const problem = (answer: string): { status: number; code: string; errors?: unknown } => {
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { status: number; code: string; errors?: unknown };
    return { status: Number(answer.split(' ')[1]), code: body.code, ...(body.errors === undefined ? {} : { errors: body.errors }) };
  };

  test('inside a JSON string (a value, a text value, a header, a key, an idempotency key) → 400 malformed_json', async () => {
    const json = ['POST /v1/queues/q/messages HTTP/1.1', 'Content-Type: application/json'];
    for (const body of [
      ['{"messages":[{"value":"', BAD, '"}]}'],
      ['{"messages":[{"value":"', BAD, '","valueEncoding":"text"}]}'],
      ['{"messages":[{"value":"ok","headers":{"h":"', BAD, '"}}]}'],
      ['{"messages":[{"value":"ok","headers":{"', BAD, '":"v"}}]}'],
      ['{"messages":[{"value":"ok","key":"k', BAD, '"}]}'],
      ['{"messages":[{"value":"ok","idempotencyKey":"', BAD, '"}]}'],
    ]) {
      const answer = await raw(request(json, body));
      expect({ body: body.join(''), ...problem(answer) }).toEqual({ body: body.join(''), status: 400, code: 'malformed_json' });
      expect(answer).toContain('not valid UTF-8');
    }
    expect(await ready()).toBe(1);
  });

  test('in a header or query parameter that becomes message data → 422 validation_failed pointing at it', async () => {
    await t.http.put('/v1/topics/t').send({});
    const rawProduce = (path: string, header: Array<string | Buffer>): Buffer =>
      request([`POST ${path} HTTP/1.1`, 'Content-Type: text/plain', Buffer.concat(header.map((part) => Buffer.from(part)))], ['x']);
    const cases: Array<[Buffer, string]> = [
      [rawProduce('/v1/queues/q/messages', ['Mqgate-Header-Source: shop', BAD]), '/headers/mqgate-header-source'],
      [rawProduce('/v1/queues/q/messages', ['SOAPAction: "urn:', BAD, '"']), '/headers/soapaction'],
      [rawProduce('/v1/queues/q/messages', ['Mqgate-Group: ', BAD]), '/headers/mqgate-group'],
      [rawProduce('/v1/queues/q/messages', ['Idempotency-Key: ', BAD]), '/headers/idempotency-key'],
      [rawProduce('/v1/topics/t/messages?key=%FF%FE', ['X-Any: 1']), '/query/key'],
    ];
    for (const [bytes, pointer] of cases) {
      expect(problem(await raw(bytes))).toEqual({ status: 422, code: 'validation_failed', errors: [{ pointer, detail: 'is not valid UTF-8' }] });
    }
    expect(await ready()).toBe(1);
    expect(((await t.http.get('/v1/topics/t')).body as { stats: { partitions: Array<{ endOffset: number }> } }).stats.partitions[0].endOffset).toBe(0);
  });
});

test('HTTP the parser refuses is answered with problem+json, never node bare answer', async () => {
  const garbled = await raw('GET /v1/queues HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n');
  expect(garbled).toMatch(/^HTTP\/1.1 400 Bad Request\r\nContent-Type: application\/problem\+json/);
  expect(garbled).toContain('"code":"bad_request"');
  const big = await raw(`GET /v1/queues HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  expect(big).toMatch(/^HTTP\/1.1 431 [^\r]*\r\nContent-Type: application\/problem\+json[\s\S]*"code":"headers_too_large"/);
  const expect417 = await raw('GET /v1/queues HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: bogus\r\n\r\n');
  expect(expect417).toMatch(/^HTTP\/1.1 417 [\s\S]*"code":"expectation_failed"/);
  expect((await raw('GET /v1/queues HTTP/1.1\r\nConnection: close\r\n\r\n')).startsWith('HTTP/1.1 200 OK')).toBe(true);
});

describe('a request that stalls is answered 408 request_timeout, and a long-poll is not a stalled request', () => {
  let slow: Server;
  let slowPort: number;
  beforeEach(async () => {
    slow = await listen(t.app, 0, '127.0.0.1', { requestMs: 400, headersMs: 200 });
    slowPort = (slow.address() as AddressInfo).port;
  });
  afterEach(() => {
    slow.close();
  });
  /** Sends bytes and never more; resolves with all the server answers once it closes the connection. */
  const stall = (bytes: string): Promise<string> => raw(bytes, slowPort);
  const TIMED_OUT = /^HTTP\/1.1 408 Request Timeout\r\nContent-Type: application\/problem\+json[\s\S]*"code":"request_timeout"/;

  test('a body that stops arriving, and headers that never end', async () => {
    const body = await stall('POST /v1/queues/q/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nab');
    expect(body).toMatch(TIMED_OUT);
    expect(await stall('POST /v1/queues/q/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty')).toMatch(TIMED_OUT);
    expect(await ready()).toBe(1);
    expect(t.internalErrors).toEqual([]);
  });

  test('a fetch waiting longer than the request timeout is answered when a message comes', async () => {
    await t.http.put('/v1/queues/empty').send({});
    const body = JSON.stringify({ waitMs: 20_000 });
    const waiting = raw(
      `POST /v1/queues/empty/fetch HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      slowPort,
    );
    // A stalled request on another connection times out: the request timeout has passed for the waiting fetch too.
    expect(await stall('POST /v1/queues/q/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\n')).toMatch(TIMED_OUT);
    await t.http.post('/v1/queues/empty/messages').send({ messages: [{ value: 'late' }] });
    const answer = await waiting;
    expect(answer).toMatch(/^HTTP\/1.1 200 OK/);
    expect(answer).toContain('"value":"late"');
  });
});

test('a broken body on an operation that takes none is refused before the operation runs', async () => {
  const purge = await raw('POST /v1/queues/q/purge HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n');
  expect(purge).toMatch(/^HTTP\/1.1 400 [\s\S]*"code":"bad_request"/);
  expect(await ready()).toBe(1);
  // Bytes after a whole request are a second, broken request: the first is answered first, then the problem.
  const deleted = await raw('DELETE /v1/queues/q HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n{}');
  expect(deleted).toMatch(/^HTTP\/1.1 204 No Content[\s\S]*HTTP\/1.1 400 Bad Request[\s\S]*"code":"bad_request"/);
});

test('no conditional answers: If-None-Match: * still gets the 200 and its body', async () => {
  const res = await t.http.get('/v1/queues').set('If-None-Match', '*');
  expect(res.status).toBe(200);
  expect((res.body as { queues: unknown[] }).queues).toHaveLength(1);
});

test('numbers past what the store holds exactly, and repeated partitions in a seek, are 422 validation_failed', async () => {
  for (const body of [{ retentionMs: 1e21 }, { retentionBytes: 9223372036854775807 }, { maxStoredMessages: 1e300 }]) {
    const res = await t.http.put('/v1/topics/t').send(body);
    expect({ body, status: res.status, code: (res.body as { code: string }).code }).toEqual({ body, status: 422, code: 'validation_failed' });
  }
  await t.http.put('/v1/topics/t').send({ partitions: 2 });
  await t.http.put('/v1/topics/t/groups/g').send({});
  const seek = await t.http.post('/v1/topics/t/groups/g/seek').send({ to: 'latest', partitions: [1, 1] });
  expect(seek.status).toBe(422);
  expect(t.internalErrors).toEqual([]);
});

test('a fetch asking for more than the batch limit is refused, not clamped; a default above a lowered limit becomes the limit', async () => {
  const small = testGateway({ limits: { maxBatchMessages: 2 } });
  try {
    await small.http.put('/v1/queues/q').send({});
    await small.http.post('/v1/queues/q/messages').send({ messages: [{ value: 1 }, { value: 2 }] });
    await small.http.post('/v1/queues/q/messages').send({ messages: [{ value: 3 }] });
    const refused = await small.http.post('/v1/queues/q/fetch').send({ max: 10 });
    expect({ status: refused.status, body: refused.body as object }).toMatchObject({
      status: 422,
      body: { code: 'validation_failed', errors: [{ pointer: '/body/max', detail: 'must be <= 2' }] },
    });
    const res = await small.http.post('/v1/queues/q/fetch').send({ max: 2 });
    expect(res.status).toBe(200);
    expect((res.body as { messages: unknown[] }).messages).toHaveLength(2);
    await small.http.put('/v1/topics/t').send({});
    expect((await small.http.get('/v1/topics/t/partitions/0/messages?offset=0')).status).toBe(200);
  } finally {
    await disposeTestGateway(small);
  }
});

test('a produce past a queue quota is 429 quota_exceeded with Retry-After, nothing stored, nothing logged as internal', async () => {
  await t.http.put('/v1/queues/small').send({ maxStoredMessages: 1 });
  expect((await t.http.post('/v1/queues/small/messages').send({ messages: [{ value: 1 }] })).status).toBe(201);
  const refused = await t.http.post('/v1/queues/small/messages').set('Content-Type', 'text/plain').send('two');
  expect(refused.status).toBe(429);
  expect(refused.headers['retry-after']).toBe('1');
  expect(refused.body).toMatchObject({ code: 'quota_exceeded' });
  expect(((await t.http.get('/v1/queues/small')).body as { stats: { ready: number } }).stats.ready).toBe(1);
  expect(t.internalErrors).toEqual([]);
});

test('pipelined: a whole request still in progress is answered before the problem of a broken one after it', async () => {
  const body = JSON.stringify({ waitMs: 300 });
  const answer = await raw(
    `POST /v1/queues/q/fetch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      'POST /v1/queues/q/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n',
  );
  expect(answer).toMatch(/^HTTP\/1.1 200 OK[\s\S]*"value":"kept"[\s\S]*HTTP\/1.1 400 Bad Request[\s\S]*"code":"bad_request"/);
  expect(await ready()).toBe(0);
  expect(((await t.http.get('/v1/queues/q')).body as { stats: { inFlight: number } }).stats.inFlight).toBe(1);
});

test('after a HEAD, a broken request on the same connection still gets its problem body', async () => {
  const answer = await raw('HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /v1/queues HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n');
  expect(answer).toMatch(/^HTTP\/1.1 200 OK[\s\S]*HTTP\/1.1 400 Bad Request[\s\S]*\r\n\r\n\{"type":"urn:mqgate:problem:bad_request"/);
});
