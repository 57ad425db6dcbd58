import { randomBytes } from 'node:crypto';
import { PostgresStore } from '../persistence/postgres/postgresStore';
import type { AppendResult, DeliveryRef, GroupSettings, NewMessage } from '../persistence/store';
import { rules } from '../queue/rules';
import { inPartition, message, opts, settings, T0, topicSettings } from './store-contract/fixtures';
import { createTestDatabase, type TestDatabase } from './support/testPostgres';

/**
 * What only a backend with concurrent transactions must get right: two
 * stores over one schema (two pools, as two gateways over one database),
 * each with several connections, calling at once. The store contract runs
 * its calls one after the other; here they overlap.
 */

let database: TestDatabase;
/** Two gateways over one schema, made fresh for each test. */
let stores: [PostgresStore, PostgresStore];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

beforeEach(async () => {
  const schema = `concurrency_${randomBytes(6).toString('hex')}`;
  const open = (): PostgresStore => new PostgresStore({ url: database.url, schema, rules, poolSize: 4 });
  stores = [open(), open()];
  // Both opened before a test's calls: a store's opening rewinds the positions of processes it does not see alive (here none is: no sweep renews a presence).
  await Promise.all(stores.map((store) => store.checkReady()));
});
afterEach(() => Promise.all(stores.map((store) => store.close())));

/** The store of the `i`th concurrent caller: callers alternate between the two. */
const storeOf = (i: number): PostgresStore => stores[i % 2];

/** `count` callers at once, the `i`th running `work(i)`. */
const callers = <T>(count: number, work: (i: number) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: count }, (_, i) => work(i)));

const LONG_LEASE = 60_000;

test('claims from two gateways at once lease every message exactly once', async () => {
  const [first] = stores;
  await first.putQueue({ name: 'q', settings: settings(), now: T0 });
  for (let batch = 0; batch < 4; batch += 1) {
    await first.produce({ queue: 'q', messages: Array.from({ length: 50 }, (_, i) => message(`m${batch * 50 + i}`)), ...opts() });
  }
  // Each caller claims until a claim comes back empty: with every claim leasing what it locked, nothing is left then.
  const leased = await callers(8, async (i) => {
    const ids: string[] = [];
    for (;;) {
      const { leases } = await storeOf(i).claim({ from: { queue: 'q' }, max: 3, now: T0, visibilityTimeoutMs: LONG_LEASE });
      if (leases.length === 0) return ids;
      ids.push(...leases.map((lease) => lease.message.id));
    }
  });
  const all = leased.flat();
  expect(all).toHaveLength(200);
  expect(new Set(all).size).toBe(200);
  expect(await first.queueStats({ queue: 'q', now: T0 })).toMatchObject({ ready: 0, inFlight: 200 });
});

test('20 produces at once into one partition from two gateways get offsets 0 to 199, each produce a contiguous run', async () => {
  const [first] = stores;
  await first.putTopic({ name: 't', settings: topicSettings(), now: T0 });
  const produced = await callers(20, (i) =>
    storeOf(i).produceTopic({ topic: 't', messages: Array.from({ length: 10 }, (_, j) => inPartition(0, `p${i}-${j}`)), ...opts() }),
  );
  for (const results of produced) {
    expect(results.map((result) => result.offset)).toEqual(results.map((_, j) => results[0].offset + j));
  }
  expect(
    produced
      .flat()
      .map((result) => result.offset)
      .sort((a, b) => a - b),
  ).toEqual(Array.from({ length: 200 }, (_, offset) => offset));
  // Read back in offset order, each produce's messages are its run, in its order.
  const read = await first.readPartition({ topic: 't', partition: 0, offset: 0, max: 200, maxBytes: 1_000_000 });
  const byOffset = read.messages.map((m) => m.value.toString());
  produced.forEach((results, i) => {
    expect(results.map((result) => byOffset[result.offset])).toEqual(results.map((_, j) => `p${i}-${j}`));
  });
});

test('FIFO: claims from two gateways at once never lease two batches of one message group at once, and each group goes in order', async () => {
  const [first] = stores;
  await first.putQueue({ name: 'f', settings: settings({ ordering: 'fifo' }), now: T0 });
  const groups = ['a', 'b', 'c', 'd', 'e'];
  const perGroup = 10;
  // Interleaved, so that every claim has several groups to choose from.
  await first.produce({
    queue: 'f',
    messages: Array.from({ length: perGroup }, (_, n) => groups.map((group) => message(`${group}${n}`, { group }))).flat(),
    ...opts(),
  });
  const delivered = new Map<string, string[]>(groups.map((group) => [group, []]));
  let acked = 0;
  // In rounds: claims at once, whose leases stay until the round's acks. A group leased in a round is so until then,
  // so no two claims of one round may both take it. Every round finds a free group, so rounds end.
  for (let round = 0; acked < groups.length * perGroup && round < 100; round += 1) {
    const claims = await callers(6, (i) => storeOf(i).claim({ from: { queue: 'f' }, max: 3, now: T0, visibilityTimeoutMs: LONG_LEASE }));
    const takenTwice = groups.filter((group) => claims.filter((claimed) => claimed.leases.some((lease) => lease.message.group === group)).length > 1);
    expect(takenTwice).toEqual([]);
    // Claims of one round may commit in any order, but they took different groups: each group's order is that of its claim.
    for (const { leases } of claims) for (const lease of leases) delivered.get(lease.message.group as string)?.push(lease.message.value.toString());
    const settled = await callers(claims.length, (i) => {
      const { subscriptionId, leases } = claims[i];
      const refs: DeliveryRef[] = leases.map((lease) => ({ subscriptionId, messageId: lease.message.id, deliveryCount: lease.deliveryCount }));
      return storeOf(i).settle({ at: { queue: 'f' }, refs, settlement: { kind: 'ack' }, now: T0 });
    });
    expect(settled.flat().every((status) => status === 'acked')).toBe(true);
    acked += settled.flat().length;
  }
  expect(acked).toBe(groups.length * perGroup);
  for (const group of groups) {
    expect(delivered.get(group)).toEqual(Array.from({ length: perGroup }, (_, n) => `${group}${n}`));
  }
});

test('4 members joining a new group at once from two gateways end in one generation in which every partition has one owner', async () => {
  const [first] = stores;
  const defaults: GroupSettings = { resetPolicy: 'earliest', sessionTimeoutMs: LONG_LEASE };
  await first.putTopic({ name: 't', settings: topicSettings({ partitions: 6 }), now: T0 });
  const members = ['m0', 'm1', 'm2', 'm3'];
  const joins = await callers(members.length, (i) => storeOf(i).joinGroup({ topic: 't', group: 'g', memberId: members[i], now: T0, defaults }));
  // The joins took turns: each started a generation of its own, whose members are those that joined in it or before.
  const inTurn = joins.map((join, i) => ({ ...join, memberId: members[i] })).sort((a, b) => a.generation - b.generation);
  expect(new Set(inTurn.map((join) => join.generation)).size).toBe(members.length);
  inTurn.forEach((join, k) => {
    const membership = inTurn.slice(0, k + 1).map((each) => each.memberId);
    expect(join.partitions).toEqual(rules.assignPartitions(membership, 6).get(join.memberId));
  });
  const described = await first.describeGroup({ topic: 't', group: 'g', now: T0 });
  expect(described.generation).toBe(Math.max(...joins.map((join) => join.generation)));
  expect(described.members.map((member) => member.memberId)).toEqual(members);
  expect(described.partitions.map((partition) => partition.memberId)).toEqual(expect.arrayContaining(members));
  expect(described.partitions.every((partition) => partition.memberId !== null)).toBe(true);
  // Each member's fetch (at once again) is in that generation and reads its own partitions: together every partition, once.
  const fetches = await callers(members.length, (i) =>
    storeOf(i).fetchGroup({ topic: 't', group: 'g', memberId: members[i], max: 10, maxBytes: 1000, now: T0, defaults: null }),
  );
  expect(fetches.map((fetch) => fetch.generation)).toEqual(members.map(() => described.generation));
  expect(
    fetches
      .flatMap((fetch) => fetch.partitions)
      .sort((a, b) => a - b),
  ).toEqual([0, 1, 2, 3, 4, 5]);
  fetches.forEach((fetch, i) => {
    expect(fetch.partitions).toEqual(described.members[i].partitions);
  });
});

test('fetches of one group from two gateways at once deliver every message once', async () => {
  const [first] = stores;
  const defaults: GroupSettings = { resetPolicy: 'earliest', sessionTimeoutMs: LONG_LEASE };
  await first.putTopic({ name: 't', settings: topicSettings({ partitions: 2 }), now: T0 });
  await first.produceTopic({ topic: 't', messages: Array.from({ length: 100 }, (_, i) => inPartition(i % 2, `m${i}`)), ...opts() });
  // The group is made by the first fetches, at once too. A fetch that reads nothing read to the end: the one before it had moved every position.
  const fetched = await callers(6, async (i) => {
    const ids: string[] = [];
    for (;;) {
      const { messages } = await storeOf(i).fetchGroup({ topic: 't', group: 'g', memberId: null, max: 3, maxBytes: 1000, now: T0, defaults });
      if (messages.length === 0) return ids;
      ids.push(...messages.map((m) => m.id));
    }
  });
  const all = fetched.flat();
  expect(all).toHaveLength(100);
  expect(new Set(all).size).toBe(100);
});

test('one idempotency key produced at once from two gateways stores one message, and both answers name it', async () => {
  const [first] = stores;
  await first.putQueue({ name: 'q', settings: settings(), now: T0 });
  const keys = Array.from({ length: 10 }, (_, k) => `k${k}`);
  const answers: AppendResult[][] = await Promise.all(
    keys.map((key) =>
      callers(2, async (i) => {
        const [result] = await storeOf(i).produce({ queue: 'q', messages: [message(`${key} from ${i}`, { idempotencyKey: key })], ...opts() });
        return result;
      }),
    ),
  );
  for (const [one, other] of answers) {
    expect(other).toEqual({ ...one, duplicate: other.duplicate });
    expect([one.duplicate, other.duplicate].sort()).toEqual([false, true]);
  }
  const stored = await first.browse({ at: { queue: 'q' }, after: null, max: 100, now: T0 });
  expect(stored.map((m) => m.id).sort()).toEqual(answers.map(([one]) => one.id).sort());
});

test('produces into one queue at once share commits, and one refused (its quota) rolls back alone: each produce all or nothing', async () => {
  const [first] = stores;
  await first.putQueue({ name: 'q', settings: settings({ maxStoredMessages: 10 }), now: T0 });
  const before = first.commitStats;
  const outcomes = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) => first.produce({ queue: 'q', messages: ['a', 'b', 'c'].map((v) => message(`${i}${v}`)), ...opts() })),
  );
  const stored = outcomes.filter((o): o is PromiseFulfilledResult<AppendResult[]> => o.status === 'fulfilled').map((o) => o.value);
  const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as { code: string });
  expect(stored).toHaveLength(3);
  expect(stored.every((results) => results.length === 3)).toBe(true);
  expect(refused.map((error) => error.code)).toEqual(Array(5).fill('quota_exceeded'));
  expect(await first.queueStats({ queue: 'q', now: T0 })).toMatchObject({ ready: 9 });
  const after = first.commitStats;
  expect(after.operations - before.operations).toBe(8);
  expect(after.commits - before.commits).toBeLessThan(8);
  expect(after.reruns).toBe(before.reruns);
});

/** `count` produces into queue `q` of one store at once, the `i`th of `make(i)`'s messages: what each was answered. */
async function producedAtOnce(store: PostgresStore, count: number, make: (i: number) => NewMessage[]): Promise<PromiseSettledResult<AppendResult[]>[]> {
  return Promise.allSettled(Array.from({ length: count }, (_, i) => store.produce({ queue: 'q', messages: make(i), ...opts(T0 + i) })));
}

test('produces sharing a commit: one with text PostgreSQL cannot hold is refused alone, and every other is stored', async () => {
  const [first] = stores;
  await first.putQueue({ name: 'q', settings: settings(), now: T0 });
  const before = first.commitStats;
  const outcomes = await producedAtOnce(first, 6, (i) => [message(`m${i}`, { key: i === 2 ? 'a\u0000b' : `k${i}` })]);
  expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  expect((outcomes[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'text_unstorable' });
  const stored = await first.browse({ at: { queue: 'q' }, after: null, max: 100, now: T0 + 10 });
  expect(stored.map((m) => m.value.toString()).sort()).toEqual(['m0', 'm1', 'm3', 'm4', 'm5']);
  const after = first.commitStats;
  expect(after.operations - before.operations).toBe(6);
  expect(after.commits - before.commits).toBeLessThan(6);
  // Refused by the database, the shared transaction ran again one produce at a time.
  expect(after.reruns - before.reruns).toBe(1);
});

test('a produce refused in a shared commit leaves no trace: the next one taken continues its offsets, and may reuse its keys', async () => {
  const [first] = stores;
  await first.putQueue({ name: 'q', settings: settings({ maxStoredMessages: 10 }), now: T0 });
  const sizes = [3, 3, 3, 3, 1];
  const before = first.commitStats;
  const outcomes = await producedAtOnce(first, sizes.length, (i) =>
    // The last produce's one message has the key of the refused one's first.
    Array.from({ length: sizes[i] }, (_, j) => message(`m${i}.${j}`, { idempotencyKey: i === 4 ? 'k3.0' : `k${i}.${j}` })),
  );
  expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  const taken = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? outcome.value : []));
  expect(taken.map((result) => [result.offset, result.duplicate])).toEqual(Array.from({ length: 10 }, (_, offset) => [offset, false]));
  const stored = await first.browse({ at: { queue: 'q' }, after: null, max: 100, now: T0 + 10 });
  expect(stored.map((m) => m.value.toString()).at(-1)).toBe('m4.0');
  expect(stored).toHaveLength(10);
  // Decided without the database's help: no shared transaction ran again one produce at a time.
  expect(first.commitStats.reruns).toBe(before.reruns);
});

test('one idempotency key in produces sharing a commit stores one message, and every answer names it', async () => {
  const [first] = stores;
  await first.putQueue({ name: 'q', settings: settings(), now: T0 });
  const before = first.commitStats;
  const outcomes = await producedAtOnce(first, 6, (i) => [message(`m${i}`, { idempotencyKey: 'once' }), message(`own${i}`)]);
  const answers = outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : []));
  expect(answers.every((results) => results.length === 2)).toBe(true);
  const keyed = answers.map(([result]) => result);
  expect(new Set(keyed.map((result) => result.id)).size).toBe(1);
  expect(keyed.map((result) => result.duplicate)).toEqual([false, true, true, true, true, true]);
  expect(first.commitStats.reruns).toBe(before.reruns);
  expect(first.commitStats.commits - before.commits).toBeLessThan(6);
  const stored = await first.browse({ at: { queue: 'q' }, after: null, max: 100, now: T0 + 10 });
  expect(stored.map((m) => m.value.toString()).sort()).toEqual(['m0', 'own0', 'own1', 'own2', 'own3', 'own4', 'own5']);
  // Offsets are dense and timestamps never go back, whichever request's clock was later.
  const offsets = answers.flat().filter((result) => !result.duplicate);
  expect(offsets.map((result) => result.offset).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  const byOffset = [...offsets].sort((a, b) => a.offset - b.offset).map((result) => result.timestamp);
  expect(byOffset).toEqual([...byOffset].sort((a, b) => a - b));
});

test('produces sharing a commit each count their delay from their own time', async () => {
  const [first] = stores;
  await first.putQueue({ name: 'q', settings: settings(), now: T0 });
  await producedAtOnce(first, 4, (i) => [message(`m${i}`, { delayMs: 1000 })]);
  // The i-th produce was made at T0 + i: its message is ready at T0 + i + 1000, not before.
  for (let i = 0; i < 4; i += 1) {
    expect(await first.queueStats({ queue: 'q', now: T0 + 1000 + i })).toMatchObject({ ready: i + 1, delayed: 3 - i });
  }
});
