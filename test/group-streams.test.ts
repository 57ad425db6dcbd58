import type { Membership } from '../queue/groupService';
import { until } from './support/specResponses';
import { type Envelope, followStream, type Item, openStream, type Served, type StreamClient, serve } from './support/streamClient';
import { type TestGateway, testGateway } from './support/testGateway';

/** The groups' session timeout here: a stream's fetch waits at most a third of it, 10 s. */
const SESSION_TIMEOUT_MS = 30_000;
const FETCH_EVERY_MS = SESSION_TIMEOUT_MS / 3;

let t: TestGateway;
let served: Served;

beforeEach(async () => {
  t = testGateway();
  served = await serve(t);
  expect((await t.http.put('/v1/topics/t').send({ partitions: 2 })).status).toBe(201);
  expect((await t.http.put('/v1/topics/t/groups/g').send({ resetPolicy: 'earliest', sessionTimeoutMs: SESSION_TIMEOUT_MS })).status).toBe(201);
});

afterEach(() => served.close());

function stream(path: string, headers: Record<string, string> = {}): Promise<StreamClient> {
  return followStream(served.port, path, headers);
}

async function produce(partition: number, values: unknown[]): Promise<void> {
  const res = await t.http.post('/v1/topics/t/messages').send({ messages: values.map((value) => ({ value, partition })) });
  expect(res.status).toBe(201);
}

function envelope(item: Item): Envelope & { partition: number } {
  expect(item.event ?? 'message').toBe('message');
  return JSON.parse(item.data as string) as Envelope & { partition: number };
}

function assignment(item: Item): Membership {
  expect(item).toEqual({ event: 'assignment', data: expect.any(String) });
  return JSON.parse(item.data as string) as Membership;
}

/** The next `n` events, past heartbeats. */
async function events(client: StreamClient, n: number): Promise<Item[]> {
  const taken: Item[] = [];
  while (taken.length < n) taken.push(await client.nextEvent());
  return taken;
}

/** Events received and not yet taken: heartbeats left out. */
function pending(client: StreamClient): Item[] {
  return client.items.filter((item) => item.comment === undefined);
}

async function describeGroup(): Promise<{
  generation: number;
  partitions: Array<{ partition: number; committed: number | null; memberId: string | null }>;
  members: Array<{ memberId: string; partitions: number[] }>;
}> {
  const res = await t.http.get('/v1/topics/t/groups/g');
  expect(res.status).toBe(200);
  return res.body;
}

async function commit(member: Membership, offsets: Array<{ partition: number; offset: number }>): Promise<void> {
  const res = await t.http.post('/v1/topics/t/groups/g/commit').send({ memberId: member.memberId, generation: member.generation, offsets });
  expect(res.status).toBe(200);
}

/** Moves the clock to the streams' next fetch and waits until all `open` are waiting again. */
async function nextFetch(open: number): Promise<void> {
  t.clock.advance(FETCH_EVERY_MS);
  await until(() => t.wakeups.waiting === open);
}

describe('a queue subscription stream', () => {
  test('leases at most maxInFlight of the subscription; an ack through the subscription frees a slot', async () => {
    expect((await t.http.put('/v1/topics/t/subscriptions/s').send({ startAt: 'earliest' })).status).toBe(201);
    await produce(0, [0, 1, 2]);
    const client = await stream('/v1/topics/t/subscriptions/s/stream?maxInFlight=2');
    const first = await client.take(2);
    for (const event of first) expect(envelope(event)).toMatchObject({ receipt: event.id, deliveryCount: 1 });
    expect(first.map((e) => envelope(e).value)).toEqual([0, 1]);
    await until(() => t.wakeups.waiting === 1);
    expect(client.items).toEqual([]);
    const acked = await t.http.post('/v1/topics/t/subscriptions/s/ack').send({ receipts: [first[0].id] });
    expect(acked.body.results[0].status).toBe('acked');
    expect(envelope((await client.take(1))[0]).value).toBe(2);
    client.close();
  });

  test('a subscription or topic that does not exist is 404 before the stream starts; maxInFlight is bounded', async () => {
    expect((await openStream(served.port, '/v1/topics/t/subscriptions/none/stream')).problem.code).toBe('subscription_not_found');
    expect((await openStream(served.port, '/v1/topics/none/subscriptions/s/stream')).status).toBe(404);
    expect((await openStream(served.port, '/v1/topics/t/subscriptions/s/stream?maxInFlight=0')).problem.code).toBe('validation_failed');
  });
});

describe('a group stream', () => {
  test('joins, announces its assignment, then sends every message of its partitions once, id partition:offset, as a group fetch returns it', async () => {
    await produce(0, ['a', 'b']);
    await produce(1, ['c']);
    const client = await stream('/v1/topics/t/groups/g/stream');
    const joined = assignment(await client.nextEvent());
    expect(joined.partitions).toEqual([0, 1]);
    const group = await describeGroup();
    expect(group.members).toEqual([expect.objectContaining({ memberId: joined.memberId, partitions: [0, 1] })]);
    expect(joined.generation).toBe(group.generation);

    const sent = await events(client, 3);
    expect(sent.map((e) => e.id).sort()).toEqual(['0:0', '0:1', '1:0']);
    for (const event of sent) {
      const message = envelope(event);
      expect(event.id).toBe(`${message.partition}:${message.offset}`);
      const read = await t.http.get(`/v1/topics/t/partitions/${message.partition}/messages?offset=${message.offset}&max=1`);
      expect(message).toEqual(read.body.messages[0]);
    }
    // Nothing committed, and nothing sent again: the group's positions moved past what was sent.
    await nextFetch(1);
    await nextFetch(1);
    expect(pending(client)).toEqual([]);
    expect((await describeGroup()).partitions.map((p) => p.committed)).toEqual([0, 0]);

    // An append wakes it.
    await produce(1, ['d']);
    expect((await client.nextEvent()).id).toBe('1:1');
    client.close();
  });

  test('a second stream joining rebalances: both announce the new assignment, partitions split, each resumes from the committed offsets', async () => {
    await produce(0, ['p0-0', 'p0-1']);
    await produce(1, ['p1-0', 'p1-1']);
    const a = await stream('/v1/topics/t/groups/g/stream');
    const first = assignment(await a.nextEvent());
    expect((await events(a, 4)).map((e) => e.id).sort()).toEqual(['0:0', '0:1', '1:0', '1:1']);
    // All of partition 0 committed, the first of partition 1: p1-1 is what may come again.
    const committed = new Map([
      [0, 2],
      [1, 1],
    ]);
    await commit(first, [...committed].map(([partition, offset]) => ({ partition, offset })));
    await until(() => t.wakeups.waiting === 1);

    const b = await stream('/v1/topics/t/groups/g/stream');
    const second = assignment(await b.nextEvent());
    expect(second.generation).toBeGreaterThan(first.generation);
    expect(second.partitions).toHaveLength(1);
    // The first stream learns of it at its next fetch, and sends nothing meanwhile.
    await until(() => t.wakeups.waiting === 2);
    expect(pending(a)).toEqual([]);
    await nextFetch(2);
    const rebalanced = assignment(await a.nextEvent());
    expect(rebalanced).toEqual({ memberId: first.memberId, generation: second.generation, partitions: [0, 1].filter((p) => !second.partitions.includes(p)) });
    // A commit of the old generation is refused.
    const stale = await t.http.post('/v1/topics/t/groups/g/commit').send({ memberId: first.memberId, generation: first.generation, offsets: [{ partition: 1, offset: 2 }] });
    expect(stale.body.code).toBe('stale_generation');

    // Each now gets, of its own partition, what no commit covered: p1-1 from whichever has partition 1.
    const [withOne, withZero] = rebalanced.partitions[0] === 1 ? [a, b] : [b, a];
    expect(envelope(await withOne.nextEvent())).toMatchObject({ partition: 1, offset: 1, value: 'p1-1' });
    await until(() => t.wakeups.waiting === 2);
    // Nothing of partition 0, all committed, comes again.
    expect([pending(a), pending(b)]).toEqual([[], []]);

    // New messages: each partition's to its owner only.
    await produce(0, ['p0-2']);
    await produce(1, ['p1-2']);
    expect((await withZero.nextEvent()).id).toBe('0:2');
    expect((await withOne.nextEvent()).id).toBe('1:2');
    await until(() => t.wakeups.waiting === 2);
    expect([pending(a), pending(b)]).toEqual([[], []]);
    const group = await describeGroup();
    expect(group.members.map((m) => m.partitions).sort()).toEqual([[0], [1]]);
    a.close();
    b.close();
  });

  test('a stream that disconnects leaves the group: the other gets every partition, from the committed offsets', async () => {
    const a = await stream('/v1/topics/t/groups/g/stream');
    const first = assignment(await a.nextEvent());
    const b = await stream('/v1/topics/t/groups/g/stream');
    const second = assignment(await b.nextEvent());
    await nextFetch(2);
    const split = assignment(await a.nextEvent());
    expect(split.partitions).toHaveLength(1);
    await produce(second.partitions[0], ['for b']);
    expect(envelope(await b.nextEvent()).value).toBe('for b');
    // b's message was sent, not committed: a gets it again once b is gone.
    b.close();
    await until(() => t.metrics.openStreams === 1);
    expect((await describeGroup()).members.map((m) => m.memberId)).toEqual([first.memberId]);
    await nextFetch(1);
    expect(assignment(await a.nextEvent())).toMatchObject({ memberId: first.memberId, partitions: [0, 1] });
    expect(envelope(await a.nextEvent())).toMatchObject({ partition: second.partitions[0], offset: 0, value: 'for b' });

    // The gateway shutting down ends it, and it leaves too.
    await until(() => t.wakeups.waiting === 1);
    t.shutDown();
    await a.ended;
    await until(() => t.metrics.openStreams === 0);
    expect((await describeGroup()).members).toEqual([]);
  });

  test('a new stream resumes from the committed offsets, whatever Last-Event-ID says', async () => {
    await produce(0, [0, 1, 2]);
    const a = await stream('/v1/topics/t/groups/g/stream');
    const joined = assignment(await a.nextEvent());
    await events(a, 3);
    await commit(joined, [{ partition: 0, offset: 1 }]);
    a.close();
    await until(() => t.metrics.openStreams === 0);
    const again = await stream('/v1/topics/t/groups/g/stream', { 'Last-Event-ID': '0:2' });
    assignment(await again.nextEvent());
    expect((await events(again, 2)).map((e) => e.id)).toEqual(['0:1', '0:2']);
    again.close();
  });

  test('autoCommit=true commits each message once its event was written', async () => {
    await produce(0, ['a', 'b']);
    await produce(1, ['c']);
    const client = await stream('/v1/topics/t/groups/g/stream?autoCommit=true');
    assignment(await client.nextEvent());
    await events(client, 3);
    // The commit follows the write: waiting for the next fetch means the last one is done.
    await until(() => t.wakeups.waiting === 1);
    expect((await describeGroup()).partitions.map((p) => p.committed)).toEqual([2, 1]);
    client.close();
    await until(() => t.metrics.openStreams === 0);
    // Committed: a new stream has nothing to send again.
    await produce(1, ['d']);
    const next = await stream('/v1/topics/t/groups/g/stream');
    assignment(await next.nextEvent());
    expect((await next.nextEvent()).id).toBe('1:1');
    next.close();
  });

  test('stays a member across a long idle time: its fetches are its heartbeats, a third of the session timeout apart', async () => {
    const client = await stream('/v1/topics/t/groups/g/stream');
    const joined = assignment(await client.nextEvent());
    await until(() => t.wakeups.waiting === 1);
    // Four session timeouts without a message.
    for (let i = 0; i < 12; i++) await nextFetch(1);
    expect((await describeGroup()).members.map((m) => m.memberId)).toEqual([joined.memberId]);
    await produce(0, ['late']);
    // Still the same membership: the message comes, no new assignment before it.
    expect((await client.nextEvent()).id).toBe('0:0');
    client.close();
  });

  test('a stream whose membership ran out (the clock jumped past the session timeout) joins again as a new member and says so', async () => {
    await produce(0, ['x']);
    const client = await stream('/v1/topics/t/groups/g/stream');
    const joined = assignment(await client.nextEvent());
    expect((await client.nextEvent()).id).toBe('0:0');
    await until(() => t.wakeups.waiting === 1);
    t.clock.advance(SESSION_TIMEOUT_MS + 1);
    const rejoined = assignment(await client.nextEvent());
    expect(rejoined.memberId).not.toBe(joined.memberId);
    expect(rejoined.partitions).toEqual([0, 1]);
    // Not committed: sent again in the new membership.
    expect((await client.nextEvent()).id).toBe('0:0');
    expect((await describeGroup()).members.map((m) => m.memberId)).toEqual([rejoined.memberId]);
    client.close();
  });

  test('NDJSON: the assignment as {"assignment"}, each message as {id, message}, heartbeats {}', async () => {
    await produce(1, ['n']);
    const client = await stream('/v1/topics/t/groups/g/stream', { Accept: 'application/x-ndjson' });
    const [first, second] = await client.take(2);
    expect(assignment(first).partitions).toEqual([0, 1]);
    expect(second.id).toBe('1:0');
    expect(envelope(second).value).toBe('n');
    await until(() => t.wakeups.waiting === 1);
    t.clock.advance(15_000);
    expect(await client.take(1)).toEqual([{ comment: '{}' }]);
    client.close();
  });

  test('a topic that does not exist is 404 before the stream starts; a group that does not is created, as a join creates it', async () => {
    const { status, problem } = await openStream(served.port, '/v1/topics/none/groups/g/stream');
    expect([status, problem.code]).toEqual([404, 'topic_not_found']);
    expect((await openStream(served.port, '/v1/topics/t/groups/g/stream?autoCommit=maybe')).problem.code).toBe('validation_failed');
    const fresh = await stream('/v1/topics/t/groups/new/stream');
    expect(assignment(await fresh.nextEvent()).partitions).toEqual([0, 1]);
    expect((await t.http.get('/v1/topics/t/groups/new')).body).toMatchObject({ resetPolicy: 'latest', sessionTimeoutMs: 45_000 });
    fresh.close();
  });
});
