import fs from 'node:fs';
import path from 'node:path';
import { DATABASE_FILE } from '../persistence/sqlite/sqliteStore';
import { killChildGateways, startChildGateway } from './support/childGateway';
import { openAsLeft } from './support/crashLoadStore';
import { tempDir } from './support/testGateway';

const N = 400;
// The write-ahead log's layout (sqlite.org/fileformat.html#the_write_ahead_log): a header, then frames of one page each.
const WAL_HEADER_BYTES = 32;
const WAL_FRAME_HEADER_BYTES = 24;

afterEach(killChildGateways);

async function json(url: string, method: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

test(`a 2xx produce survives SIGKILL: ${N} concurrent produces, killed at the last 2xx, all there exactly once`, async () => {
  const dataDir = tempDir();
  const first = await startChildGateway(dataDir);
  expect((await json(`${first.url}/v1/queues/crash`, 'PUT', {})).status).toBe(201);

  let acknowledged = 0;
  const produced = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const res = await json(`${first.url}/v1/queues/crash/messages`, 'POST', { messages: [{ value: { i } }] });
      expect(res.status).toBe(201);
      acknowledged += 1;
      // The moment the last 2xx arrives: no chance for a later checkpoint or a clean close.
      if (acknowledged === N) first.process.kill('SIGKILL');
      return i;
    }),
  );
  expect(await first.exited).toBe('SIGKILL');

  // The files as the crash left them are consistent, and the log holds
  // frames, which the next gateway has to recover. Read-only, the check
  // leaves the log as it is: a read-write close would checkpoint it into the
  // database and delete it, and the restart would have nothing to recover.
  const walFile = path.join(dataDir, `${DATABASE_FILE}-wal`);
  const log = fs.readFileSync(walFile);
  const db = openAsLeft(dataDir);
  expect(log.length).toBeGreaterThanOrEqual(WAL_HEADER_BYTES + WAL_FRAME_HEADER_BYTES + (db.pragma('page_size', { simple: true }) as number));
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  db.close();
  expect(fs.readFileSync(walFile).equals(log)).toBe(true);

  const second = await startChildGateway(dataDir);
  const fetched = await json(`${second.url}/v1/queues/crash/fetch`, 'POST', { max: 1000 });
  const values = (fetched.body as { messages: Array<{ value: { i: number } }> }).messages.map((m) => m.value.i);
  expect(values.sort((a, b) => a - b)).toEqual(produced);
  second.process.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('SIGTERM answers a waiting long-poll and exits 0', async () => {
  const dataDir = tempDir();
  const gateway = await startChildGateway(dataDir);
  await json(`${gateway.url}/v1/queues/idle`, 'PUT', {});
  const waiting = json(`${gateway.url}/v1/queues/idle/fetch`, 'POST', { waitMs: 20_000 });
  // Let the fetch reach the server and start waiting before the signal.
  await json(`${gateway.url}/v1/queues/idle`, 'GET');
  gateway.process.kill('SIGTERM');
  expect(await waiting).toEqual({ status: 200, body: { messages: [] } });
  expect(await gateway.exited).toBe(0);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('committed offsets, groups, subscriptions and leases survive a SIGKILL and restart', async () => {
  const dataDir = tempDir();
  const first = await startChildGateway(dataDir);
  const topic = `${first.url}/v1/topics/ledger`;
  expect((await json(topic, 'PUT', { partitions: 4 })).status).toBe(201);
  expect((await json(`${topic}/groups/g`, 'PUT', { resetPolicy: 'earliest' })).status).toBe(201);
  expect((await json(`${topic}/subscriptions/s`, 'PUT', { visibilityTimeoutMs: 600_000 })).status).toBe(201);
  const messages = Array.from({ length: 200 }, (_, i) => ({ value: i, key: `k${i}` }));
  expect((await json(`${topic}/messages`, 'POST', { messages })).status).toBe(201);
  const fetched = await json(`${topic}/groups/g/fetch`, 'POST', { max: 120 });
  expect((fetched.body as { messages: unknown[] }).messages).toHaveLength(120);
  expect((await json(`${topic}/groups/g/commit`, 'POST', {})).status).toBe(200);
  expect((await json(`${topic}/subscriptions/s/fetch`, 'POST', { max: 50 })).status).toBe(200);
  const group = await json(`${topic}/groups/g`, 'GET');
  const subscription = await json(`${topic}/subscriptions/s`, 'GET');
  first.process.kill('SIGKILL');
  await first.exited;

  const second = await startChildGateway(dataDir);
  const again = `${second.url}/v1/topics/ledger`;
  expect(await json(`${again}/groups/g`, 'GET')).toEqual(group);
  // The age of the oldest ready message moves with the wall clock; everything else is as it was.
  const { stats, ...settings } = subscription.body as { stats: Record<string, unknown> };
  expect((await json(`${again}/subscriptions/s`, 'GET')).body).toEqual({
    ...settings,
    stats: { ...stats, oldestReadyAgeMs: expect.any(Number) },
  });
  expect((subscription.body as { stats: { inFlight: number } }).stats.inFlight).toBe(50);
  const rest = await json(`${again}/groups/g/fetch`, 'POST', { max: 1000 });
  expect((rest.body as { messages: unknown[] }).messages).toHaveLength(80);
  second.process.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  fs.rmSync(dataDir, { recursive: true, force: true });
});
