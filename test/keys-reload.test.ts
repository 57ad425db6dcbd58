import fs from 'node:fs';
import path from 'node:path';
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Response } from 'supertest';
import { loadConfig } from '../api/config';
import { generateKey, generateSqsSecret, type KeyLimits } from '../api/keys';
import { readKeysFile } from '../api/keysFile';
import { KeysReloader, keysFileSource } from '../api/keysReload';
import { createLogger } from '../api/logging';
import { type ChildGateway, killChildGateways, startChildGateway } from './support/childGateway';
import { polled } from './support/receiver';
import { call, until } from './support/specResponses';
import { sqsGateway } from './support/sqsGateway';
import { disposeTestGateway, type LogLine, type TestGateway, tempDir, testGateway } from './support/testGateway';

// Two tests start a gateway process.
jest.setTimeout(60_000);

/** A key as the keys file holds it, and the token a client sends. */
interface Key {
  token: string;
  entry: { id: string; name: string; hash: string; scopes: string[]; limits?: Partial<KeyLimits>; sqsSecret?: string };
}

function key(name: string, scopes: string[], limits?: Partial<KeyLimits>): Key {
  const { key: token, id, hash } = generateKey();
  return { token, entry: { id, name, hash, scopes, ...(limits === undefined ? {} : { limits }) } };
}

/** The same key (its token unchanged) with another name, other scopes or other limits. */
function edited(k: Key, change: Partial<Pick<Key['entry'], 'name' | 'scopes' | 'limits'>>): Key {
  return { token: k.token, entry: { ...k.entry, ...change } };
}

const bearer = (k: Key): { Authorization: string } => ({ Authorization: `Bearer ${k.token}` });

const ADMIN = key('admin', ['*:*']);

let dir: string;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(() => {
  dir = tempDir('mqgate-keys-reload-');
});
afterEach(async () => {
  killChildGateways();
  for (const cleanup of cleanups.splice(0)) await cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes a keys file as an operator would: these keys, or a text as it is (a broken file). Renamed into place, as a Kubernetes volume swaps it. */
function writeKeys(file: string, keys: Key[] | string): void {
  const text = typeof keys === 'string' ? keys : JSON.stringify({ keys: keys.map((k) => k.entry) }, null, 2);
  fs.writeFileSync(`${file}.new`, text);
  fs.renameSync(`${file}.new`, file);
}

/** A test gateway (manual clock) started with the keys of its keys file, and what reloads that file into it, as SIGHUP or the watch would. */
interface Reloading {
  t: TestGateway;
  file: string;
  /** Writes the keys file, then reloads it. */
  reload(keys: Key[] | string): Promise<void>;
  /** Reloads the file as it is. */
  reloadFile(): Promise<void>;
  /** What the reloads logged. */
  logs: LogLine[];
}

function reloaderOf(t: TestGateway, file: string): Omit<Reloading, 't' | 'file'> {
  const logs: LogLine[] = [];
  const reloader = new KeysReloader({
    source: keysFileSource(file),
    inline: [],
    auth: t.auth,
    logger: createLogger('info', { write: (line: string) => logs.push(JSON.parse(line) as LogLine) }),
    metrics: t.metrics,
  });
  return {
    logs,
    reloadFile: () => reloader.reload('test'),
    reload: (keys) => {
      writeKeys(file, keys);
      return reloader.reload('test');
    },
  };
}

function keysFileOf(keys: Key[]): string {
  const file = path.join(dir, 'keys.json');
  writeKeys(file, keys);
  return file;
}

function reloading(keys: Key[]): Reloading {
  const file = keysFileOf(keys);
  const t = testGateway({ keys: readKeysFile(file) });
  cleanups.push(() => disposeTestGateway(t));
  return { t, file, ...reloaderOf(t, file) };
}

/** `mqgate_keys_reloads_total{result}` as /metrics shows it. */
async function reloadsCounted(t: TestGateway, result: 'ok' | 'failed'): Promise<number> {
  const res = await call('getMetrics', t.http.get('/metrics').set(bearer(ADMIN)));
  expect(res.status).toBe(200);
  const line = new RegExp(`^mqgate_keys_reloads_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(res.text);
  return line === null ? Number.NaN : Number(line[1]);
}

describe('a reload puts the keys file in force from the next request', () => {
  test('a key added to the file is let in after a reload; the reload logs what it added, removed and changed', async () => {
    const orders = key('orders', ['produce:queues/orders-*']);
    const { t, reload, logs } = reloading([ADMIN]);
    const produce = (k: Key) => call('produceMessages', t.http.post('/v1/queues/orders-1/messages').set(bearer(k)).send({ messages: [{ value: 1 }] }));
    expect((await t.http.put('/v1/queues/orders-1').set(bearer(ADMIN)).send({})).status).toBe(201);
    expect((await produce(orders)).status).toBe(401);

    await reload([edited(ADMIN, { name: 'ops' }), orders]);
    expect((await produce(orders)).status).toBe(201);
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'keys reloaded: 1 added, 0 removed, 1 changed',
        trigger: 'test',
        keys: 2,
        added: [orders.entry.id],
        removed: [],
        changed: [ADMIN.entry.id],
      }),
    ]);
    expect(await reloadsCounted(t, 'ok')).toBe(1);
    expect(await reloadsCounted(t, 'failed')).toBe(0);
  });

  test('a revoked key is refused on the next request, answered as an unknown key is; the other keys go on', async () => {
    const orders = key('orders', ['*:queues/orders-*']);
    const { t, reload, logs } = reloading([ADMIN, orders]);
    expect((await t.http.put('/v1/queues/orders-1').set(bearer(orders)).send({})).status).toBe(201);

    await reload([ADMIN]);
    const revoked = await call('getQueue', t.http.get('/v1/queues/orders-1').set(bearer(orders)));
    const unknown = await call('getQueue', t.http.get('/v1/queues/orders-1').set(bearer(key('never', ['*:*']))));
    expect([revoked.status, revoked.body.code, revoked.headers['www-authenticate']]).toEqual([
      unknown.status,
      unknown.body.code,
      unknown.headers['www-authenticate'],
    ]);
    expect([revoked.status, revoked.body.code]).toEqual([401, 'unauthorized']);
    expect((await t.http.get('/v1/queues/orders-1').set(bearer(ADMIN))).status).toBe(200);
    expect(logs).toEqual([expect.objectContaining({ msg: 'keys reloaded: 0 added, 1 removed, 0 changed', removed: [orders.entry.id] })]);
  });

  test('a file that lists no key any more refuses every request: a gateway that had keys never runs open', async () => {
    const { t, reload } = reloading([ADMIN]);
    await reload('keys: []\n');
    for (const headers of [{}, bearer(ADMIN)]) expect((await t.http.get('/v1/queues').set(headers)).status).toBe(401);
  });

  test('a gateway started without keys requires them once a reload brings its first', async () => {
    const { t, reload } = reloading([]);
    expect((await t.http.get('/v1/queues')).status).toBe(200);
    await reload([ADMIN]);
    expect((await t.http.get('/v1/queues')).status).toBe(401);
    expect((await t.http.get('/v1/queues').set(bearer(ADMIN))).status).toBe(200);
  });

  test('changed limits apply from the next request: request rates up and down, and long-polls per key', async () => {
    const fast = key('fast', ['*:*'], { requestsPerSecond: 1, longPolls: 1 });
    const slow = key('slow', ['*:*']);
    const { t, reload } = reloading([ADMIN, fast, slow]);
    const statuses = async (k: Key, times: number): Promise<number[]> => {
      const answers: number[] = [];
      for (let i = 0; i < times; i += 1) answers.push((await t.http.get('/v1/queues').set(bearer(k))).status);
      return answers;
    };
    expect(await statuses(fast, 2)).toEqual([200, 429]);
    expect(await statuses(slow, 2)).toEqual([200, 200]);

    await reload([ADMIN, edited(fast, { limits: { requestsPerSecond: 1000, longPolls: 2 } }), edited(slow, { limits: { requestsPerSecond: 1 } })]);
    expect(await statuses(fast, 2)).toEqual([200, 200]);
    expect(await statuses(slow, 2)).toEqual([200, 429]);

    // Two long-polls now where one was the most, and not three.
    expect((await t.http.put('/v1/queues/empty').set(bearer(ADMIN)).send({})).status).toBe(201);
    const fetch = () => t.http.post('/v1/queues/empty/fetch').set(bearer(fast)).send({ waitMs: 10_000 });
    const waiting = [fetch().then((res) => res), fetch().then((res) => res)];
    await until(() => t.wakeups.waiting === 2);
    const third = await fetch();
    expect([third.status, third.body.code]).toEqual([429, 'too_many_long_polls']);
    // A lower limit refuses the next long-poll and ends none of those waiting.
    await reload([ADMIN, edited(fast, { limits: { requestsPerSecond: 1000, longPolls: 1 } }), slow]);
    expect((await fetch()).status).toBe(429);
    expect(t.wakeups.waiting).toBe(2);
    t.clock.advance(10_000);
    expect((await Promise.all(waiting)).map((res) => [res.status, res.body.messages])).toEqual([
      [200, []],
      [200, []],
    ]);
  });
});

/** A long-poll of each kind, started with a key on resources `setUp` made, and how to tell it waits. */
interface LongPoll {
  operationId: string;
  setUp(t: TestGateway): Promise<void>;
  start(t: TestGateway, k: Key): Promise<Response>;
  waits(t: TestGateway): boolean;
}

const LONG_POLLS: Record<string, LongPoll> = {
  'a queue fetch': {
    operationId: 'fetchMessages',
    setUp: async (t) => void (await t.http.put('/v1/queues/orders-1').set(bearer(ADMIN)).send({})),
    start: (t, k) => t.http.post('/v1/queues/orders-1/fetch').set(bearer(k)).send({ waitMs: 20_000 }),
    waits: (t) => t.wakeups.waiting === 1,
  },
  'a group fetch': {
    operationId: 'fetchGroup',
    setUp: async (t) => {
      await t.http.put('/v1/topics/orders-t').set(bearer(ADMIN)).send({ partitions: 1 });
      await t.http.put('/v1/topics/orders-t/groups/g').set(bearer(ADMIN)).send({});
    },
    start: (t, k) => t.http.post('/v1/topics/orders-t/groups/g/fetch').set(bearer(k)).send({ waitMs: 20_000 }),
    waits: (t) => t.wakeups.waiting === 1,
  },
  'a partition read': {
    operationId: 'readPartition',
    setUp: async (t) => void (await t.http.put('/v1/topics/orders-t').set(bearer(ADMIN)).send({ partitions: 1 })),
    start: (t, k) => t.http.get('/v1/topics/orders-t/partitions/0/messages?waitMs=20000').set(bearer(k)),
    waits: (t) => t.wakeups.waiting === 1,
  },
  'a request awaiting its reply': {
    operationId: 'sendRequest',
    setUp: async (t) => void (await t.http.put('/v1/queues/orders-1').set(bearer(ADMIN)).send({})),
    start: (t, k) => t.http.post('/v1/queues/orders-1/requests?timeoutMs=60000').set(bearer(k)).type('text/plain').send('ping'),
    waits: (t) => t.replies.waiting === 1,
  },
};

describe('a long-poll waiting with a key a reload changes', () => {
  test.each(Object.keys(LONG_POLLS))('%s whose key is revoked is answered 401 at once, long before its wait is up', async (kind) => {
    const poll = LONG_POLLS[kind];
    const orders = key('orders', ['*:queues/orders-*', '*:topics/orders-*']);
    const { t, reload } = reloading([ADMIN, orders]);
    await poll.setUp(t);
    const answer = call(poll.operationId, poll.start(t, orders));
    await until(() => poll.waits(t));

    // The manual clock never moves: only the reload can end the wait.
    await reload([ADMIN]);
    const res = await answer;
    expect([res.status, res.body.code, res.body.detail]).toEqual([401, 'unauthorized', 'The API key was revoked while this request waited.']);
    expect(t.wakeups.waiting + t.replies.waiting).toBe(0);
  });

  test('a fetch ended by a revocation leases nothing: a message produced after it is there for the next fetch', async () => {
    const orders = key('orders', ['*:queues/orders-*']);
    const { t, reload } = reloading([ADMIN, orders]);
    const poll = LONG_POLLS['a queue fetch'];
    await poll.setUp(t);
    const answer = poll.start(t, orders).then((res) => res);
    await until(() => poll.waits(t));
    await reload([ADMIN]);
    expect((await answer).status).toBe(401);
    await t.http.post('/v1/queues/orders-1/messages').set(bearer(ADMIN)).send({ messages: [{ value: 'kept' }] });
    const next = await t.http.post('/v1/queues/orders-1/fetch').set(bearer(ADMIN)).send({});
    expect((next.body as { messages: Array<{ value: string }> }).messages.map((m) => m.value)).toEqual(['kept']);
  });

  test('whose key loses the scope it waits with is answered 403; one whose key keeps it waits on', async () => {
    const orders = key('orders', ['consume:queues/orders-*', 'produce:queues/*']);
    const { t, reload, logs } = reloading([ADMIN, orders]);
    const poll = LONG_POLLS['a queue fetch'];
    await poll.setUp(t);
    const answer = call(poll.operationId, poll.start(t, orders));
    await until(() => poll.waits(t));

    // Another name, other limits, a scope more, a scope less that it does not wait with: it waits on.
    await reload([ADMIN, edited(orders, { name: 'orders v2', limits: { requestsPerSecond: 50 }, scopes: ['consume:queues/orders-*', 'admin:topics/*'] })]);
    expect(poll.waits(t)).toBe(true);

    await reload([ADMIN, edited(orders, { scopes: ['produce:queues/*', 'consume:queues/billing'] })]);
    const res = await answer;
    expect([res.status, res.body.code, res.body.detail]).toEqual([403, 'forbidden', 'This key lost its consume access to queues/orders-1.']);
    expect(logs.map((line) => line.msg)).toEqual(['keys reloaded: 0 added, 0 removed, 1 changed', 'keys reloaded: 0 added, 0 removed, 1 changed']);
  });

  test('an SQS ReceiveMessage waiting with a key that is revoked ends at once, refused as SQS refuses a missing credential', async () => {
    const signer = key('receiver', ['*:queues/*']);
    const receiver: Key = { ...signer, entry: { ...signer.entry, sqsSecret: generateSqsSecret() } };
    const file = keysFileOf([ADMIN, receiver]);
    const g = await sqsGateway({ keys: readKeysFile(file) });
    cleanups.push(() => g.close());
    const { reload } = reloaderOf(g.t, file);
    const sqs = g.client({ accessKeyId: receiver.entry.id, secretAccessKey: receiver.entry.sqsSecret ?? '' });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'orders' }));
    const receive = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 })).then(
      () => null,
      (error: { name: string; $metadata: { httpStatusCode?: number } }) => [error.name, error.$metadata.httpStatusCode],
    );
    await until(() => g.t.wakeups.waiting === 1);
    await reload([ADMIN]);
    expect(await receive).toEqual(['MissingAuthenticationToken', 403]);
  });
});

describe('a reload that fails keeps the keys in force', () => {
  const orders = key('orders', ['*:queues/orders-*']);
  const written = (text: string) => (file: string) => writeKeys(file, text);
  test.each([
    ['text that is not YAML', written('keys: ['), /^keys file .*keys\.json is not valid YAML/],
    ['a schema violation', written(JSON.stringify({ keys: [{ ...orders.entry, hash: 'plain-text' }] })), /keys\/0\/hash must be sha256: and 64 hex digits/],
    ['one key twice', written(JSON.stringify({ keys: [orders.entry, orders.entry] })), new RegExp(`^key ${orders.entry.id} is configured twice$`)],
    ['no file', (file: string) => fs.rmSync(file), /^keys file .*keys\.json cannot be read: ENOENT$/],
    ['a directory in its place', (file: string) => {
        fs.rmSync(file);
        fs.mkdirSync(file);
      }, /^keys file .*keys\.json cannot be read: EISDIR$/],
  ])('%s: logged as an error, counted in /metrics, and the keys in force still work', async (_what, spoil, cause) => {
    const { t, file, reloadFile, logs } = reloading([ADMIN, orders]);
    spoil(file);
    await reloadFile();
    expect(logs).toEqual([
      expect.objectContaining({ level: 'error', msg: 'keys reload failed: the 2 keys in force stay', trigger: 'test', cause: expect.stringMatching(cause) }),
    ]);
    expect((await t.http.put('/v1/queues/orders-1').set(bearer(orders)).send({})).status).toBe(201);
    expect(await reloadsCounted(t, 'failed')).toBe(1);
    expect(await reloadsCounted(t, 'ok')).toBe(0);
  });
});

describe('the gateway process', () => {
  const orders = key('orders', ['*:queues/orders-*']);
  /** The status of one request with `k`, as a client of the gateway sees it. */
  const statusWith = async (gateway: ChildGateway, k: Key): Promise<number> =>
    (await fetch(`${gateway.url}/v1/queues`, { headers: bearer(k) })).status;
  /** Waits (the reload takes a moment in another process) until a request with `k` is answered `status`, or 10 s. */
  const awaitStatus = async (gateway: ChildGateway, k: Key, status: number): Promise<void> => {
    await polled(async () => (await statusWith(gateway, k)) === status, 10_000);
    expect(await statusWith(gateway, k)).toBe(status);
  };

  test('reads the keys file again on SIGHUP, and goes on serving', async () => {
    const file = keysFileOf([ADMIN]);
    // A watch that would take ten minutes: what puts the key in force is the signal.
    const gateway = await startChildGateway(path.join(dir, 'data'), ['--keys-file', file, '--keys-watch-interval-ms', '600000']);
    expect(await statusWith(gateway, orders)).toBe(401);
    writeKeys(file, [ADMIN, orders]);
    gateway.process.kill('SIGHUP');
    await awaitStatus(gateway, orders, 200);
    writeKeys(file, [ADMIN]);
    gateway.process.kill('SIGHUP');
    await awaitStatus(gateway, orders, 401);
    expect(gateway.process.exitCode).toBeNull();
  });

  test('watches the keys file: a key added, then revoked, is in force without a signal', async () => {
    const file = keysFileOf([ADMIN]);
    const gateway = await startChildGateway(path.join(dir, 'data'), ['--keys-file', file, '--keys-watch-interval-ms', '100']);
    writeKeys(file, [ADMIN, orders]);
    await awaitStatus(gateway, orders, 200);
    // Written in place this time, as an editor would.
    fs.writeFileSync(file, JSON.stringify({ keys: [ADMIN.entry] }));
    await awaitStatus(gateway, orders, 401);
  });
});

test('the watch interval is a setting: 2 s unless set, from 100 ms to 10 minutes', () => {
  expect(loadConfig([], {}).keysWatchIntervalMs).toBe(2000);
  expect(loadConfig(['--keys-watch-interval-ms', '250'], {}).keysWatchIntervalMs).toBe(250);
  expect(loadConfig([], { MQGATE_KEYS_WATCH_INTERVAL_MS: '500' }).keysWatchIntervalMs).toBe(500);
  expect(() => loadConfig(['--keys-watch-interval-ms', '50'], {})).toThrow(/--keys-watch-interval-ms must be a whole number from 100 to 600000/);
});
