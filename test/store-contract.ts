import { GatewayError } from '../queue/errors';
import type { DeliveryRef, NewMessage, QueueSettings, SettleStatus, Settlement, Store, SweepOptions, TopicSettings } from '../persistence/store';

/**
 * The contract every store backend must pass. A backend is done when
 * `describeStoreContract('<name>', factory)` passes for it unchanged.
 * Time is passed explicitly to every call, so no clock is needed.
 */
export interface StoreHarness {
  store: Store;
  /** Closes the store and opens it again on the same data. */
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

const T0 = 1_700_000_000_000;
const WINDOW = 60_000;
const opts = (now = T0) => ({ now, idempotencyWindowMs: WINDOW });
/** A retention sweep at `now` that looks at every partition a test makes. */
const sweepAt = (now: number, overrides: Partial<SweepOptions> = {}): SweepOptions => ({
  now,
  budget: 100,
  idempotencyWindowMs: WINDOW,
  repliesBefore: 0,
  partitions: 1000,
  resumeAfter: null,
  ...overrides,
});
/** A page that holds every name a test makes. */
const ALL = { after: null, prefix: '', limit: 1000 };

export const settings = (overrides: Partial<QueueSettings> = {}): QueueSettings => ({
  visibilityTimeoutMs: 1000,
  maxDeliveries: null,
  deadLetterQueue: null,
  delayMs: 0,
  retentionMs: 3_600_000,
  maxMessageBytes: 1024 * 1024,
  maxStoredMessages: null,
  maxStoredBytes: null,
  ordering: 'standard',
  contentBasedDeduplication: false,
  receiveWaitMs: 0,
  tags: {},
  ...overrides,
});

export const topicSettings = (overrides: Partial<TopicSettings> = {}): TopicSettings => ({
  partitions: 1,
  retentionMs: null,
  retentionBytes: null,
  maxMessageBytes: 1024 * 1024,
  maxStoredMessages: null,
  maxStoredBytes: null,
  ...overrides,
});

export const message = (text: string, overrides: Partial<NewMessage> = {}): NewMessage => ({
  key: null,
  headers: {},
  contentType: 'text/plain',
  value: Buffer.from(text),
  delayMs: null,
  idempotencyKey: null,
  bytes: Buffer.byteLength(text),
  group: null,
  ...overrides,
});

async function expectCode(promise: Promise<unknown>, code: string, detail?: RegExp): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(GatewayError);
  await expect(promise).rejects.toMatchObject(detail === undefined ? { code } : { code, message: expect.stringMatching(detail) });
}

export function describeStoreContract(backend: string, open: () => Promise<StoreHarness>): void {
  describe(`store contract: ${backend}`, () => {
    let harness: StoreHarness;
    let store: Store;

    beforeEach(async () => {
      harness = await open();
      store = harness.store;
      await store.putQueue('q', settings(), T0);
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    const values = (leases: Array<{ message: { value: Buffer } }>) => leases.map((l) => l.message.value.toString());
    /** Leases, each with the ref its receipt would carry. */
    const claimFrom = async (queue: string, max: number, now: number, visibilityTimeoutMs: number | null) => {
      const { subscriptionId, leases } = await store.claim({ queue }, { max, now, visibilityTimeoutMs });
      return leases.map((lease) => ({
        ...lease,
        ref: { subscriptionId, messageId: lease.message.id, deliveryCount: lease.deliveryCount },
      }));
    };
    const claim = (max = 10, now = T0, visibilityTimeoutMs: number | null = 1000) => claimFrom('q', max, now, visibilityTimeoutMs);

    test('putQueue creates once, then updates in place', async () => {
      const again = await store.putQueue('q', settings({ visibilityTimeoutMs: 5000 }), T0 + 1);
      expect(again.created).toBe(false);
      expect(again.queue.visibilityTimeoutMs).toBe(5000);
      expect(again.queue.createdAt).toBe(T0);
      const created = await store.putQueue('a', settings(), T0);
      expect(created.created).toBe(true);
      expect((await store.listQueues(ALL)).items.map((q) => q.name)).toEqual(['a', 'q']);
      expect(await store.getQueue('missing')).toBeNull();
    });

    test('lists page by name: after a name, within a prefix, with the next page named only while one follows', async () => {
      for (const name of ['q-1', 'q.2', 'qa', 'p', 'q-0']) await store.putQueue(name, settings(), T0);
      const names = async (after: string | null, prefix: string, limit: number) => {
        const { items, next } = await store.listQueues({ after, prefix, limit });
        return { names: items.map((q) => q.name), next };
      };
      expect(await names(null, '', 2)).toEqual({ names: ['p', 'q'], next: 'q' });
      expect(await names('q', '', 2)).toEqual({ names: ['q-0', 'q-1'], next: 'q-1' });
      // Created and deleted between pages: the next page starts after the last name seen.
      await store.putQueue('q-00', settings(), T0);
      await store.deleteQueue('q.2');
      expect(await names('q-1', '', 2)).toEqual({ names: ['qa'], next: null });
      expect(await names(null, 'q-', 10)).toEqual({ names: ['q-0', 'q-00', 'q-1'], next: null });
      expect(await names(null, 'q-', 3)).toEqual({ names: ['q-0', 'q-00', 'q-1'], next: null });
      expect(await names(null, 'q-', 2)).toEqual({ names: ['q-0', 'q-00'], next: 'q-00' });
      expect(await names('q-00', 'q-', 2)).toEqual({ names: ['q-1'], next: null });
      expect(await names('a', 'q', 1)).toEqual({ names: ['q'], next: 'q' });
      expect(await names(null, 'qb', 5)).toEqual({ names: [], next: null });
      expect(await names('zz', '', 5)).toEqual({ names: [], next: null });
      await store.putTopic('t', topicSettings(), T0);
      await store.putTopic('s', topicSettings(), T0);
      expect(await store.listTopics({ after: 's', prefix: '', limit: 5 })).toMatchObject({ items: [{ name: 't' }], next: null });
      expect((await store.listQueues(ALL)).items.map((q) => q.name)).not.toContain('t');
      await store.putGroup('t', 'g2', { resetPolicy: 'earliest', sessionTimeoutMs: 1000 }, T0);
      await store.putGroup('t', 'g1', { resetPolicy: 'earliest', sessionTimeoutMs: 1000 }, T0);
      expect(await store.listGroups('t', { after: null, prefix: 'g', limit: 1 }, T0)).toMatchObject({ items: [{ name: 'g1' }], next: 'g1' });
      expect(await store.listGroups('t', { after: 'g1', prefix: 'g', limit: 1 }, T0)).toMatchObject({ items: [{ name: 'g2' }], next: null });
      const subscription = { visibilityTimeoutMs: 1000, maxDeliveries: null, deadLetterQueue: null };
      await store.putSubscription('t', 'b', subscription, false, T0);
      await store.putSubscription('t', 'a', subscription, false, T0);
      await store.putSubscription('s', 'a0', subscription, false, T0);
      expect(await store.listSubscriptions('t', { after: null, prefix: '', limit: 1 })).toMatchObject({ items: [{ name: 'a' }], next: 'a' });
      expect(await store.listSubscriptions('t', { after: 'a', prefix: '', limit: 1 })).toMatchObject({ items: [{ name: 'b' }], next: null });
    });

    test('a dead-letter queue must exist', async () => {
      await expectCode(store.putQueue('p', settings({ deadLetterQueue: 'nope', maxDeliveries: 1 }), T0), 'dead_letter_queue_not_found');
      expect(await store.getQueue('p')).toBeNull();
    });

    test('produce appends at dense offsets and keeps bytes, content type, key and headers exactly', async () => {
      const binary = Buffer.from([0, 255, 1, 254, 10, 13]);
      const results = await store.produce(
        'q',
        [message('a', { key: 'k', headers: { h: 'v' } }), message('', { value: binary, contentType: 'application/x-bin' })],
        opts(),
      );
      expect(results.map((r) => [r.partition, r.offset, r.duplicate])).toEqual([
        [0, 0, false],
        [0, 1, false],
      ]);
      expect(new Set(results.map((r) => r.id)).size).toBe(2);
      const leases = await claim();
      expect(leases[0].message).toMatchObject({ key: 'k', headers: { h: 'v' }, contentType: 'text/plain', offset: 0 });
      expect(leases[1].message.value.equals(binary)).toBe(true);
      expect(leases[1].message.contentType).toBe('application/x-bin');
    });

    test('browse shows unsettled messages oldest first, page by page, with their state, and leases nothing', async () => {
      await store.produce('q', [message('a'), message('b'), message('c', { delayMs: 5000 }), message('d')], opts());
      const [leased] = await claim(1);
      await store.settle({ queue: 'q' }, [(await claim(1))[0].ref], { kind: 'ack' }, T0);
      const first = await store.browse({ queue: 'q' }, { afterId: 0, max: 2, now: T0 });
      expect(first.map((m) => [m.value.toString(), m.state, m.deliveryCount, m.offset])).toEqual([
        ['a', 'leased', 1, 0],
        ['c', 'delayed', 0, 2],
      ]);
      const rest = await store.browse({ queue: 'q' }, { afterId: Number(first[1].id), max: 2, now: T0 });
      expect(rest.map((m) => [m.value.toString(), m.state])).toEqual([['d', 'ready']]);
      expect(await store.browse({ queue: 'q' }, { afterId: Number(rest[0].id), max: 2, now: T0 })).toEqual([]);
      // A lease that ran out is ready again, and browsing counted no delivery.
      const later = await store.browse({ queue: 'q' }, { afterId: 0, max: 10, now: T0 + 10_000 });
      expect(later.map((m) => [m.value.toString(), m.state, m.deliveryCount])).toEqual([
        ['a', 'ready', 1],
        ['c', 'ready', 0],
        ['d', 'ready', 0],
      ]);
      expect(values(await claim(10, T0 + 10_000))).toEqual(['a', 'c', 'd']);
      expect(leased.message.value.toString()).toBe('a');
      await expectCode(store.browse({ queue: 'missing' }, { afterId: 0, max: 1, now: T0 }), 'queue_not_found');
    });

    test('FIFO: each group in order, one batch of a group leased at a time, other groups in parallel', async () => {
      await store.putQueue('f', settings({ ordering: 'fifo' }), T0);
      const g = (text: string, group: string | null) => message(text, { group });
      await store.produce('f', [g('a1', 'a'), g('b1', 'b'), g('a2', 'a'), g('a3', 'a'), g('b2', 'b'), g('n1', null)], opts());
      const leases = await claimFrom('f', 10, T0, 1000);
      // The ready run at the head of each group, in log order (so each group in its own order).
      expect(leases.map((l) => l.message.value.toString())).toEqual(['a1', 'b1', 'a2', 'a3', 'b2', 'n1']);
      expect(leases.map((l) => l.message.group)).toEqual(['a', 'b', 'a', 'a', 'b', null]);
      await store.produce('f', [g('a4', 'a'), g('c1', 'c')], opts());
      // a and b are leased: only c may go, whatever max says.
      expect(values(await claimFrom('f', 10, T0, 1000))).toEqual(['c1']);
      // Acking a1 and a2 while a3 is still leased keeps a blocked.
      await store.settle({ queue: 'f' }, [leases[0].ref, leases[2].ref], { kind: 'ack' }, T0);
      expect(values(await claimFrom('f', 10, T0, 1000))).toEqual([]);
      // a3 is nacked (a retry): it comes again before a4, in the same batch.
      await store.settle({ queue: 'f' }, [leases[3].ref], { kind: 'nack', availableAt: T0 }, T0);
      const retried = await claimFrom('f', 10, T0, 1000);
      expect(retried.map((l) => [l.message.value.toString(), l.deliveryCount])).toEqual([['a3', 2], ['a4', 1]]);
      // Every lease runs out: each group comes again from its head, in order.
      expect(values(await claimFrom('f', 10, T0 + 1000, 1000))).toEqual(['b1', 'a3', 'b2', 'n1', 'a4', 'c1']);
    });

    test('FIFO: the group of the oldest ready message goes first, then the others; a busy group does not hold them up', async () => {
      await store.putQueue('f', settings({ ordering: 'fifo' }), T0);
      const g = (text: string, group: string) => message(text, { group });
      await store.produce('f', [g('m1', 'm'), g('m2', 'm')], opts());
      await store.produce('f', [g('z1', 'z'), g('a1', 'a')], opts(T0 + 1));
      expect(values(await claimFrom('f', 2, T0 + 1, 1000))).toEqual(['m1', 'm2']);
      // m is leased with more behind it: the other groups are still found.
      await store.produce('f', Array.from({ length: 50 }, (_, i) => g(`m${i + 3}`, 'm')), opts(T0 + 2));
      expect(values(await claimFrom('f', 1, T0 + 2, 1000)).concat(values(await claimFrom('f', 1, T0 + 2, 1000)))).toEqual(['z1', 'a1']);
      expect(values(await claimFrom('f', 5, T0 + 2, 1000))).toEqual([]);
    });

    test('a lease remembers when the message was first delivered', async () => {
      await store.produce('q', [message('a')], opts());
      const [first] = await claim(1, T0 + 5);
      expect(first.firstDeliveredAt).toBe(T0 + 5);
      const [again] = await claim(1, T0 + 5000);
      expect(again).toMatchObject({ deliveryCount: 2, firstDeliveredAt: T0 + 5 });
    });

    test('queue settings round-trip: ordering, deduplication, receive wait and tags (a PUT replaces them)', async () => {
      const put = await store.putQueue('t', settings({ ordering: 'fifo', contentBasedDeduplication: true, receiveWaitMs: 20_000, tags: { team: 'a', env: 'x' } }), T0);
      expect(put.queue).toMatchObject({ ordering: 'fifo', contentBasedDeduplication: true, receiveWaitMs: 20_000, tags: { team: 'a', env: 'x' } });
      const again = await store.putQueue('t', settings({ ordering: 'fifo', contentBasedDeduplication: true, receiveWaitMs: 20_000, tags: { team: 'b' } }), T0 + 1);
      expect(again.queue.tags).toEqual({ team: 'b' });
      await expect((await harness.reopen()).getQueue('t')).resolves.toMatchObject({ tags: { team: 'b' }, ordering: 'fifo' });
    });

    test('move tasks are kept in the store, newest first, the newest 10 per queue', async () => {
      for (let i = 0; i < 12; i++) {
        await store.recordMoveTask('q', { handle: `h${i}`, destination: i === 11 ? 'elsewhere' : null, maxPerSecond: i === 11 ? null : 5, moved: i, toMove: i + 1, startedAt: T0 + i });
      }
      const reopened = await harness.reopen();
      const tasks = await reopened.moveTasks('q', 100);
      expect(tasks.map((task) => task.handle)).toEqual(['h11', 'h10', 'h9', 'h8', 'h7', 'h6', 'h5', 'h4', 'h3', 'h2']);
      expect(tasks[0]).toEqual({ handle: 'h11', destination: 'elsewhere', maxPerSecond: null, moved: 11, toMove: 12, startedAt: T0 + 11 });
      expect(tasks[1].destination).toBeNull();
      expect(await reopened.moveTasks('q', 1)).toHaveLength(1);
      await expectCode(reopened.moveTasks('missing', 1), 'queue_not_found');
    });

    test('the receipt secret is at least 32 bytes, kept across a reopen, and its own to each store', async () => {
      const secret = await store.receiptSecret();
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(await (await harness.reopen()).receiptSecret()).toEqual(secret);
      const other = await open();
      try {
        expect(await other.store.receiptSecret()).not.toEqual(secret);
      } finally {
        await other.cleanup();
      }
    });

    test('produce to a missing queue stores nothing', async () => {
      await expectCode(store.produce('missing', [message('x')], opts()), 'queue_not_found');
    });

    test('an idempotency key repeated inside the window returns the original and outlives ack and purge', async () => {
      const [first] = await store.produce('q', [message('a', { idempotencyKey: 'k1' })], opts());
      const [lease] = await claim();
      expect(await store.settle({ queue: 'q' }, [lease.ref], { kind: 'ack' }, T0)).toEqual(['acked']);
      const [afterAck] = await store.produce('q', [message('b', { idempotencyKey: 'k1' })], opts(T0 + 10));
      expect(afterAck).toEqual({ ...first, duplicate: true });
      await store.purgeQueue('q');
      const [afterPurge] = await store.produce('q', [message('c', { idempotencyKey: 'k1' })], opts(T0 + 20));
      expect(afterPurge.duplicate).toBe(true);
      expect((await store.queueStats('q', T0 + 20)).produced).toBe(1);
      const [later] = await store.produce('q', [message('d', { idempotencyKey: 'k1' })], opts(T0 + WINDOW + 1));
      expect(later.duplicate).toBe(false);
      expect(later.offset).toBe(1);
    });

    test('a key repeated within one batch is stored once', async () => {
      const results = await store.produce('q', [message('a', { idempotencyKey: 'k' }), message('b', { idempotencyKey: 'k' })], opts());
      expect(results[1]).toEqual({ ...results[0], duplicate: true });
      expect(values(await claim())).toEqual(['a']);
    });

    test('claim leases oldest first, at most max, and hides leased messages until the lease expires', async () => {
      await store.produce('q', ['a', 'b', 'c'].map((v) => message(v)), opts());
      expect(values(await claim(2))).toEqual(['a', 'b']);
      expect(values(await claim(10, T0 + 999))).toEqual(['c']);
      expect(await claim(10, T0 + 999)).toEqual([]);
      const again = await claim(10, T0 + 1000);
      expect(values(again)).toEqual(['a', 'b']);
      expect(again.map((l) => l.deliveryCount)).toEqual([2, 2]);
    });

    test('a delayed message is not claimable before its time, and nextAvailableAt says when', async () => {
      await store.produce('q', [message('later', { delayMs: 5000 })], opts());
      expect(await claim()).toEqual([]);
      expect(await store.nextAvailableAt({ queue: 'q' }, T0)).toBe(T0 + 5000);
      expect(values(await claim(10, T0 + 5000))).toEqual(['later']);
    });

    test('a receipt settles only its own live lease', async () => {
      await store.produce('q', [message('a'), message('b')], opts());
      const [a, b] = await claim();
      // The lease of a expires and a is delivered again: the first receipt is fenced off.
      const [a2] = await claim(1, T0 + 1000);
      expect(a2.deliveryCount).toBe(2);
      expect(await store.settle({ queue: 'q' }, [a.ref, a2.ref], { kind: 'ack' }, T0 + 1000)).toEqual(['expired', 'acked']);
      expect(await store.settle({ queue: 'q' }, [a2.ref], { kind: 'ack' }, T0 + 1000)).toEqual(['unknown']);
      // b's lease ran out without redelivery: refused all the same.
      expect(await store.settle({ queue: 'q' }, [b.ref], { kind: 'ack' }, T0 + 1000)).toEqual(['expired']);
      expect(await store.settle({ queue: 'q' }, [{ ...b.ref, deliveryCount: 7 }], { kind: 'ack' }, T0)).toEqual(['unknown']);
    });

    // Each kind of settlement with the stale ref alone: beside the live ref, the live one's own settlement
    // would hide what the stale one did (an ack that deleted the message, a nack that freed it).
    const staleSettlements: Array<{ settlement: Settlement; done: SettleStatus }> = [
      { settlement: { kind: 'ack' }, done: 'acked' },
      { settlement: { kind: 'nack', availableAt: T0 + 1000 }, done: 'nacked' },
      { settlement: { kind: 'extend', leaseUntil: T0 + 60_000 }, done: 'extended' },
    ];
    test.each(staleSettlements)(
      'a stale ref alone ($settlement.kind) changes nothing: the live lease holds until its own end, and its ref settles it',
      async ({ settlement, done }) => {
        await store.produce('q', [message('a')], opts());
        const [stale] = await claim();
        const [live] = await claim(1, T0 + 1000);
        expect(await store.settle({ queue: 'q' }, [stale.ref], settlement, T0 + 1000)).toEqual(['expired']);
        const state = async (now: number) => (await store.browse({ queue: 'q' }, { afterId: 0, max: 10, now })).map((m) => [m.state, m.deliveryCount]);
        // The second delivery's lease, as its claim made it: to T0 + 2000, not freed, not moved.
        expect(await state(T0 + 1999)).toEqual([['leased', 2]]);
        expect(await state(T0 + 2000)).toEqual([['ready', 2]]);
        expect(await store.settle({ queue: 'q' }, [live.ref], settlement, T0 + 1000)).toEqual([done]);
      },
    );

    test('a ref issued by another queue is unknown here and leaves that queue alone', async () => {
      await store.putQueue('other', settings(), T0);
      await store.produce('other', [message('theirs')], opts());
      const [theirs] = await claimFrom('other', 1, T0, 1000);
      expect(await store.settle({ queue: 'q' }, [theirs.ref], { kind: 'ack' }, T0)).toEqual(['unknown']);
      expect(await store.settle({ queue: 'other' }, [theirs.ref], { kind: 'ack' }, T0)).toEqual(['acked']);
    });

    test("without their own values, a claim's lease and a message's delay are the queue's", async () => {
      await store.putQueue('q', settings({ visibilityTimeoutMs: 7000, delayMs: 300 }), T0);
      await store.produce('q', [message('a')], opts());
      expect(await claim(10, T0 + 299, null)).toEqual([]);
      expect(values(await claim(10, T0 + 300, null))).toEqual(['a']);
      expect(await store.nextAvailableAt({ queue: 'q' }, T0 + 300)).toBe(T0 + 7300);
    });

    test('a message over the queue maxMessageBytes fails the whole produce', async () => {
      await store.putQueue('q', settings({ maxMessageBytes: 10 }), T0);
      await expectCode(store.produce('q', [message('small'), message('x', { bytes: 11 })], opts()), 'message_too_large');
      expect(await claim()).toEqual([]);
    });

    test('nack makes a message ready again after its delay; extend keeps it leased', async () => {
      await store.produce('q', [message('a'), message('b')], opts());
      const [a, b] = await claim();
      expect(await store.settle({ queue: 'q' }, [a.ref], { kind: 'nack', availableAt: T0 + 500 }, T0)).toEqual(['nacked']);
      expect(await store.settle({ queue: 'q' }, [a.ref], { kind: 'ack' }, T0)).toEqual(['expired']);
      expect(await store.settle({ queue: 'q' }, [b.ref], { kind: 'extend', leaseUntil: T0 + 5000 }, T0)).toEqual(['extended']);
      expect(await claim(10, T0 + 499)).toEqual([]);
      const later = await claim(10, T0 + 500, 10_000);
      expect(values(later)).toEqual(['a']);
      expect(later[0].deliveryCount).toBe(2);
      expect(await claim(10, T0 + 4999)).toEqual([]);
      expect(await store.settle({ queue: 'q' }, [b.ref], { kind: 'ack' }, T0 + 4999)).toEqual(['acked']);
    });

    test('past maxDeliveries a message moves to the dead-letter queue with its headers, source and count', async () => {
      await store.putQueue('dlq', settings(), T0);
      await store.putQueue('q', settings({ maxDeliveries: 2, deadLetterQueue: 'dlq' }), T0);
      await store.produce('q', [message('poison', { key: 'k', headers: { trace: 't1' } })], opts());
      expect((await claim(1, T0))[0].deliveryCount).toBe(1);
      expect((await claim(1, T0 + 1000))[0].deliveryCount).toBe(2);
      expect(await claim(1, T0 + 2000)).toEqual([]);
      const [dead] = await claimFrom('dlq', 1, T0 + 2000, 1000);
      expect(dead.message.value.toString()).toBe('poison');
      expect(dead.message.key).toBe('k');
      expect(dead.message.headers).toEqual({ trace: 't1', 'mqgate-dead-letter-source': 'q', 'mqgate-delivery-count': '2' });
      expect(dead.deliveryCount).toBe(1);
      const stats = await store.queueStats('q', T0 + 2000);
      expect(stats).toMatchObject({ ready: 0, inFlight: 0, deadLettered: 1 });
    });

    test('redrive moves ready dead letters back to their source with a fresh count', async () => {
      await store.putQueue('dlq', settings(), T0);
      await store.putQueue('q', settings({ maxDeliveries: 1, deadLetterQueue: 'dlq' }), T0);
      await store.produce('q', [message('x', { headers: { trace: 't' } })], opts());
      await claim(1, T0);
      expect(await claim(1, T0 + 1000)).toEqual([]);
      expect(await store.redrive('dlq', 10, T0 + 1000, null)).toEqual({ redriven: 1, remaining: 0 });
      const [back] = await claim(1, T0 + 1000);
      expect(back.message.value.toString()).toBe('x');
      expect(back.message.headers).toEqual({ trace: 't' });
      expect(back.deliveryCount).toBe(1);
    });

    test('redrive leaves messages without a living source', async () => {
      await store.putQueue('dlq', settings(), T0);
      await store.produce('dlq', [message('orphan')], opts());
      expect(await store.redrive('dlq', 10, T0, null)).toEqual({ redriven: 0, remaining: 1 });
    });

    test('redrive to a named queue moves every ready dead letter there, source or not, without the dead-letter headers', async () => {
      await store.putQueue('dlq', settings(), T0);
      await store.putQueue('elsewhere', settings(), T0);
      await store.putQueue('q', settings({ maxDeliveries: 1, deadLetterQueue: 'dlq' }), T0);
      await store.produce('dlq', [message('orphan', { group: 'g' })], opts());
      await store.produce('q', [message('x', { headers: { trace: 't' } })], opts());
      await claim(1, T0);
      expect(await claim(1, T0 + 1000)).toEqual([]);
      expect(await store.redrive('dlq', 10, T0 + 1000, 'elsewhere')).toEqual({ redriven: 2, remaining: 0 });
      const moved = await claimFrom('elsewhere', 10, T0 + 1000, 1000);
      expect(moved.map((l) => [l.message.value.toString(), l.message.headers, l.message.group, l.deliveryCount])).toEqual([
        ['orphan', {}, 'g', 1],
        ['x', { trace: 't' }, null, 1],
      ]);
      expect((await store.queueStats('q', T0 + 1000)).ready).toBe(0);
      await expectCode(store.redrive('dlq', 10, T0, 'missing'), 'queue_not_found');
    });

    test('purge deletes every message, leased or not', async () => {
      await store.produce('q', ['a', 'b', 'c'].map((v) => message(v)), opts());
      await claim(1);
      expect(await store.purgeQueue('q')).toBe(3);
      expect(await claim(10, T0 + 5000)).toEqual([]);
      const [next] = await store.produce('q', [message('d')], opts());
      expect(next.offset).toBe(3);
    });

    test('a queue quota refuses a whole produce past it, counts duplicates as nothing, and frees up on ack and purge', async () => {
      await store.putQueue('q', settings({ maxStoredMessages: 3, maxStoredBytes: 100 }), T0);
      await store.produce('q', [message('a', { idempotencyKey: 'k' }), message('b')], opts());
      await expectCode(store.produce('q', [message('c'), message('d')], opts()), 'quota_exceeded');
      // A retry of an acknowledged produce still gets its original answer at the cap.
      await store.produce('q', [message('c')], opts());
      const [again] = await store.produce('q', [message('a', { idempotencyKey: 'k' })], opts());
      expect(again.duplicate).toBe(true);
      expect((await store.queueStats('q', T0)).ready).toBe(3);
      const [a] = await claim(1);
      expect(await store.settle({ queue: 'q' }, [a.ref], { kind: 'ack' }, T0)).toEqual(['acked']);
      await store.produce('q', [message('d')], opts());
      await expectCode(store.produce('q', [message('e')], opts()), 'quota_exceeded');
      await store.purgeQueue('q');
      await expectCode(store.produce('q', [message('x'.repeat(101))], opts()), 'quota_exceeded');
      await store.produce('q', [message('x'.repeat(100))], opts());
      await expectCode(store.produce('q', [message('y')], opts()), 'quota_exceeded');
    });

    test('a topic quota spans its partitions; retention frees it', async () => {
      await store.putTopic('t', topicSettings({ partitions: 2, retentionMs: 1000, maxStoredBytes: 10 }), T0);
      const at = (partition: number, text: string) => ({ ...message(text), partition });
      await store.produceTopic('t', [at(0, 'aaaa'), at(1, 'bbbb')], opts());
      await expectCode(store.produceTopic('t', [at(1, 'ccc')], opts()), 'quota_exceeded');
      await store.produceTopic('t', [at(1, 'cc')], opts(T0 + 500));
      await store.sweep(sweepAt(T0 + 1200));
      await store.produceTopic('t', [at(0, 'dddddddd')], opts(T0 + 1200));
      expect((await store.topicPartitions('t')).map((p) => p.bytes)).toEqual([8, 2]);
    });

    test('dead letters and redrives are never refused by a full dead-letter queue or source', async () => {
      await store.putQueue('dlq', settings({ maxStoredMessages: 1 }), T0);
      await store.putQueue('q', settings({ maxDeliveries: 1, deadLetterQueue: 'dlq', maxStoredMessages: 1 }), T0);
      await store.produce('dlq', [message('already')], opts());
      await store.produce('q', [message('x')], opts());
      await claim(1, T0);
      expect(await claim(1, T0 + 1000)).toEqual([]);
      expect((await store.queueStats('dlq', T0 + 1000)).ready).toBe(2);
      await store.produce('q', [message('y')], opts(T0 + 1000));
      expect(await store.redrive('dlq', 10, T0 + 1000, null)).toMatchObject({ redriven: 1 });
      expect((await store.queueStats('q', T0 + 1000)).ready).toBe(2);
    });

    test('a queue that is a dead-letter queue cannot be deleted; others can', async () => {
      await store.putQueue('dlq', settings(), T0);
      await store.putQueue('q', settings({ maxDeliveries: 1, deadLetterQueue: 'dlq' }), T0);
      await expectCode(store.deleteQueue('dlq'), 'queue_in_use');
      await store.deleteQueue('q');
      await store.deleteQueue('dlq');
      expect(await store.listQueues(ALL)).toEqual({ items: [], next: null });
      await expectCode(store.deleteQueue('q'), 'queue_not_found');
    });

    test('stats count ready, in-flight and delayed messages and the age of the oldest ready one', async () => {
      await store.produce('q', [message('a'), message('b')], opts());
      await store.produce('q', [message('c', { delayMs: 10_000 })], opts(T0 + 100));
      await claim(1, T0 + 200);
      expect(await store.queueStats('q', T0 + 300)).toEqual({
        ready: 1,
        inFlight: 1,
        delayed: 1,
        bytes: 3,
        oldestReadyAgeMs: 300,
        produced: 3,
        acked: 0,
        deadLettered: 0,
      });
    });

    test('onAvailable fires after a commit that made messages ready, not for delayed ones', async () => {
      const seen: string[] = [];
      const off = store.onAvailable((queue) => seen.push(queue));
      await store.produce('q', [message('later', { delayMs: 1000 })], opts());
      expect(seen).toEqual([]);
      await store.produce('q', [message('now')], opts());
      expect(seen).toEqual(['q']);
      off();
      await store.produce('q', [message('unheard')], opts());
      expect(seen).toEqual(['q']);
    });

    test('sweep removes messages past retention, oldest first, within its budget', async () => {
      await store.putQueue('q', settings({ retentionMs: 10_000 }), T0);
      await store.produce('q', ['a', 'b', 'c'].map((v) => message(v)), opts(T0));
      await store.produce('q', [message('young')], opts(T0 + 5000));
      expect(await store.sweep(sweepAt(T0 + 10_001, { budget: 2 }))).toMatchObject({ expiredMessages: 2 });
      expect(await store.sweep(sweepAt(T0 + 10_001, { budget: 10 }))).toMatchObject({ expiredMessages: 1 });
      expect(values(await claim(10, T0 + 10_001))).toEqual(['young']);
    });

    test('sweep looks at `partitions` queues and partitions a call, going on where the call before stopped', async () => {
      for (const name of ['a1', 'a2', 'a3']) {
        await store.putQueue(name, settings({ retentionMs: 10_000 }), T0);
        await store.produce(name, [message(`${name}-old`)], opts(T0));
      }
      await store.produce('a3', [message('a3-old-2')], opts(T0));
      await store.putTopic('t', topicSettings({ partitions: 2, retentionMs: 10_000 }), T0);
      await store.produceTopic('t', [{ ...message('t-old'), partition: 1 }], opts(T0));
      const now = T0 + 10_001;
      // In creation order: q (kept 4 days), a1, then a2 and a3, then t's two partitions.
      const first = await store.sweep(sweepAt(now, { partitions: 2 }));
      expect(first).toMatchObject({ expiredMessages: 1, resumeAfter: expect.any(String) });
      // Out of budget in a3: the next call starts with a3 again.
      const second = await store.sweep(sweepAt(now, { partitions: 2, budget: 2, resumeAfter: first.resumeAfter }));
      expect(second).toMatchObject({ expiredMessages: 2 });
      const third = await store.sweep(sweepAt(now, { partitions: 2, resumeAfter: second.resumeAfter }));
      expect(third).toMatchObject({ expiredMessages: 1, resumeAfter: expect.any(String) });
      const fourth = await store.sweep(sweepAt(now, { partitions: 2, resumeAfter: third.resumeAfter }));
      expect(fourth).toMatchObject({ expiredMessages: 1 });
      // Past the last partition, the walk starts again from the first.
      expect(fourth.resumeAfter).toBeNull();
      for (const name of ['a1', 'a2', 'a3']) expect((await store.queueStats(name, now)).ready).toBe(0);
      expect((await store.topicPartitions('t')).map((p) => p.startOffset)).toEqual([0, 1]);
    });

    test('sweep forgets idempotency keys past the window', async () => {
      await store.produce('q', [message('a', { idempotencyKey: 'k' })], opts(T0));
      expect(await store.sweep(sweepAt(T0 + WINDOW + 1, { budget: 10 }))).toMatchObject({ expiredKeys: 1 });
    });

    test('topics: partitions grow, never shrink, and share the namespace with queues', async () => {
      const { topic, created } = await store.putTopic('t', topicSettings({ partitions: 2 }), T0);
      expect(created).toBe(true);
      expect(topic).toMatchObject({ name: 't', partitions: 2 });
      expect((await store.putTopic('t', topicSettings({ partitions: 5 }), T0)).topic.partitions).toBe(5);
      expect((await store.topicPartitions('t')).map((p) => p.partition)).toEqual([0, 1, 2, 3, 4]);
      await expectCode(store.putTopic('t', topicSettings({ partitions: 4 }), T0), 'partitions_cannot_shrink');
      await expectCode(store.putTopic('q', topicSettings(), T0), 'name_in_use');
      await expectCode(store.putQueue('t', settings(), T0), 'name_in_use');
      expect((await store.listTopics(ALL)).items.map((x) => x.name)).toEqual(['t']);
      expect((await store.listQueues(ALL)).items.map((x) => x.name)).toEqual(['q']);
    });

    test('topics: dense offsets per partition, reads by offset within the range only', async () => {
      await store.putTopic('t', topicSettings({ partitions: 2 }), T0);
      const results = await store.produceTopic(
        't',
        [0, 1, 0, 0].map((partition, i) => ({ ...message(`v${i}`), partition })),
        opts(),
      );
      expect(results.map((r) => [r.partition, r.offset])).toEqual([[0, 0], [1, 0], [0, 1], [0, 2]]);
      const read = await store.readPartition('t', 0, { offset: 1, max: 10, maxBytes: 1000 });
      expect(read).toMatchObject({ startOffset: 0, endOffset: 3 });
      expect(values(read.messages.map((m) => ({ message: m })))).toEqual(['v2', 'v3']);
      expect((await store.readPartition('t', 0, { offset: 3, max: 10, maxBytes: 1000 })).messages).toEqual([]);
      await expectCode(store.readPartition('t', 0, { offset: 4, max: 10, maxBytes: 1000 }), 'offset_out_of_range');
      await expectCode(store.readPartition('t', 2, { offset: 0, max: 10, maxBytes: 1000 }), 'partition_not_found');
      await expectCode(store.produceTopic('t', [{ ...message('x'), partition: 2 }], opts()), 'partition_not_found');
      expect(await store.topicPartitions('t')).toEqual([
        { partition: 0, startOffset: 0, endOffset: 3, bytes: 6 },
        { partition: 1, startOffset: 0, endOffset: 1, bytes: 2 },
      ]);
    });

    test('topics: offsetForTimestamp and size retention', async () => {
      await store.putTopic('t', topicSettings({ retentionBytes: 4 }), T0);
      await store.produceTopic('t', [{ ...message('aa'), partition: 0 }], opts(T0));
      await store.produceTopic('t', [{ ...message('bb'), partition: 0 }], opts(T0 + 10));
      await store.produceTopic('t', [{ ...message('cc'), partition: 0 }], opts(T0 + 20));
      expect(await store.offsetForTimestamp('t', 0, T0 + 5)).toBe(1);
      expect(await store.offsetForTimestamp('t', 0, T0 + 21)).toBe(3);
      await store.sweep(sweepAt(T0 + 20, { budget: 10 }));
      expect((await store.topicPartitions('t'))[0]).toEqual({ partition: 0, startOffset: 1, endOffset: 3, bytes: 4 });
      await store.deleteTopic('t');
      expect(await store.getTopic('t')).toBeNull();
    });

    test('a commit without a member id is refused while the group has members, as a simple fetch is', async () => {
      const defaults = { resetPolicy: 'earliest' as const, sessionTimeoutMs: 1000 };
      await store.putTopic('t', topicSettings(), T0);
      await store.produceTopic('t', [{ ...message('a'), partition: 0 }], opts());
      const member = await store.joinGroup('t', 'g', 'm', T0, defaults);
      await store.commitGroup('t', 'g', { memberId: 'm', generation: member.generation, offsets: [{ partition: 0, offset: 1 }] }, T0);
      const simple = { memberId: null, generation: null, offsets: [{ partition: 0, offset: 0 }] };
      await expectCode(store.commitGroup('t', 'g', simple, T0), 'group_has_members');
      expect((await store.describeGroup('t', 'g', T0)).partitions[0].committed).toBe(1);
    });

    test('after a restart a group reads on from its committed offsets: what fetches took before it is not committed by a bare commit', async () => {
      const defaults = { resetPolicy: 'earliest' as const, sessionTimeoutMs: 60_000 };
      await store.putTopic('t', topicSettings(), T0);
      await store.produceTopic('t', ['a', 'b', 'c'].map((v) => ({ ...message(v), partition: 0 })), opts());
      const simple = { memberId: null, max: 2, maxBytes: 1000, now: T0, defaults };
      await store.fetchGroup('t', 'g', simple);
      // The gateway dies before the fetch's answer reaches the client.
      store = await harness.reopen();
      const bare = { memberId: null, generation: null, offsets: null };
      expect((await store.commitGroup('t', 'g', bare, T0)).offsets).toEqual([{ partition: 0, offset: 0 }]);
      const again = await store.fetchGroup('t', 'g', { ...simple, max: 10 });
      expect(values(again.messages.map((m) => ({ message: m })))).toEqual(['a', 'b', 'c']);
      expect((await store.commitGroup('t', 'g', bare, T0)).offsets).toEqual([{ partition: 0, offset: 3 }]);
    });

    test('groups: members split the partitions, fetches move positions, commits are fenced, seeks replay', async () => {
      const defaults = { resetPolicy: 'earliest' as const, sessionTimeoutMs: 1000 };
      await store.putTopic('t', topicSettings({ partitions: 2 }), T0);
      await store.produceTopic('t', [0, 1, 0, 1].map((partition, i) => ({ ...message(`v${i}`), partition })), opts());
      const a = await store.joinGroup('t', 'g', 'a', T0, defaults);
      const b = await store.joinGroup('t', 'g', 'b', T0, defaults);
      expect([a.partitions, b.partitions]).toEqual([[0, 1], [1]]);
      const fetchA = await store.fetchGroup('t', 'g', { memberId: 'a', max: 10, maxBytes: 1000, now: T0, defaults });
      expect(fetchA).toMatchObject({ generation: b.generation, partitions: [0] });
      expect(values(fetchA.messages.map((m) => ({ message: m })))).toEqual(['v0', 'v2']);
      await expectCode(store.commitGroup('t', 'g', { memberId: 'a', generation: a.generation, offsets: null }, T0), 'stale_generation');
      const committed = await store.commitGroup('t', 'g', { memberId: 'a', generation: b.generation, offsets: null }, T0);
      expect(committed.offsets).toEqual([{ partition: 0, offset: 2 }]);
      // b never fetches: past its session timeout a is alone and owns both partitions.
      await store.fetchGroup('t', 'g', { memberId: 'a', max: 10, maxBytes: 1000, now: T0 + 600, defaults });
      const described = await store.describeGroup('t', 'g', T0 + 1100);
      expect(described.members.map((m) => [m.memberId, m.partitions])).toEqual([['a', [0, 1]]]);
      expect(described.partitions.map((p) => [p.committed, p.lag])).toEqual([[2, 0], [null, 2]]);
      expect(await store.seekGroup('t', 'g', { to: 'earliest' }, [0], T0 + 1100)).toEqual([{ partition: 0, offset: 0 }]);
      expect((await store.describeGroup('t', 'g', T0 + 1100)).partitions[0].lag).toBe(2);
      await store.leaveGroup('t', 'g', 'a', T0 + 1100);
      await expectCode(store.leaveGroup('t', 'g', 'a', T0 + 1100), 'unknown_member');
      expect((await store.listGroups('t', ALL, T0)).items.map((g) => g.name)).toEqual(['g']);
      await store.deleteGroup('t', 'g', T0);
      await expectCode(store.describeGroup('t', 'g', T0), 'group_not_found');
    });

    test('topic subscriptions: each gets every message once, acks leave the message for the others', async () => {
      await store.putTopic('t', topicSettings({ partitions: 2 }), T0);
      await store.putSubscription('t', 'old', { visibilityTimeoutMs: 1000, maxDeliveries: null, deadLetterQueue: null }, false, T0);
      await store.produceTopic('t', [{ ...message('a'), partition: 0 }], opts());
      const late = { visibilityTimeoutMs: 1000, maxDeliveries: null, deadLetterQueue: null };
      await store.putSubscription('t', 'late', late, false, T0);
      await store.putSubscription('t', 'full', late, true, T0);
      await store.produceTopic('t', [{ ...message('b'), partition: 1 }], opts());
      const take = async (subscription: string) => {
        const { subscriptionId, leases } = await store.claim({ topic: 't', subscription }, { max: 10, now: T0, visibilityTimeoutMs: null });
        return { values: values(leases), refs: leases.map((l) => ({ subscriptionId, messageId: l.message.id, deliveryCount: l.deliveryCount })) };
      };
      const old = await take('old');
      expect(old.values).toEqual(['a', 'b']);
      expect((await take('late')).values).toEqual(['b']);
      expect((await take('full')).values).toEqual(['a', 'b']);
      expect(await store.settle({ topic: 't', subscription: 'old' }, old.refs, { kind: 'ack' }, T0)).toEqual(['acked', 'acked']);
      expect((await store.readPartition('t', 0, { offset: 0, max: 10, maxBytes: 1000 })).messages).toHaveLength(1);
      expect(await store.subscriptionStats('t', 'full', T0)).toMatchObject({ inFlight: 2, acked: 0 });
      expect((await store.listSubscriptions('t', ALL)).items.map((s) => s.name)).toEqual(['full', 'late', 'old']);
      await store.deleteSubscription('t', 'late');
      expect(await store.getSubscription('t', 'late')).toBeNull();
      await expectCode(store.claim({ topic: 't', subscription: 'late' }, { max: 1, now: T0, visibilityTimeoutMs: null }), 'subscription_not_found');
    });

    test('renewLease counts a new delivery of a live lease and fences the old ref; deadLetterLease moves a live lease at once', async () => {
      await store.putQueue('dlq', settings(), T0);
      await store.produce('q', [message('a', { headers: { h: '1' } }), message('b')], opts());
      const [a, b] = await claim(2);
      const renewed = await store.renewLease({ queue: 'q' }, a.ref, T0 + 5000, T0 + 1);
      expect(renewed).toEqual({ ...a.ref, deliveryCount: 2 });
      expect(await store.renewLease({ queue: 'q' }, a.ref, T0 + 5000, T0 + 1)).toBeNull();
      // Past the claim's lease b comes back; a is still leased: the renewal moved its end.
      expect(values(await claim(10, T0 + 2000))).toEqual(['b']);
      expect(await store.settle({ queue: 'q' }, [a.ref], { kind: 'ack' }, T0 + 2)).toEqual(['expired']);
      expect(await store.deadLetterLease({ queue: 'q' }, renewed as DeliveryRef, 'dlq', { why: 'refused' }, T0 + 3)).toBe(true);
      expect(await store.deadLetterLease({ queue: 'q' }, renewed as DeliveryRef, 'dlq', {}, T0 + 3)).toBe(false);
      // A lease that ran out (b's first) can be neither renewed nor dead-lettered.
      expect(await store.renewLease({ queue: 'q' }, b.ref, T0 + 9000, T0 + 2001)).toBeNull();
      expect(await store.deadLetterLease({ queue: 'q' }, b.ref, 'dlq', {}, T0 + 2001)).toBe(false);
      const [dead] = await claimFrom('dlq', 10, T0 + 4, null);
      expect(dead.message.headers).toEqual({ h: '1', why: 'refused', 'mqgate-dead-letter-source': 'q', 'mqgate-delivery-count': '2' });
      expect(await store.queueStats('q', T0 + 4)).toMatchObject({ deadLettered: 1 });
    });

    test('push subscriptions: sources that exist, a fixed source, counters, pause; deleted with their source', async () => {
      const push = {
        url: 'http://127.0.0.1:9/x',
        method: 'POST' as const,
        headers: { a: 'b' },
        timeoutMs: 1000,
        concurrency: 2,
        maxAttempts: 3,
        backoff: { initialMs: 10, maxMs: 100, multiplier: 2, jitter: 0 },
        ordering: 'key' as const,
        deadLetterQueue: null,
        retryClientErrors: false,
      };
      const group = { resetPolicy: 'earliest' as const, sessionTimeoutMs: 1000 };
      await expectCode(store.putPush('p', { queue: 'missing' }, push, null, T0, group), 'queue_not_found');
      await expectCode(store.putPush('p', { queue: 'q' }, { ...push, deadLetterQueue: 'nope' }, null, T0, group), 'dead_letter_queue_not_found');
      const created = await store.putPush('p', { queue: 'q' }, push, 's3cret', T0, group);
      expect(created).toMatchObject({ created: true, push: { ...push, name: 'p', source: { queue: 'q' }, secret: 's3cret', paused: false } });
      await store.putQueue('other', settings(), T0);
      await expectCode(store.putPush('p', { queue: 'other' }, push, null, T0, group), 'source_cannot_change');
      expect((await store.putPush('p', { queue: 'q' }, { ...push, concurrency: 5 }, null, T0 + 1, group)).push).toMatchObject({ concurrency: 5, secret: null, updatedAt: T0 + 1 });

      await store.recordPush('p', { delivered: 2, failures: 1, deadLettered: 0, at: T0 + 5, lastError: { status: 503, error: 'HTTP 503' } });
      await store.recordPush('p', { delivered: 1, failures: 0, deadLettered: 0, at: T0 + 6, lastError: null });
      expect((await store.getPush('p'))?.counters).toEqual({
        delivered: 3,
        attempts: 4,
        failures: 1,
        deadLettered: 0,
        lastSuccessAt: T0 + 6,
        lastErrorAt: T0 + 5,
        lastError: { status: 503, error: 'HTTP 503' },
      });
      expect((await store.setPushPaused('p', true, T0 + 7)).paused).toBe(true);

      await store.putTopic('t', topicSettings(), T0);
      await store.putPush('g', { topic: 't', group: 'new' }, push, null, T0, group);
      expect((await store.describeGroup('t', 'new', T0)).resetPolicy).toBe('earliest');
      await store.putSubscription('t', 's', { visibilityTimeoutMs: 1000, maxDeliveries: null, deadLetterQueue: null }, false, T0);
      await store.putPush('s', { topic: 't', subscription: 's' }, push, null, T0, group);
      expect((await store.listPush(ALL)).items.map((p) => [p.name, p.source])).toEqual([
        ['g', { topic: 't', group: 'new' }],
        ['p', { queue: 'q' }],
        ['s', { topic: 't', subscription: 's' }],
      ]);
      await store.deleteSubscription('t', 's');
      await store.deleteQueue('q');
      expect((await store.listPush(ALL)).items.map((p) => p.name)).toEqual(['g']);
      await store.deletePush('g');
      await expectCode(store.deletePush('g'), 'push_subscription_not_found');
      expect(await store.getPush('g')).toBeNull();
    });

    test('checkReady resolves on a store that takes writes', async () => {
      await expect(store.checkReady()).resolves.toBeUndefined();
    });

    test('everything survives closing and reopening the store', async () => {
      await store.putTopic('t', topicSettings({ partitions: 3 }), T0);
      await store.produceTopic('t', [{ ...message('kept'), partition: 2 }], opts());
      await store.putQueue('dlq', settings(), T0);
      await store.putQueue('q', settings({ maxDeliveries: 3, deadLetterQueue: 'dlq' }), T0);
      await store.produce('q', [message('a', { idempotencyKey: 'k' }), message('b')], opts());
      const [a] = await claim(1);
      store = await harness.reopen();
      expect((await store.getQueue('q'))?.deadLetterQueue).toBe('dlq');
      expect(await store.settle({ queue: 'q' }, [a.ref], { kind: 'ack' }, T0 + 1)).toEqual(['acked']);
      expect(values(await claim())).toEqual(['b']);
      expect((await store.produce('q', [message('again', { idempotencyKey: 'k' })], opts()))[0].duplicate).toBe(true);
      const read = await store.readPartition('t', 2, { offset: 0, max: 10, maxBytes: 1000 });
      expect(read.messages.map((m) => m.value.toString())).toEqual(['kept']);
    });

    test('FIFO: one claim leases at most max messages, over all the groups it takes from', async () => {
      await store.putQueue('f', settings({ ordering: 'fifo' }), T0);
      const g = (text: string, group: string) => message(text, { group });
      await store.produce('f', [g('a1', 'a'), g('b1', 'b'), g('b2', 'b'), g('b3', 'b')], opts());
      expect(values(await claimFrom('f', 2, T0, 1000))).toEqual(['a1', 'b1']);
    });

    test("FIFO: a group's batch ends at its first message that is not ready: none behind it goes first", async () => {
      await store.putQueue('f', settings({ ordering: 'fifo' }), T0);
      await store.produce('f', ['g1', 'g2', 'g3'].map((text) => message(text, { group: 'g' })), opts());
      const [g1, g2, g3] = await claimFrom('f', 10, T0, 1000);
      await store.settle({ queue: 'f' }, [g1.ref, g3.ref], { kind: 'nack', availableAt: T0 }, T0);
      await store.settle({ queue: 'f' }, [g2.ref], { kind: 'nack', availableAt: T0 + 5000 }, T0);
      // g3 is ready, but g2 before it is not: g3 waits for it.
      expect(values(await claimFrom('f', 10, T0, 1000))).toEqual(['g1']);
      expect(values(await claimFrom('f', 10, T0 + 5000, 1000))).toEqual(['g1', 'g2', 'g3']);
    });

    test('a claim that dead-letters messages on its way goes on until it holds max leases, and takes no more', async () => {
      await store.putQueue('dlq', settings(), T0);
      await store.putQueue('q', settings({ maxDeliveries: 1, deadLetterQueue: 'dlq' }), T0);
      // At T0 + 1000 the order is p1 p2 p3 a p4 p5 b c d e, each p on its second delivery.
      const later = (text: string) => message(text, { delayMs: 1000 });
      await store.produce('q', [message('p1'), message('p2'), message('p3'), later('a'), message('p4'), message('p5'), ...['b', 'c', 'd', 'e'].map(later)], opts());
      expect(values(await claim(10))).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
      expect(values(await claim(4, T0 + 1000))).toEqual(['a', 'b', 'c', 'd']);
      expect(values(await claimFrom('dlq', 10, T0 + 1000, 1000))).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
      expect(values(await claim(10, T0 + 1000))).toEqual(['e']);
    });

    test('a claim with a zero lease takes each ready message once, and they are ready again at once', async () => {
      await store.produce('q', [message('a'), message('b')], opts());
      const deliveries = async () => (await claim(10, T0, 0)).map((l) => [l.message.value.toString(), l.deliveryCount]);
      expect(await deliveries()).toEqual([['a', 1], ['b', 1]]);
      expect(await deliveries()).toEqual([['a', 2], ['b', 2]]);
    });

    test('a ref another subscription of the topic issued is unknown here, though message and count match, and renews or dead-letters nothing', async () => {
      await store.putQueue('dlq', settings(), T0);
      await store.putTopic('t', topicSettings(), T0);
      const subscription = { visibilityTimeoutMs: 1000, maxDeliveries: null, deadLetterQueue: null };
      await store.putSubscription('t', 'one', subscription, false, T0);
      await store.putSubscription('t', 'two', subscription, false, T0);
      await store.produceTopic('t', [{ ...message('m'), partition: 0 }], opts());
      const take = async (name: string): Promise<DeliveryRef> => {
        const { subscriptionId, leases } = await store.claim({ topic: 't', subscription: name }, { max: 1, now: T0, visibilityTimeoutMs: null });
        return { subscriptionId, messageId: leases[0].message.id, deliveryCount: leases[0].deliveryCount };
      };
      const one = await take('one');
      const two = await take('two');
      const atTwo = { topic: 't', subscription: 'two' };
      expect(await store.renewLease(atTwo, one, T0 + 5000, T0)).toBeNull();
      expect(await store.deadLetterLease(atTwo, one, 'dlq', {}, T0)).toBe(false);
      for (const { settlement } of staleSettlements) expect(await store.settle(atTwo, [one], settlement, T0)).toEqual(['unknown']);
      // Each lease is as its claim made it: its own ref settles it.
      expect(await store.settle(atTwo, [two], { kind: 'ack' }, T0)).toEqual(['acked']);
      expect(await store.settle({ topic: 't', subscription: 'one' }, [one], { kind: 'ack' }, T0)).toEqual(['acked']);
      expect((await store.queueStats('dlq', T0)).ready).toBe(0);
    });

    test('onAvailable is told only of commits that made messages ready: not of acks, extends, delayed or stale nacks, nor duplicates', async () => {
      await store.putTopic('t', topicSettings(), T0);
      const keyed = { ...message('k', { idempotencyKey: 'k' }), partition: 0 };
      await store.produceTopic('t', [keyed], opts());
      await store.produce('q', [message('a'), message('b'), message('c', { idempotencyKey: 'c' })], opts());
      const [a, b, c] = await claim();
      const seen: string[] = [];
      const off = store.onAvailable((name) => seen.push(name));
      await store.produceTopic('t', [keyed], opts());
      await store.produce('q', [message('c', { idempotencyKey: 'c' })], opts());
      await store.settle({ queue: 'q' }, [a.ref], { kind: 'ack' }, T0);
      await store.settle({ queue: 'q' }, [b.ref], { kind: 'extend', leaseUntil: T0 + 5000 }, T0);
      await store.settle({ queue: 'q' }, [c.ref], { kind: 'nack', availableAt: T0 + 500 }, T0);
      expect(await store.settle({ queue: 'q' }, [a.ref, c.ref], { kind: 'nack', availableAt: T0 }, T0)).toEqual(['unknown', 'expired']);
      expect(seen).toEqual([]);
      await store.settle({ queue: 'q' }, [b.ref], { kind: 'nack', availableAt: T0 }, T0);
      expect(seen).toEqual(['q']);
      off();
    });

    test('maxMessageBytes is the largest size taken; the first message over it fails the produce, and the problem says which and by how much', async () => {
      await store.putQueue('q', settings({ maxMessageBytes: 10 }), T0);
      await store.produce('q', [message('x'.repeat(10))], opts());
      await expectCode(store.produce('q', [message('y'.repeat(11)), message('small')], opts()), 'message_too_large', /Message 0 is 11 bytes; 'q' accepts at most 10/);
      expect(values(await claim())).toEqual(['x'.repeat(10)]);
    });

    test('a standard queue remembers idempotency keys for the idempotency window, a FIFO queue for the FIFO window', async () => {
      await store.putQueue('f', settings({ ordering: 'fifo' }), T0);
      const windows = (now: number) => ({ ...opts(now), fifoIdempotencyWindowMs: 1000 });
      const duplicate = async (queue: string, now: number) => (await store.produce(queue, [message('x', { idempotencyKey: 'k' })], windows(now)))[0].duplicate;
      expect([await duplicate('q', T0), await duplicate('f', T0)]).toEqual([false, false]);
      expect([await duplicate('q', T0 + 5000), await duplicate('f', T0 + 5000)]).toEqual([true, false]);
    });

    test('refused produces say what was refused: the missing partition, or the quota with what is stored and what did not fit', async () => {
      await store.putTopic('t', topicSettings({ maxStoredBytes: 10 }), T0);
      await expectCode(store.produceTopic('t', [{ ...message('x'), partition: 2 }], opts()), 'partition_not_found', /'t' has no partition 2/);
      await store.produceTopic('t', [{ ...message('aaaaaaaa'), partition: 0 }], opts());
      await expectCode(store.produceTopic('t', [{ ...message('bbb'), partition: 0 }], opts()), 'quota_exceeded', /'t' stores 8 of at most 10 bytes; 3 more/);
      await store.putQueue('q', settings({ maxStoredMessages: 2 }), T0);
      await store.produce('q', [message('a')], opts());
      await expectCode(store.produce('q', [message('b'), message('c')], opts()), 'quota_exceeded', /'q' stores 1 of at most 2 messages; 2 more/);
    });

    /** What a simple consumer (no member id) of group g on topic t gets from one fetch. */
    const fetchValues = async (max: number, maxBytes: number): Promise<string[]> => {
      const fetched = await store.fetchGroup('t', 'g', { memberId: null, max, maxBytes, now: T0, defaults: { resetPolicy: 'earliest', sessionTimeoutMs: 1000 } });
      return values(fetched.messages.map((m) => ({ message: m })));
    };
    const at = (partition: number, text: string) => ({ ...message(text), partition });

    test('a group fetch gives each partition an even share of max first, and returns no more than max', async () => {
      await store.putTopic('t', topicSettings({ partitions: 2 }), T0);
      await store.produceTopic('t', ['a0', 'b0', 'a1', 'b1', 'a2', 'b2'].map((text, i) => at(i % 2, text)), opts());
      expect(await fetchValues(2, 1000)).toEqual(['a0', 'b0']);
      expect(await fetchValues(3, 1000)).toEqual(['a1', 'a2', 'b1']);
    });

    test('a group fetch keeps within maxBytes over all its partitions; only the first message may go past it', async () => {
      await store.putTopic('t', topicSettings({ partitions: 3 }), T0);
      await store.produceTopic('t', [at(0, 'aaaa'), at(1, 'bbbbbb'), at(1, 'bb'), at(2, 'cc')], opts());
      // 4 + 6 bytes fill the 10: the rest of partition 1 and all of partition 2 wait.
      expect(await fetchValues(10, 10)).toEqual(['aaaa', 'bbbbbb']);
      expect(await fetchValues(10, 1)).toEqual(['bb']);
      expect(await fetchValues(10, 10)).toEqual(['cc']);
    });

    test('a commit behind what the fetches read moves the committed offset, not the fetches: the next fetch reads on', async () => {
      await store.putTopic('t', topicSettings(), T0);
      await store.produceTopic('t', ['a', 'b', 'c'].map((text) => at(0, text)), opts());
      expect(await fetchValues(10, 1000)).toEqual(['a', 'b', 'c']);
      await store.commitGroup('t', 'g', { memberId: null, generation: null, offsets: [{ partition: 0, offset: 1 }] }, T0);
      expect((await store.describeGroup('t', 'g', T0)).partitions[0]).toMatchObject({ committed: 1, lag: 2 });
      expect(await fetchValues(10, 1000)).toEqual([]);
    });

    test('a seek to an offset that retention removed puts the group at the oldest offset kept', async () => {
      await store.putTopic('t', topicSettings({ retentionBytes: 4 }), T0);
      for (const text of ['aa', 'bb', 'cc']) await store.produceTopic('t', [at(0, text)], opts());
      await store.sweep(sweepAt(T0, { budget: 10 }));
      expect(await fetchValues(10, 1000)).toEqual(['bb', 'cc']);
      expect(await store.seekGroup('t', 'g', { to: 'offset', offset: 0 }, [0], T0)).toEqual([{ partition: 0, offset: 1 }]);
      expect((await store.describeGroup('t', 'g', T0)).partitions[0].committed).toBe(1);
      expect(await fetchValues(10, 1000)).toEqual(['bb', 'cc']);
    });

    test('refused group fetches and commits say why', async () => {
      const defaults = { resetPolicy: 'earliest' as const, sessionTimeoutMs: 1000 };
      await store.putTopic('t', topicSettings({ partitions: 2 }), T0);
      await store.produceTopic('t', [at(0, 'a')], opts());
      await fetchValues(10, 1000);
      const simple = (partition: number, offset: number) => ({ memberId: null, generation: null, offsets: [{ partition, offset }] });
      await expectCode(store.commitGroup('t', 'g', simple(2, 0), T0), 'partition_not_found', /Topic 't' has no partition 2/);
      await expectCode(store.commitGroup('t', 'g', simple(0, 5), T0), 'offset_out_of_range', /Offset 5 is past the end \(1\) of partition 0/);
      const first = await store.joinGroup('t', 'g', 'a', T0, defaults);
      const second = await store.joinGroup('t', 'g', 'b', T0, defaults);
      expect(second.partitions).toEqual([1]);
      await expectCode(fetchValues(10, 1000), 'group_has_members', /Group 'g' has members/);
      await expectCode(store.commitGroup('t', 'g', simple(0, 1), T0), 'group_has_members', /Group 'g' has members/);
      const member = (generation: number, partition: number) => ({ memberId: 'a', generation, offsets: [{ partition, offset: 0 }] });
      const stale = new RegExp(`Generation ${first.generation} is over; group 'g' is in generation ${second.generation}`);
      await expectCode(store.commitGroup('t', 'g', member(first.generation, 0), T0), 'stale_generation', stale);
      await expectCode(store.commitGroup('t', 'g', member(second.generation, 1), T0), 'stale_generation', /Partition 1 is not assigned to 'a'/);
      expect((await store.describeGroup('t', 'g', T0)).partitions.map((p) => p.committed)).toEqual([0, 0]);
    });

    test('onReplied is told of a stored reply once its commit is done, and not of a reply refused', async () => {
      await store.produceRequest('q', message('question'), { correlationId: 'c1', deadline: T0 + 1000 }, opts());
      const seen: string[] = [];
      const off = store.onReplied((correlationId) => seen.push(correlationId));
      const reply = { status: 200, contentType: 'text/plain', headers: { h: 'v' }, body: Buffer.from('answer') };
      expect(await store.putReply('q', 'c1', reply, T0)).toBe('stored');
      expect(seen).toEqual(['c1']);
      expect([await store.putReply('q', 'c1', reply, T0), await store.putReply('q', 'c2', reply, T0)]).toEqual(['replied', 'unknown']);
      expect(seen).toEqual(['c1']);
      expect(await store.findReply('c1')).toEqual(reply);
      off();
    });
  });
}
