import path from 'node:path';
import Database from 'better-sqlite3';
import { DATABASE_FILE } from '../persistence/sqlite/sqliteStore';
import { call } from './support/specResponses';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';
import { sqliteStoreOf } from './support/testStore';

let t: TestGateway;

beforeEach(() => {
  t = testGateway();
});
afterEach(() => disposeTestGateway(t));

test('/healthz: the process is alive; /readyz: a write commits and the schema is current', async () => {
  expect((await call('getHealth', t.http.get('/healthz'))).body).toEqual({ status: 'ok' });
  const commits = sqliteStoreOf(t).commitStats.commits;
  expect((await call('getReady', t.http.get('/readyz'))).body).toEqual({ status: 'ready' });
  expect(sqliteStoreOf(t).commitStats.commits).toBe(commits + 1);
});

test('/readyz is 503 not_ready with Retry-After while a migration is missing, and ready again once it is there', async () => {
  const db = new Database(path.join(t.dataDir, DATABASE_FILE));
  const row = db.prepare('SELECT version, name, applied_at FROM schema_migrations WHERE version = 4').get() as Record<string, unknown>;
  db.prepare('DELETE FROM schema_migrations WHERE version = 4').run();
  const missing = await call('getReady', t.http.get('/readyz'));
  expect(missing.status).toBe(503);
  expect(missing.headers['retry-after']).toBe('1');
  expect(missing.body).toMatchObject({ code: 'not_ready', detail: '1 schema migration(s) are not applied.' });
  db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @applied_at)').run(row);
  db.close();
  expect((await call('getReady', t.http.get('/readyz'))).status).toBe(200);
});

test('/readyz is 503 not_ready once shutdown has begun, while /healthz stays ok', async () => {
  t.shutDown();
  const res = await call('getReady', t.http.get('/readyz'));
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({ code: 'not_ready', detail: 'The gateway is shutting down.' });
  expect((await t.http.get('/healthz')).status).toBe(200);
});
