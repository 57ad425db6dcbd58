import { type ChildGateway, killChildGateways, startChildGateway } from './support/childGateway';
import { type CliResult, killCliProcesses, runCli } from './support/cliProcess';
import { polled } from './support/receiver';
import { tempDir } from './support/testGateway';
import { createTestDatabase, freshSchemaUrl, type TestDatabase } from './support/testPostgres';

/**
 * API keys kept in the PostgreSQL store (keysInStore): gateway processes over
 * one schema, keys added and revoked with the CLI, and every gateway acting on
 * them within its keys watch interval.
 */

// Each test starts gateway processes and CLI runs.
jest.setTimeout(60_000);

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());
afterEach(() => {
  killChildGateways();
  killCliProcesses();
});

/** The gateways' keys watch interval: how often each reads the stored keys. */
const WATCH_MS = 200;
/**
 * How long a change may take to be in force on a gateway: the interval and
 * one read, with room for a loaded machine.
 */
const BOUND_MS = 5000;

const startGateway = (store: string, extra: string[] = []): Promise<ChildGateway> =>
  startChildGateway(tempDir(), ['--store', store, '--keys-in-store', 'true', '--keys-watch-interval-ms', String(WATCH_MS), ...extra]);

/** Runs `mqgate keys …`; `--store` from MQGATE_STORE unless the arguments give it. */
const keysCommand = (args: string[], store?: string): Promise<CliResult> =>
  runCli(['keys', ...args], store === undefined ? {} : { env: { MQGATE_STORE: store } });

/** A key made by `mqgate keys create --store`, and its id. */
async function createKey(store: string, scopes: string[]): Promise<{ key: string; id: string }> {
  const result = await keysCommand(['create', '--name', 'orders', '--scope', ...scopes, '--store', store]);
  expect(result.code).toBe(0);
  const key = result.stdout.trim();
  expect(key).toMatch(/^mqg_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  const id = key.slice(4, 16);
  expect(result.stderr).toContain(`Added key ${id} (orders) to the store at`);
  return { key, id };
}

const statusWith = async (gateway: ChildGateway, key: string | null): Promise<number> =>
  (await fetch(`${gateway.url}/v1/queues`, { headers: key === null ? {} : { Authorization: `Bearer ${key}` } })).status;

/** Waits until every gateway answers a request with `key` with `status`, failing past BOUND_MS. */
async function everyGatewayAnswers(gateways: ChildGateway[], key: string, status: number): Promise<void> {
  await Promise.all(gateways.map((gateway) => polled(async () => (await statusWith(gateway, key)) === status, BOUND_MS)));
  expect(await Promise.all(gateways.map((gateway) => statusWith(gateway, key)))).toEqual(gateways.map(() => status));
}

describe('two gateways keeping their keys in one store', () => {
  let store: string;
  let gateways: [ChildGateway, ChildGateway];

  beforeEach(async () => {
    store = await freshSchemaUrl(database.url, 'keys');
    gateways = [await startGateway(store), await startGateway(store)];
  });

  test('a key created with the CLI into the store is let in by both within the bound; revoked with the CLI, refused by both', async () => {
    const { key, id } = await createKey(store, ['*:queues/orders-*']);
    await everyGatewayAnswers(gateways, key, 200);
    expect((await fetch(`${gateways[1].url}/v1/queues/orders-1`, { method: 'PUT', headers: { Authorization: `Bearer ${key}` } })).status).toBe(201);

    // The store from MQGATE_STORE this time.
    const revoked = await keysCommand(['revoke', id], store);
    expect([revoked.code, revoked.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^Revoked key ${id}: removed from the store at `))]);
    await everyGatewayAnswers(gateways, key, 401);
  });

  test('a long-poll waiting on one gateway with a key revoked through the store is answered 401 at once', async () => {
    const { key, id } = await createKey(store, ['*:queues/orders-*']);
    await everyGatewayAnswers(gateways, key, 200);
    const [a, b] = gateways;
    const headers = { Authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    expect((await fetch(`${a.url}/v1/queues/orders-1`, { method: 'PUT', headers, body: '{}' })).status).toBe(201);
    const waitMs = 20_000;
    const started = Date.now();
    const polling = fetch(`${b.url}/v1/queues/orders-1/fetch`, { method: 'POST', headers, body: JSON.stringify({ waitMs }) });

    expect((await keysCommand(['revoke', id, '--store', store])).code).toBe(0);
    const answer = await polling;
    const elapsed = Date.now() - started;
    // What a request that was waiting is answered; one that came after the revocation would be told the key is not valid.
    expect([answer.status, ((await answer.json()) as { detail: string }).detail]).toEqual([401, 'The API key was revoked while this request waited.']);
    expect(elapsed).toBeLessThan(waitMs / 4);
  });

  test('revoking a key the store does not have exits 1, saying so, and revokes nothing', async () => {
    const { key } = await createKey(store, ['*:queues/orders-*']);
    const result = await keysCommand(['revoke', '0123456789ab', '--store', store]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no key 0123456789ab in the store at .*: nothing revoked/);
    await everyGatewayAnswers(gateways, key, 200);
  });
});

test('a gateway keeping its keys in an empty store requires a key: it refuses every request, and never runs open', async () => {
  const store = await freshSchemaUrl(database.url, 'keys');
  // Beyond loopback without allowUnauthenticated: a gateway that runs open would refuse to start.
  const gateway = await startGateway(store, ['--host', '0.0.0.0']);
  const local = { ...gateway, url: gateway.url.replace('0.0.0.0', '127.0.0.1') };
  expect(await statusWith(local, null)).toBe(401);
  expect(await statusWith(local, `mqg_0123456789ab_${'a'.repeat(43)}`)).toBe(401);
  const { key } = await createKey(store, ['*:*']);
  await everyGatewayAnswers([local], key, 200);
});
