import { generateKey, hashKey } from '../api/keys';
import { STREAM_TOKEN_TTL_MS } from '../api/streamTokens';
import { expectSpecResponse, until } from './support/specResponses';
import { bearer, type Envelope, followStream, openStream, type Served, type StreamClient, serve, streamKey } from './support/streamClient';
import { type TestGateway, testGateway } from './support/testGateway';

const ADMIN = streamKey('admin', ['*:*']);
const READER = streamKey('reader', ['consume:queues/q', 'consume:topics/t']);
const PRODUCER = streamKey('producer', ['produce:queues/q', 'produce:topics/t']);
const KEYS = [ADMIN, READER, PRODUCER].map((k) => k.record);

interface Minted {
  token: string;
  url: string;
  expiresAt: number;
}

let g: Served;
let t: TestGateway;

beforeEach(async () => {
  g = await serve(testGateway({ keys: KEYS }));
  ({ t } = g);
  expect((await t.http.put('/v1/queues/q').set(bearer(ADMIN)).send({})).status).toBe(201);
  expect((await t.http.put('/v1/queues/q2').set(bearer(ADMIN)).send({})).status).toBe(201);
  expect((await t.http.put('/v1/topics/t').set(bearer(ADMIN)).send({ partitions: 2 })).status).toBe(201);
});

afterEach(() => g.close());

/** The operation that mints a token for each kind of stream, by its path. */
const MINTED_BY: Array<[RegExp, string]> = [
  [/^\/v1\/queues\//, 'createQueueStreamToken'],
  [/\/partitions\//, 'createPartitionStreamToken'],
  [/\/groups\//, 'createGroupStreamToken'],
  [/\/subscriptions\//, 'createSubscriptionStreamToken'],
];

async function mint(path: string, as: { token: string } = READER): Promise<Minted> {
  const res = await t.http.post(`${path}/stream/tokens`).set(bearer(as));
  expect(res.status).toBe(201);
  expectSpecResponse(res, MINTED_BY.find(([pattern]) => pattern.test(path))?.[1] ?? 'none');
  return res.body as Minted;
}

/** What a stream GET answers when it does not open: its status and problem code. */
async function refusal(path: string, headers: Record<string, string> = {}): Promise<[number, string | undefined]> {
  const { status, problem, client } = await openStream(g.port, path, headers);
  if (status === 200) client.close();
  return [status, problem.code];
}

async function produce(values: unknown[]): Promise<void> {
  const messages = values.map((value) => ({ value, partition: 1 }));
  expect((await t.http.post('/v1/topics/t/messages').set(bearer(ADMIN)).send({ messages })).status).toBe(201);
}

const valueOf = (item: { data?: string }): unknown => (JSON.parse(item.data as string) as Envelope).value;

test('a token opens the stream it was minted for, as its key, without an Authorization header', async () => {
  const partition = await mint('/v1/topics/t/partitions/1');
  expect(partition.url).toBe(`/v1/topics/t/partitions/1/stream?streamToken=${partition.token}`);
  expect(partition.expiresAt).toBe(t.clock.now() + STREAM_TOKEN_TTL_MS);
  await produce(['a', 'b']);
  const client = await followStream(g.port, `${partition.url}&offset=1`);
  expect(valueOf((await client.take(1))[0])).toBe('b');
  await produce(['c']);
  expect(valueOf((await client.take(1))[0])).toBe('c');
  client.close();

  expect((await t.http.post('/v1/queues/q/messages').set(bearer(ADMIN)).send({ messages: [{ value: 'job' }] })).status).toBe(201);
  const queue = await mint('/v1/queues/q');
  const leased = await followStream(g.port, `${queue.url}&maxInFlight=1`);
  expect(valueOf((await leased.take(1))[0])).toBe('job');
  leased.close();
});

test("a group's and a queue subscription's streams open by their tokens, and each token by no other group or subscription", async () => {
  expect((await t.http.put('/v1/topics/t/groups/g').set(bearer(ADMIN)).send({ resetPolicy: 'earliest' })).status).toBe(201);
  expect((await t.http.put('/v1/topics/t/subscriptions/s').set(bearer(ADMIN)).send({})).status).toBe(201);
  await produce(['a']);
  const group = await mint('/v1/topics/t/groups/g');
  const member = await followStream(g.port, group.url);
  expect((await member.take(1))[0].event).toBe('assignment');
  expect(valueOf(await member.nextEvent())).toBe('a');
  member.close();
  const subscription = await mint('/v1/topics/t/subscriptions/s');
  const leased = await followStream(g.port, subscription.url);
  expect(valueOf(await leased.nextEvent())).toBe('a');
  leased.close();
  expect(await refusal(`/v1/topics/t/groups/h/stream?streamToken=${group.token}`)).toEqual([401, 'unauthorized']);
  expect(await refusal(`/v1/topics/t/subscriptions/s/stream?streamToken=${group.token}`)).toEqual([401, 'unauthorized']);
  expect(await refusal(`/v1/topics/t/subscriptions/s2/stream?streamToken=${subscription.token}`)).toEqual([401, 'unauthorized']);
  // Minting needs what the stream needs: the topic (a group is created by its stream), the subscription.
  expect((await t.http.post('/v1/topics/none/groups/g/stream/tokens').set(bearer(ADMIN))).body.code).toBe('topic_not_found');
  expect((await t.http.post('/v1/topics/t/subscriptions/none/stream/tokens').set(bearer(ADMIN))).body.code).toBe('subscription_not_found');
});

test('a token opens no other stream: not another queue, partition or topic', async () => {
  const { token } = await mint('/v1/queues/q');
  const onTopic = (await mint('/v1/topics/t/partitions/0')).token;
  expect(await refusal(`/v1/queues/q2/stream?streamToken=${token}`)).toEqual([401, 'unauthorized']);
  expect(await refusal(`/v1/topics/t/partitions/0/stream?streamToken=${token}`)).toEqual([401, 'unauthorized']);
  expect(await refusal(`/v1/topics/t/partitions/1/stream?streamToken=${onTopic}`)).toEqual([401, 'unauthorized']);
  expect(await refusal(`/v1/queues/q/stream?streamToken=${onTopic}`)).toEqual([401, 'unauthorized']);
});

test('a token is no key for any other operation, not even on its own queue', async () => {
  const { token } = await mint('/v1/queues/q');
  const calls = [
    t.http.get(`/v1/queues/q?streamToken=${token}`),
    t.http.get(`/v1/queues/q/messages?streamToken=${token}`),
    t.http.post(`/v1/queues/q/fetch?streamToken=${token}`).send({}),
    t.http.post(`/v1/queues/q/stream/tokens?streamToken=${token}`),
    t.http.get('/v1/queues/q').set('Authorization', `Bearer ${token}`),
  ];
  for (const res of await Promise.all(calls)) expect([res.status, res.body.code]).toEqual([401, 'unauthorized']);
});

test('a token opens its stream until it expires, 60 s after it was minted; a stream open by then goes on', async () => {
  const { url } = await mint('/v1/topics/t/partitions/1');
  t.clock.advance(STREAM_TOKEN_TTL_MS);
  // An EventSource reconnecting within the minute reuses the URL.
  const open = await followStream(g.port, url);
  t.clock.advance(1);
  const { status, problem } = await openStream(g.port, url);
  expect([status, problem.code]).toEqual([401, 'unauthorized']);
  expect((problem as { detail?: string }).detail).toMatch(/^The stream token expired .*: mint another/);
  await produce(['after']);
  expect(valueOf(await open.nextEvent())).toBe('after');
  open.close();
});

test('an altered token is refused: another tag, a later expiry, another key id', async () => {
  const { token } = await mint('/v1/queues/q');
  const [, id, expiresAt, tag] = /^mqs_([0-9a-f]{12})_(\d+)_(.{22})$/.exec(token) ?? [];
  const flipped = `${tag.slice(0, 5)}${tag[5] === 'A' ? 'B' : 'A'}${tag.slice(6)}`;
  const altered = [
    `mqs_${id}_${expiresAt}_${flipped}`,
    `mqs_${id}_${Number(expiresAt) + 3_600_000}_${tag}`,
    `mqs_${PRODUCER.record.id}_${expiresAt}_${tag}`,
    `mqs__${expiresAt}_${tag}`,
    token.slice(0, -1),
    `${token}x`,
  ];
  for (const forged of altered) expect(await refusal(`/v1/queues/q/stream?streamToken=${encodeURIComponent(forged)}`)).toEqual([401, 'unauthorized']);
  // Named twice, it is no token either.
  expect(await refusal(`/v1/queues/q/stream?streamToken=${token}&streamToken=${token}`)).toEqual([401, 'unauthorized']);
});

test('minting needs a key with consume on the stream: no key 401, produce only or another resource 403, nothing of a missing one', async () => {
  expect((await t.http.post('/v1/queues/q/stream/tokens')).status).toBe(401);
  for (const path of ['/v1/queues/q', '/v1/topics/t/partitions/0']) {
    const res = await t.http.post(`${path}/stream/tokens`).set(bearer(PRODUCER));
    expect([res.status, res.body.code]).toEqual([403, 'forbidden']);
  }
  expect((await t.http.post('/v1/queues/q2/stream/tokens').set(bearer(READER))).body.code).toBe('forbidden');
  expect((await t.http.post('/v1/queues/none/stream/tokens').set(bearer(ADMIN))).body.code).toBe('queue_not_found');
  expect((await t.http.post('/v1/topics/t/partitions/2/stream/tokens').set(bearer(ADMIN))).body.code).toBe('partition_not_found');
});

test('a revoked key: its tokens open nothing, and its open streams end; a key that lost the scope is refused 403', async () => {
  const first = await mint('/v1/topics/t/partitions/0');
  const second = await mint('/v1/topics/t/partitions/0');
  const open = await followStream(g.port, first.url);
  await until(() => t.wakeups.waiting === 1);
  // As a reload of the keys file that drops the reader does.
  t.auth.rates.keysChanged(t.auth.keys.replace([ADMIN.record, PRODUCER.record]));
  await open.ended;
  expect(await refusal(second.url)).toEqual([401, 'unauthorized']);
  // The same key back, with its scope on the topic gone: the token checks, the scope does not.
  const narrowed = { ...READER.record, scopes: streamKey('narrowed', ['consume:queues/q']).record.scopes };
  t.auth.keys.replace([ADMIN.record, PRODUCER.record, narrowed]);
  expect(await refusal(second.url)).toEqual([403, 'forbidden']);
  // A new key given the reader's id: the old key's tokens are not its.
  t.auth.keys.replace([ADMIN.record, PRODUCER.record, { ...READER.record, hash: hashKey(generateKey().key) }]);
  expect(await refusal(second.url)).toEqual([401, 'unauthorized']);
});

test('the request log names the key a token stood for, and never the token', async () => {
  const { token, url } = await mint('/v1/queues/q');
  const client: StreamClient = await followStream(g.port, url);
  client.close();
  await refusal(`/v1/queues/q2/stream?streamToken=${token}`);
  await until(() => t.logs.filter((l) => l.operation === 'streamQueue').length === 2);
  expect(t.logs.filter((l) => l.operation === 'streamQueue').map((l) => [l.path, l.status, l.keyId])).toEqual([
    ['/v1/queues/q/stream', 200, READER.record.id],
    ['/v1/queues/q2/stream', 401, null],
  ]);
  const logged = JSON.stringify(t.logs);
  expect(logged).not.toContain(token.slice(-22));
  expect(logged).not.toContain('streamToken');
});

test('any gateway over the same store takes the token; one over another store does not', async () => {
  const { url } = await mint('/v1/queues/q');
  // Closed, not disposed of: the data is this test's gateway's.
  const same = await serve(testGateway({ keys: KEYS, dataDir: t.dataDir }), (gateway) => gateway.close());
  const other = await serve(testGateway({ keys: KEYS }));
  try {
    const client = await followStream(same.port, url);
    client.close();
    expect((await other.t.http.put('/v1/queues/q').set(bearer(ADMIN)).send({})).status).toBe(201);
    const { status, problem } = await openStream(other.port, url);
    expect([status, problem.code]).toEqual([401, 'unauthorized']);
  } finally {
    await same.close();
    await other.close();
  }
});
