import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DATABASE_FILE } from '../persistence/sqlite/sqliteStore';
import { killChildGateways, startChildGateway } from './support/childGateway';
import { tempDir } from './support/testGateway';

afterEach(killChildGateways);

/** A produce whose body arrives in two parts, so it is in flight for as long as the test likes. */
function slowProduce(url: string, queue: string): { finish: () => void; answer: Promise<string> } {
  const { hostname, port } = new URL(url);
  const body = JSON.stringify({ messages: [{ value: 'sent during shutdown' }] });
  const socket = net.connect(Number(port), hostname);
  socket.write(
    `POST /v1/queues/${queue}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
  );
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  const answer = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
  return { finish: () => socket.write(body.slice(10)), answer };
}

function connects(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function put(url: string): Promise<void> {
  expect((await fetch(url, { method: 'PUT' })).status).toBe(201);
}

test('SIGTERM: no new connections, in-flight requests finish, long-polls answer, the WAL is checkpointed, exit 0', async () => {
  const dataDir = tempDir();
  const gateway = await startChildGateway(dataDir, ['--shutdown-timeout-ms', '10000']);
  await put(`${gateway.url}/v1/queues/q`);
  const waiting = fetch(`${gateway.url}/v1/queues/q/fetch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ waitMs: 20_000 }),
  });
  const produce = slowProduce(gateway.url, 'q');
  await fetch(`${gateway.url}/v1/queues/q`);
  gateway.process.kill('SIGTERM');

  const polled = await waiting;
  expect(polled.status).toBe(200);
  expect(await polled.json()).toEqual({ messages: [] });
  expect(await connects(gateway.url)).toBe(false);
  // The produce that was in flight when the signal came is still answered, and stored.
  produce.finish();
  expect(await produce.answer).toMatch(/^HTTP\/1.1 201 Created[\s\S]*"offset":0/);
  expect(await gateway.exited).toBe(0);
  const wal = path.join(dataDir, `${DATABASE_FILE}-wal`);
  expect(fs.existsSync(wal) ? fs.statSync(wal).size : 0).toBe(0);

  const again = await startChildGateway(dataDir);
  const fetched = await fetch(`${again.url}/v1/queues/q/fetch`, { method: 'POST' });
  expect(await fetched.json()).toMatchObject({ messages: [{ value: 'sent during shutdown' }] });
  again.process.kill('SIGTERM');
  expect(await again.exited).toBe(0);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('SIGTERM with a request that never completes still exits 0 within --shutdown-timeout-ms', async () => {
  const dataDir = tempDir();
  const gateway = await startChildGateway(dataDir, ['--shutdown-timeout-ms', '1000']);
  await put(`${gateway.url}/v1/queues/q`);
  const stuck = slowProduce(gateway.url, 'q');
  await fetch(`${gateway.url}/v1/queues/q`);
  const signalled = Date.now();
  gateway.process.kill('SIGTERM');
  expect(await gateway.exited).toBe(0);
  const took = Date.now() - signalled;
  expect(took).toBeGreaterThanOrEqual(900);
  // The bound plus process start-up slack on a loaded machine; a hang would take the test's whole timeout.
  expect(took).toBeLessThan(6000);
  expect(await stuck.answer).toBe('');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Reads a response's body as it comes: up to a pattern, then on to its end (which throws if the connection is cut first). */
function bodyReader(res: Response): { until: (pattern: RegExp) => Promise<string>; toEnd: () => Promise<string> } {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const more = async (): Promise<boolean> => {
    const { done, value } = await reader.read();
    if (!done) text += decoder.decode(value, { stream: true });
    return !done;
  };
  return {
    async until(pattern) {
      while (!pattern.test(text)) if (!(await more())) throw new Error(`the body ended before ${pattern}: ${text}`);
      return text;
    },
    async toEnd() {
      while (await more());
      return text;
    },
  };
}

/** The members of group g of topic t. */
async function members(url: string): Promise<unknown[]> {
  return ((await (await fetch(`${url}/v1/topics/t/groups/g`)).json()) as { members: unknown[] }).members;
}

test('SIGTERM ends open streams cleanly, a group stream leaving its group first; a stream resumed by Last-Event-ID on the restarted gateway goes on with the next message', async () => {
  const dataDir = tempDir();
  const gateway = await startChildGateway(dataDir, ['--shutdown-timeout-ms', '20000']);
  await put(`${gateway.url}/v1/topics/t`);
  const produce = async (url: string, values: string[]) => {
    const res = await fetch(`${url}/v1/topics/t/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: values.map((value) => ({ value, partition: 0 })) }),
    });
    expect(res.status).toBe(201);
  };
  await produce(gateway.url, ['a', 'b']);
  const created = await fetch(`${gateway.url}/v1/topics/t/groups/g`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ resetPolicy: 'earliest' }),
  });
  expect(created.status).toBe(201);
  const partition = bodyReader(await fetch(`${gateway.url}/v1/topics/t/partitions/0/stream?offset=0`));
  const group = bodyReader(await fetch(`${gateway.url}/v1/topics/t/groups/g/stream`));
  expect(await partition.until(/id: 0:1\n/)).toMatch(/^id: 0:0\nevent: message\ndata: .*"value":"a"/);
  expect(await group.until(/id: 0:1\n/)).toMatch(/^event: assignment\n/);
  expect(await members(gateway.url)).toHaveLength(1);
  const signalled = Date.now();
  gateway.process.kill('SIGTERM');
  // To their ends: each stream was ended by the gateway, not cut.
  await Promise.all([partition.toEnd(), group.toEnd()]);
  expect(await gateway.exited).toBe(0);
  // Without waiting out --shutdown-timeout-ms: nothing was left open.
  expect(Date.now() - signalled).toBeLessThan(10_000);

  const again = await startChildGateway(dataDir);
  expect(await members(again.url)).toEqual([]);
  await produce(again.url, ['c']);
  const resumed = bodyReader(await fetch(`${again.url}/v1/topics/t/partitions/0/stream`, { headers: { 'Last-Event-ID': '0:1' } }));
  expect(await resumed.until(/\n\n/)).toMatch(/^id: 0:2\nevent: message\ndata: .*"value":"c"/);
  again.process.kill('SIGTERM');
  await resumed.toEnd();
  expect(await again.exited).toBe(0);
  fs.rmSync(dataDir, { recursive: true, force: true });
});
