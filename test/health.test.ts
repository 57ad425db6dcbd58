import { call } from './support/specResponses';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';
import { commitStatsOf, forgetNewestMigration } from './support/testStore';

let t: TestGateway;

beforeEach(() => {
  t = testGateway();
});
afterEach(() => disposeTestGateway(t));

test('/healthz: the process is alive; /readyz: a write commits and the schema is current', async () => {
  expect((await call('getHealth', t.http.get('/healthz'))).body).toEqual({ status: 'ok' });
  const commits = commitStatsOf(t).commits;
  expect((await call('getReady', t.http.get('/readyz'))).body).toEqual({ status: 'ready' });
  expect(commitStatsOf(t).commits).toBe(commits + 1);
});

test('/readyz is 503 not_ready with Retry-After while a migration is missing, and ready again once it is there', async () => {
  await t.ready();
  const restore = await forgetNewestMigration(t.dataDir);
  const missing = await call('getReady', t.http.get('/readyz'));
  expect(missing.status).toBe(503);
  expect(missing.headers['retry-after']).toBe('1');
  expect(missing.body).toMatchObject({ code: 'not_ready', detail: '1 schema migration(s) are not applied.' });
  await restore();
  expect((await call('getReady', t.http.get('/readyz'))).status).toBe(200);
});

test('/readyz is 503 not_ready once shutdown has begun, while /healthz stays ok', async () => {
  t.shutDown();
  const res = await call('getReady', t.http.get('/readyz'));
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({ code: 'not_ready', detail: 'The gateway is shutting down.' });
  expect((await t.http.get('/healthz')).status).toBe(200);
});
