import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { killChildGateways, startChildGateway } from './support/childGateway';
import { disposeTestGateway, tempDir, type TestGateway, testGateway } from './support/testGateway';

// The request bodies held at once are bounded (maxBodyBytesInFlight): past the
// budget a request is refused 503 overloaded without its body being read, and
// nothing it carried is stored. Other requests keep being served.

const BUDGET = 64 * 1024;

let t: TestGateway;
let server: http.Server;
let port: number;

beforeEach(async () => {
  t = testGateway({ limits: { maxBodyBytesInFlight: BUDGET } });
  await t.http.put('/v1/queues/q').send({});
  server = http.createServer(t.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await disposeTestGateway(t);
  killChildGateways();
});

/** A raw HTTP/1.1 exchange on its own socket: `head` written now, the body whenever the test says. */
function upload(head: string): { socket: net.Socket; answer: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(head);
  const answer = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('close', () => resolve(text));
    socket.on('error', () => undefined);
  });
  return { socket, answer };
}

function head(length: number | 'chunked', path = '/v1/queues/q/messages'): string {
  const framing = length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`;
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n${framing}\r\n\r\n`;
}

async function stored(): Promise<number> {
  return (await t.http.get('/v1/queues/q')).body.stats.produced as number;
}

test('a declared body past the budget is refused 503 overloaded before it is read; others are served meanwhile', async () => {
  // Holds 60 KiB of the 64: its body arrives later.
  const slow = upload(head(60 * 1024));
  await untilHeld();

  const refused = upload(head(8 * 1024));
  const answer = await refused.answer;
  expect(answer).toMatch(/^HTTP\/1\.1 503 /);
  expect(answer).toMatch(/\r\nRetry-After: 1\r\n/i);
  expect(answer).toContain('"code":"overloaded"');

  // Requests without a body, and small ones within what is left, are served.
  expect((await t.http.get('/v1/queues')).status).toBe(200);
  expect((await t.http.post('/v1/queues/q/messages').type('text/plain').send('small')).status).toBe(201);

  // Written, not ended: node's server drops a connection whose client half-closes before the answer.
  slow.socket.write(Buffer.alloc(60 * 1024, 'a'));
  expect(await slow.answer).toMatch(/^HTTP\/1\.1 201 /);
  expect(await stored()).toBe(2);
  // The budget is free again: the refused one goes through now.
  const retried = upload(head(8 * 1024));
  retried.socket.write(Buffer.alloc(8 * 1024, 'b'));
  expect(await retried.answer).toMatch(/^HTTP\/1\.1 201 /);
});

test('a chunked body is refused as soon as its bytes pass the budget, and nothing is stored', async () => {
  const chunked = upload(head('chunked'));
  const chunk = Buffer.alloc(16 * 1024, 'c');
  for (let i = 0; i < 5; i++) chunked.socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString('latin1')}\r\n`);
  chunked.socket.write('0\r\n\r\n');
  const answer = await chunked.answer;
  expect(answer).toMatch(/^HTTP\/1\.1 503 /);
  expect(answer).toContain('"code":"overloaded"');
  expect(await stored()).toBe(0);
  expect((await t.http.post('/v1/queues/q/messages').type('text/plain').send('after')).status).toBe(201);
});

test('a raw body declaring more than the largest message is refused 413 before a byte of it is sent', async () => {
  const early = upload(head(2 * 1024 * 1024));
  const answer = await early.answer;
  expect(answer).toMatch(/^HTTP\/1\.1 413 /);
  expect(answer).toContain('"code":"message_too_large"');
  // A JSON batch is not one message: its limit is the batch's.
  const batch = await t.http.post('/v1/queues/q/messages').send({ messages: [{ value: 'x'.repeat(1000) }] });
  expect(batch.status).toBe(201);
});

test("a raw body over its queue's or topic's own limit, or to one that does not exist, is refused before it is sent", async () => {
  await t.http.put('/v1/queues/small').send({ maxMessageBytes: 70_000 });
  await t.http.put('/v1/topics/events').send({ maxMessageBytes: 70_000 });
  for (const path of ['/v1/queues/small/messages', '/v1/queues/small/requests', '/v1/topics/events/messages']) {
    const answer = await upload(head(80 * 1024, path)).answer;
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/accepts messages of at most 70000[^]*"code":"message_too_large"/);
  }
  const missing = await upload(head(80 * 1024, '/v1/queues/ghost/messages')).answer;
  expect(missing).toMatch(/^HTTP\/1\.1 404 [^]*"code":"queue_not_found"/);
  expect((await t.http.post('/v1/queues/small/messages').type('application/octet-stream').send(Buffer.alloc(60 * 1024))).status).toBe(201);
});

test('a body longer than the server reads at all is refused 413 as before, taking nothing from the budget', async () => {
  await disposeTestGateway(t);
  t = testGateway({ limits: { maxBodyBytesInFlight: BUDGET, maxBatchBytes: 32 * 1024 } });
  const res = await t.http.post('/v1/queues/q/messages').type('application/octet-stream').send(Buffer.alloc(100 * 1024));
  expect(res.status).toBe(413);
  expect(res.body.code).toBe('payload_too_large');
});

/** Waits until the slow upload holds its part of the budget: an 8 KiB probe (to no queue: nothing is stored) is refused. */
async function untilHeld(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const probe = await t.http.post('/v1/queues/nowhere/messages').type('application/octet-stream').send(Buffer.alloc(8 * 1024));
    if (probe.status === 503) return;
    expect(probe.status).toBe(404);
  }
  throw new Error('the slow upload never took its part of the budget');
}

test('many concurrent large uploads to a gateway process: memory stays within the budget, every upload is answered, health is served', async () => {
  const dataDir = tempDir();
  const budget = 32 * 1024 * 1024;
  const gateway = await startChildGateway(dataDir, ['--max-body-bytes-in-flight', String(budget)]);
  try {
    const pid = gateway.process.pid as number;
    const url = new URL(gateway.url);
    await fetch(`${gateway.url}/v1/queues/big`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    const before = residentKiB(pid, 'VmRSS');
    // Read whole before they are refused: JSON (a raw body this large is refused unread), and not JSON at all.
    const body = Buffer.alloc(8 * 1024 * 1024, 'x');
    const agent = new http.Agent({ maxSockets: 100 });
    const send = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = http.request(
          { host: url.hostname, port: url.port, method: 'POST', path: '/v1/queues/big/messages', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        // A refused upload's connection may close while its body is still going out: it was answered first.
        req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(-1) : reject(error)));
        req.end(body);
      });
    const health: number[] = [];
    let uploading = true;
    const probing = (async () => {
      while (uploading) {
        health.push((await fetch(`${gateway.url}/healthz`)).status);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const statuses = await Promise.all(Array.from({ length: 60 }, send));
    uploading = false;
    await probing;
    agent.destroy();
    const peak = residentKiB(pid, 'VmHWM');
    // The budget plus a fixed allowance for buffers in flight and the heap's own growth.
    expect((peak - before) * 1024).toBeLessThan(budget + 96 * 1024 * 1024);
    // Each is read and refused as malformed (400), or refused for the budget unread (503): none stored, none lost.
    expect(statuses.filter((s) => s !== 400 && s !== 503 && s !== -1)).toEqual([]);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(health.length).toBeGreaterThan(0);
    expect(health.every((s) => s === 200)).toBe(true);
  } finally {
    gateway.process.kill('SIGTERM');
    await gateway.exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

/** A line of /proc/<pid>/status, in KiB: VmRSS now, VmHWM its peak. */
function residentKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return Number(/(\d+)/.exec(line ?? '')?.[1]);
}
