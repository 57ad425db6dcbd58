import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DATABASE_FILE } from '../persistence/sqlite/sqliteStore';
import { interpretError } from '../persistence/sqlite/interpretError';
import { call } from './support/specResponses';
import { disposeTestGateway, type TestGateway, tempDir, testGateway } from './support/testGateway';

const MAX_STORAGE = 512 * 1024;
let t: TestGateway;

beforeEach(() => {
  t = testGateway({ dataDir: tempDir(), maxStorageBytes: MAX_STORAGE });
});
afterEach(() => disposeTestGateway(t));

const value = 'x'.repeat(16 * 1024);

function produce(queue: string): Promise<import('supertest').Response> {
  return call('produceMessages', t.http.post(`/v1/queues/${queue}/messages`).send({ messages: [{ value }] }));
}

test('a full store refuses produce with 507 storage_full, keeps serving reads and acks, and takes writes again once acks free space', async () => {
  await t.http.put('/v1/queues/q').send({});
  let stored = 0;
  let refused = await produce('q');
  while (refused.status === 201) {
    stored += 1;
    refused = await produce('q');
  }
  expect(stored).toBeGreaterThan(10);
  expect(refused.status).toBe(507);
  expect(refused.body).toMatchObject({ code: 'storage_full' });
  expect(refused.text).not.toMatch(/SQLITE|database or disk/i);
  // The operator's log hears of it; the client gets the code only.
  expect(t.internalErrors.map((e) => e.code)).toEqual(['storage_full']);

  // Reads and acks of what is stored go on.
  expect((await call('getQueue', t.http.get('/v1/queues/q'))).body).toMatchObject({ stats: { ready: stored } });
  const fetched = await call('fetchMessages', t.http.post('/v1/queues/q/fetch').send({ max: 1000 }));
  const receipts = (fetched.body as { messages: Array<{ receipt: string; value: string }> }).messages.map((m) => m.receipt);
  expect(receipts).toHaveLength(stored);
  const acked = await call('ackMessages', t.http.post('/v1/queues/q/ack').send({ receipts: receipts.slice(0, 10) }));
  expect((acked.body as { results: Array<{ status: string }> }).results.every((r) => r.status === 'acked')).toBe(true);

  // The freed pages take new messages; nothing stored before was lost or damaged.
  expect((await produce('q')).status).toBe(201);
  expect((await call('getQueue', t.http.get('/v1/queues/q'))).body).toMatchObject({ stats: { ready: 1, inFlight: stored - 10 } });
  const db = new Database(path.join(t.dataDir, DATABASE_FILE), { readonly: true });
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  db.close();
  expect(fs.statSync(path.join(t.dataDir, DATABASE_FILE)).size).toBeLessThanOrEqual(MAX_STORAGE);
});

test('a store that cannot write at all is storage_unavailable (503, with Retry-After), never the driver text', () => {
  // The driver's error for a read-only file, by shape: a real read-only mount cannot be made in a test run as root.
  const readOnly = Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY_DBMOVED' });
  expect(interpretError(readOnly)).toMatchObject({ code: 'storage_unavailable', message: expect.not.stringContaining('readonly') });
  const ioError = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
  expect(interpretError(ioError)).toMatchObject({ code: 'storage_unavailable' });
});
