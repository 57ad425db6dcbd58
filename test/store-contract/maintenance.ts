import { type ContractContext, inPartition, leasing, message, opts, settings, sweepAt, T0, topicSettings, values, WINDOW } from './fixtures';

/** What keeps a store running: retention sweeps, the receipt secret, wake-ups, readiness, and data kept across a reopen. */
export function describeMaintenance(context: ContractContext): void {
  describe('maintenance', () => {
    const { claim, settle } = leasing(context);

    test('the receipt secret is at least 32 bytes, kept across a reopen, and its own to each store', async () => {
      const secret = await context.store.receiptSecret();
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(await (await context.reopen()).receiptSecret()).toEqual(secret);
      const other = await context.open();
      try {
        expect(await other.store.receiptSecret()).not.toEqual(secret);
      } finally {
        await other.cleanup();
      }
    });

    test('sweep removes messages past retention, oldest first, within its budget', async () => {
      const { store } = context;
      await store.putQueue({ name: 'q', settings: settings({ retentionMs: 10_000 }), now: T0 });
      await store.produce({ queue: 'q', messages: ['a', 'b', 'c'].map((v) => message(v)), ...opts(T0) });
      await store.produce({ queue: 'q', messages: [message('young')], ...opts(T0 + 5000) });
      expect(await store.sweep(sweepAt(T0 + 10_001, { budget: 2 }))).toMatchObject({ expiredMessages: 2 });
      expect(await store.sweep(sweepAt(T0 + 10_001, { budget: 10 }))).toMatchObject({ expiredMessages: 1 });
      expect(values(await claim(10, T0 + 10_001))).toEqual(['young']);
    });

    test('sweep looks at `partitions` queues and partitions a call, going on where the call before stopped', async () => {
      const { store } = context;
      for (const name of ['a1', 'a2', 'a3']) {
        await store.putQueue({ name, settings: settings({ retentionMs: 10_000 }), now: T0 });
        await store.produce({ queue: name, messages: [message(`${name}-old`)], ...opts(T0) });
      }
      await store.produce({ queue: 'a3', messages: [message('a3-old-2')], ...opts(T0) });
      await store.putTopic({ name: 't', settings: topicSettings({ partitions: 2, retentionMs: 10_000 }), now: T0 });
      await store.produceTopic({ topic: 't', messages: [inPartition(1, 't-old')], ...opts(T0) });
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
      for (const name of ['a1', 'a2', 'a3']) expect((await store.queueStats({ queue: name, now })).ready).toBe(0);
      expect((await store.topicPartitions('t')).map((p) => p.startOffset)).toEqual([0, 1]);
    });

    test('sweep forgets idempotency keys past the window', async () => {
      await context.store.produce({ queue: 'q', messages: [message('a', { idempotencyKey: 'k' })], ...opts(T0) });
      expect(await context.store.sweep(sweepAt(T0 + WINDOW + 1, { budget: 10 }))).toMatchObject({ expiredKeys: 1 });
    });

    test('onAvailable fires after a commit that made messages ready or moved when they will be (a delayed produce), until unsubscribed', async () => {
      const { store } = context;
      // Null (look again) may come at any time, from a backend that announces across processes.
      const seen: string[] = [];
      const off = store.onAvailable((queue) => queue !== null && seen.push(queue));
      await store.produce({ queue: 'q', messages: [message('later', { delayMs: 1000 })], ...opts() });
      expect(seen).toEqual(['q']);
      await store.produce({ queue: 'q', messages: [message('now')], ...opts() });
      expect(seen).toEqual(['q', 'q']);
      off();
      await store.produce({ queue: 'q', messages: [message('unheard')], ...opts() });
      expect(seen).toEqual(['q', 'q']);
    });

    test('onAvailable is not told of commits that change nothing a waiter looks for: acks, extends, stale nacks, duplicates', async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
      const keyed = { ...inPartition(0, 'k'), idempotencyKey: 'k' };
      await store.produceTopic({ topic: 't', messages: [keyed], ...opts() });
      await store.produce({ queue: 'q', messages: [message('a'), message('b'), message('c', { idempotencyKey: 'c' })], ...opts() });
      const [a, b, c] = await claim();
      // Null (look again) may come at any time, from a backend that announces across processes.
      const seen: string[] = [];
      const off = store.onAvailable((name) => name !== null && seen.push(name));
      await store.produceTopic({ topic: 't', messages: [keyed], ...opts() });
      await store.produce({ queue: 'q', messages: [message('c', { idempotencyKey: 'c' })], ...opts() });
      await settle([a.ref], { kind: 'ack' });
      await settle([b.ref], { kind: 'extend', leaseUntil: T0 + 5000 });
      expect(seen).toEqual([]);
      // A nack with a delay: a waiter must look again at when the queue's next message is due.
      await settle([c.ref], { kind: 'nack', availableAt: T0 + 500 });
      expect(seen).toEqual(['q']);
      expect(await settle([a.ref, c.ref], { kind: 'nack', availableAt: T0 })).toEqual(['unknown', 'expired']);
      expect(seen).toEqual(['q']);
      await settle([b.ref], { kind: 'nack', availableAt: T0 });
      expect(seen).toEqual(['q', 'q']);
      off();
    });

    test('checkReady resolves on a store that takes writes', async () => {
      await expect(context.store.checkReady()).resolves.toBeUndefined();
    });

    test('everything survives closing and reopening the store', async () => {
      let { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings({ partitions: 3 }), now: T0 });
      await store.produceTopic({ topic: 't', messages: [inPartition(2, 'kept')], ...opts() });
      await store.putQueue({ name: 'dlq', settings: settings(), now: T0 });
      await store.putQueue({ name: 'q', settings: settings({ maxDeliveries: 3, deadLetterQueue: 'dlq' }), now: T0 });
      await store.produce({ queue: 'q', messages: [message('a', { idempotencyKey: 'k' }), message('b')], ...opts() });
      const [a] = await claim(1);
      store = await context.reopen();
      expect((await store.getQueue('q'))?.deadLetterQueue).toBe('dlq');
      expect(await settle([a.ref], { kind: 'ack' }, T0 + 1)).toEqual(['acked']);
      expect(values(await claim())).toEqual(['b']);
      expect((await store.produce({ queue: 'q', messages: [message('again', { idempotencyKey: 'k' })], ...opts() }))[0].duplicate).toBe(true);
      const read = await store.readPartition({ topic: 't', partition: 2, offset: 0, max: 10, maxBytes: 1000 });
      expect(read.messages.map((m) => m.value.toString())).toEqual(['kept']);
    });
  });
}
