import { ALL, type ContractContext, expectFailure, inPartition, leasing, message, opts, SUBSCRIPTION, settings, T0, topicSettings, values, WINDOW } from './fixtures';

/** Queues: their settings, lists, produce (idempotency, sizes, quotas), purge, delete, stats and move tasks. */
export function describeQueues(context: ContractContext): void {
  describe('queues', () => {
    const { claim, settle } = leasing(context);

    test('putQueue creates once, then updates in place', async () => {
      const { store } = context;
      const again = await store.putQueue({ name: 'q', settings: settings({ visibilityTimeoutMs: 5000 }), now: T0 + 1 });
      expect(again.created).toBe(false);
      expect(again.queue.visibilityTimeoutMs).toBe(5000);
      expect(again.queue.createdAt).toBe(T0);
      const created = await store.putQueue({ name: 'a', settings: settings(), now: T0 });
      expect(created.created).toBe(true);
      expect((await store.listQueues(ALL)).items.map((q) => q.name)).toEqual(['a', 'q']);
      expect(await store.getQueue('missing')).toBeNull();
    });

    test('lists page by name: after a name, within a prefix, with the next page named only while one follows', async () => {
      const { store } = context;
      for (const name of ['q-1', 'q.2', 'qa', 'p', 'q-0']) await store.putQueue({ name, settings: settings(), now: T0 });
      const names = async (after: string | null, prefix: string, limit: number) => {
        const { items, next } = await store.listQueues({ after, prefix, limit });
        return { names: items.map((q) => q.name), next };
      };
      expect(await names(null, '', 2)).toEqual({ names: ['p', 'q'], next: 'q' });
      expect(await names('q', '', 2)).toEqual({ names: ['q-0', 'q-1'], next: 'q-1' });
      // Created and deleted between pages: the next page starts after the last name seen.
      await store.putQueue({ name: 'q-00', settings: settings(), now: T0 });
      await store.deleteQueue('q.2');
      expect(await names('q-1', '', 2)).toEqual({ names: ['qa'], next: null });
      expect(await names(null, 'q-', 10)).toEqual({ names: ['q-0', 'q-00', 'q-1'], next: null });
      expect(await names(null, 'q-', 3)).toEqual({ names: ['q-0', 'q-00', 'q-1'], next: null });
      expect(await names(null, 'q-', 2)).toEqual({ names: ['q-0', 'q-00'], next: 'q-00' });
      expect(await names('q-00', 'q-', 2)).toEqual({ names: ['q-1'], next: null });
      expect(await names('a', 'q', 1)).toEqual({ names: ['q'], next: 'q' });
      expect(await names(null, 'qb', 5)).toEqual({ names: [], next: null });
      expect(await names('zz', '', 5)).toEqual({ names: [], next: null });
      await store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
      await store.putTopic({ name: 's', settings: topicSettings(), now: T0 });
      expect(await store.listTopics({ after: 's', prefix: '', limit: 5 })).toMatchObject({ items: [{ name: 't' }], next: null });
      expect((await store.listQueues(ALL)).items.map((q) => q.name)).not.toContain('t');
      const group = { resetPolicy: 'earliest' as const, sessionTimeoutMs: 1000 };
      await store.putGroup({ topic: 't', group: 'g2', settings: group, now: T0 });
      await store.putGroup({ topic: 't', group: 'g1', settings: group, now: T0 });
      expect(await store.listGroups({ topic: 't', after: null, prefix: 'g', limit: 1, now: T0 })).toMatchObject({ items: [{ name: 'g1' }], next: 'g1' });
      expect(await store.listGroups({ topic: 't', after: 'g1', prefix: 'g', limit: 1, now: T0 })).toMatchObject({ items: [{ name: 'g2' }], next: null });
      const subscribe = (topic: string, subscription: string) => store.putSubscription({ topic, subscription, settings: SUBSCRIPTION, fromEarliest: false, now: T0 });
      await subscribe('t', 'b');
      await subscribe('t', 'a');
      await subscribe('s', 'a0');
      expect(await store.listSubscriptions({ topic: 't', after: null, prefix: '', limit: 1 })).toMatchObject({ items: [{ name: 'a' }], next: 'a' });
      expect(await store.listSubscriptions({ topic: 't', after: 'a', prefix: '', limit: 1 })).toMatchObject({ items: [{ name: 'b' }], next: null });
    });

    test('a dead-letter queue must exist', async () => {
      const { store } = context;
      await expectFailure(store.putQueue({ name: 'p', settings: settings({ deadLetterQueue: 'nope', maxDeliveries: 1 }), now: T0 }), {
        code: 'dead_letter_queue_not_found',
        queue: 'nope',
      });
      expect(await store.getQueue('p')).toBeNull();
    });

    test('produce appends at dense offsets and keeps bytes, content type, key and headers exactly', async () => {
      const binary = Buffer.from([0, 255, 1, 254, 10, 13]);
      const results = await context.store.produce({
        queue: 'q',
        messages: [message('a', { key: 'k', headers: { h: 'v' } }), message('', { value: binary, contentType: 'application/x-bin' })],
        ...opts(),
      });
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

    test('queue settings round-trip: ordering, deduplication, receive wait and tags (a PUT replaces them)', async () => {
      const { store } = context;
      const fifo = { ordering: 'fifo' as const, contentBasedDeduplication: true, receiveWaitMs: 20_000 };
      const put = await store.putQueue({ name: 't', settings: settings({ ...fifo, tags: { team: 'a', env: 'x' } }), now: T0 });
      expect(put.queue).toMatchObject({ ordering: 'fifo', contentBasedDeduplication: true, receiveWaitMs: 20_000, tags: { team: 'a', env: 'x' } });
      const again = await store.putQueue({ name: 't', settings: settings({ ...fifo, tags: { team: 'b' } }), now: T0 + 1 });
      expect(again.queue.tags).toEqual({ team: 'b' });
      await expect((await context.reopen()).getQueue('t')).resolves.toMatchObject({ tags: { team: 'b' }, ordering: 'fifo' });
    });

    test('move tasks are kept in the store, newest first, the newest 10 per queue; a queue has one running or cancelling at a time', async () => {
      const { store } = context;
      for (let i = 0; i < 12; i++) {
        const task = { handle: `h${i}`, destination: i === 11 ? 'elsewhere' : null, maxPerSecond: i === 11 ? null : 5, toMove: 0, startedAt: T0 + i };
        expect(await store.startMoveTask({ queue: 'q', task })).toBe(true);
        expect(await store.startMoveTask({ queue: 'q', task: { ...task, handle: `refused${i}` } })).toBe(false);
        // Nothing to move: its first step completes it.
        if (i < 11) expect(await store.stepMoveTask({ handle: `h${i}`, max: 10, now: T0 + i })).toMatchObject({ status: 'completed', moved: 0 });
      }
      const reopened = await context.reopen();
      const tasks = await reopened.moveTasks({ queue: 'q', max: 100 });
      expect(tasks.map((task) => task.handle)).toEqual(['h11', 'h10', 'h9', 'h8', 'h7', 'h6', 'h5', 'h4', 'h3', 'h2']);
      const running = { handle: 'h11', destination: 'elsewhere', maxPerSecond: null, moved: 0, toMove: 0, startedAt: T0 + 11, status: 'running', failure: null };
      expect(tasks[0]).toEqual(running);
      expect(tasks[1]).toMatchObject({ destination: null, maxPerSecond: 5, status: 'completed' });
      expect(await reopened.moveTasks({ queue: 'q', max: 1 })).toHaveLength(1);
      expect(await reopened.activeMoveTasks()).toEqual([running]);

      // Only a running task is cancelled; it is cancelling until its next step, which ends it.
      expect(await reopened.cancelMoveTask({ queue: 'q', handle: 'h10' })).toBeNull();
      expect(await reopened.cancelMoveTask({ queue: 'q', handle: 'h11' })).toEqual({ ...running, status: 'cancelling' });
      expect(await reopened.cancelMoveTask({ queue: 'q', handle: 'h11' })).toBeNull();
      expect(await reopened.activeMoveTasks()).toEqual([{ ...running, status: 'cancelling' }]);
      expect(await reopened.stepMoveTask({ handle: 'h11', max: 10, now: T0 + 20 })).toEqual({ ...running, status: 'cancelled' });
      expect(await reopened.stepMoveTask({ handle: 'h11', max: 10, now: T0 + 21 })).toEqual({ ...running, status: 'cancelled' });
      expect(await reopened.activeMoveTasks()).toEqual([]);
      expect(await reopened.stepMoveTask({ handle: 'unknown', max: 10, now: T0 })).toBeNull();
      await expectFailure(reopened.moveTasks({ queue: 'missing', max: 1 }), { code: 'queue_not_found', queue: 'missing' });
      await expectFailure(reopened.startMoveTask({ queue: 'missing', task: { ...running, handle: 'm' } }), { code: 'queue_not_found', queue: 'missing' });
      // A deleted queue's tasks go with it.
      await reopened.deleteQueue('q');
      expect(await reopened.stepMoveTask({ handle: 'h10', max: 10, now: T0 })).toBeNull();
    });

    test('produce to a missing queue stores nothing', async () => {
      await expectFailure(context.store.produce({ queue: 'missing', messages: [message('x')], ...opts() }), { code: 'queue_not_found', queue: 'missing' });
    });

    test('an idempotency key repeated inside the window returns the original and outlives ack and purge', async () => {
      const { store } = context;
      const produceK1 = async (text: string, now: number) => (await store.produce({ queue: 'q', messages: [message(text, { idempotencyKey: 'k1' })], ...opts(now) }))[0];
      const first = await produceK1('a', T0);
      const [lease] = await claim();
      expect(await settle([lease.ref], { kind: 'ack' })).toEqual(['acked']);
      const afterAck = await produceK1('b', T0 + 10);
      expect(afterAck).toEqual({ ...first, duplicate: true });
      await store.purgeQueue('q');
      const afterPurge = await produceK1('c', T0 + 20);
      expect(afterPurge.duplicate).toBe(true);
      expect((await store.queueStats({ queue: 'q', now: T0 + 20 })).produced).toBe(1);
      const later = await produceK1('d', T0 + WINDOW + 1);
      expect(later.duplicate).toBe(false);
      expect(later.offset).toBe(1);
    });

    test('a key repeated within one batch is stored once', async () => {
      const results = await context.store.produce({
        queue: 'q',
        messages: [message('a', { idempotencyKey: 'k' }), message('b', { idempotencyKey: 'k' })],
        ...opts(),
      });
      expect(results[1]).toEqual({ ...results[0], duplicate: true });
      expect(values(await claim())).toEqual(['a']);
    });

    test('a message over the queue maxMessageBytes fails the whole produce', async () => {
      const { store } = context;
      await store.putQueue({ name: 'q', settings: settings({ maxMessageBytes: 10 }), now: T0 });
      await expectFailure(store.produce({ queue: 'q', messages: [message('small'), message('x', { bytes: 11 })], ...opts() }), {
        code: 'message_too_large',
        name: 'q',
        index: 1,
        bytes: 11,
        max: 10,
      });
      expect(await claim()).toEqual([]);
    });

    test('a produce follows the settings in force: changed, or the queue deleted and created again, they apply to the next one', async () => {
      const { store } = context;
      const produceBig = () => store.produce({ queue: 'q', messages: [message('x', { bytes: 11 })], ...opts() });
      await produceBig();
      await store.putQueue({ name: 'q', settings: settings({ maxMessageBytes: 10 }), now: T0 });
      await expectFailure(produceBig(), { code: 'message_too_large', name: 'q', index: 0, bytes: 11, max: 10 });
      await store.putQueue({ name: 'q', settings: settings({ maxMessageBytes: 11 }), now: T0 });
      await produceBig();
      await store.deleteQueue('q');
      await expectFailure(produceBig(), { code: 'queue_not_found', queue: 'q' });
      await store.putQueue({ name: 'q', settings: settings({ maxMessageBytes: 10 }), now: T0 });
      await expectFailure(produceBig(), { code: 'message_too_large', name: 'q', index: 0, bytes: 11, max: 10 });
    });

    test('maxMessageBytes is the largest size taken; the first message over it fails the produce, and the failure says which and by how much', async () => {
      const { store } = context;
      await store.putQueue({ name: 'q', settings: settings({ maxMessageBytes: 10 }), now: T0 });
      await store.produce({ queue: 'q', messages: [message('x'.repeat(10))], ...opts() });
      await expectFailure(store.produce({ queue: 'q', messages: [message('y'.repeat(11)), message('small')], ...opts() }), {
        code: 'message_too_large',
        name: 'q',
        index: 0,
        bytes: 11,
        max: 10,
      });
      expect(values(await claim())).toEqual(['x'.repeat(10)]);
    });

    test('a standard queue remembers idempotency keys for the idempotency window, a FIFO queue for the FIFO window', async () => {
      const { store } = context;
      await store.putQueue({ name: 'f', settings: settings({ ordering: 'fifo' }), now: T0 });
      const duplicate = async (queue: string, now: number) =>
        (await store.produce({ queue, messages: [message('x', { idempotencyKey: 'k' })], ...opts(now), fifoIdempotencyWindowMs: 1000 }))[0].duplicate;
      expect([await duplicate('q', T0), await duplicate('f', T0)]).toEqual([false, false]);
      expect([await duplicate('q', T0 + 5000), await duplicate('f', T0 + 5000)]).toEqual([true, false]);
    });

    test('purge deletes every message, leased or not', async () => {
      const { store } = context;
      await store.produce({ queue: 'q', messages: ['a', 'b', 'c'].map((v) => message(v)), ...opts() });
      await claim(1);
      expect(await store.purgeQueue('q')).toBe(3);
      expect(await claim(10, T0 + 5000)).toEqual([]);
      const [next] = await store.produce({ queue: 'q', messages: [message('d')], ...opts() });
      expect(next.offset).toBe(3);
    });

    test('a queue quota refuses a whole produce past it, counts duplicates as nothing, and frees up on ack and purge', async () => {
      const { store } = context;
      const produce = (...texts: string[]) => store.produce({ queue: 'q', messages: texts.map((text) => message(text)), ...opts() });
      const overQuota = (unit: 'messages' | 'bytes', stored: number, adding: number) =>
        ({ code: 'quota_exceeded', name: 'q', unit, stored, max: unit === 'messages' ? 3 : 100, adding }) as const;
      await store.putQueue({ name: 'q', settings: settings({ maxStoredMessages: 3, maxStoredBytes: 100 }), now: T0 });
      await store.produce({ queue: 'q', messages: [message('a', { idempotencyKey: 'k' }), message('b')], ...opts() });
      await expectFailure(produce('c', 'd'), overQuota('messages', 2, 2));
      // A retry of an acknowledged produce still gets its original answer at the cap.
      await produce('c');
      const [again] = await store.produce({ queue: 'q', messages: [message('a', { idempotencyKey: 'k' })], ...opts() });
      expect(again.duplicate).toBe(true);
      expect((await store.queueStats({ queue: 'q', now: T0 })).ready).toBe(3);
      const [a] = await claim(1);
      expect(await settle([a.ref], { kind: 'ack' })).toEqual(['acked']);
      await produce('d');
      await expectFailure(produce('e'), overQuota('messages', 3, 1));
      await store.purgeQueue('q');
      await expectFailure(produce('x'.repeat(101)), overQuota('bytes', 0, 101));
      await produce('x'.repeat(100));
      await expectFailure(produce('y'), overQuota('bytes', 100, 1));
    });

    test('refused produces say what was refused: the missing partition, or the quota with what is stored and what did not fit', async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings({ maxStoredBytes: 10 }), now: T0 });
      await expectFailure(store.produceTopic({ topic: 't', messages: [inPartition(2, 'x')], ...opts() }), { code: 'partition_not_found', topic: 't', partition: 2 });
      await store.produceTopic({ topic: 't', messages: [inPartition(0, 'aaaaaaaa')], ...opts() });
      await expectFailure(store.produceTopic({ topic: 't', messages: [inPartition(0, 'bbb')], ...opts() }), {
        code: 'quota_exceeded',
        name: 't',
        unit: 'bytes',
        stored: 8,
        max: 10,
        adding: 3,
      });
      await store.putQueue({ name: 'q', settings: settings({ maxStoredMessages: 2 }), now: T0 });
      await store.produce({ queue: 'q', messages: [message('a')], ...opts() });
      await expectFailure(store.produce({ queue: 'q', messages: [message('b'), message('c')], ...opts() }), {
        code: 'quota_exceeded',
        name: 'q',
        unit: 'messages',
        stored: 1,
        max: 2,
        adding: 2,
      });
    });

    test('a queue that is a dead-letter queue cannot be deleted; others can', async () => {
      const { store } = context;
      await store.putQueue({ name: 'dlq', settings: settings(), now: T0 });
      await store.putQueue({ name: 'q', settings: settings({ maxDeliveries: 1, deadLetterQueue: 'dlq' }), now: T0 });
      await expectFailure(store.deleteQueue('dlq'), { code: 'queue_in_use', queue: 'dlq', dependents: 1 });
      await store.deleteQueue('q');
      await store.deleteQueue('dlq');
      expect(await store.listQueues(ALL)).toEqual({ items: [], next: null });
      await expectFailure(store.deleteQueue('q'), { code: 'queue_not_found', queue: 'q' });
    });

    test('stats count ready, in-flight and delayed messages and the age of the oldest ready one', async () => {
      const { store } = context;
      await store.produce({ queue: 'q', messages: [message('a'), message('b')], ...opts() });
      await store.produce({ queue: 'q', messages: [message('c', { delayMs: 10_000 })], ...opts(T0 + 100) });
      await claim(1, T0 + 200);
      expect(await store.queueStats({ queue: 'q', now: T0 + 300 })).toEqual({
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
  });
}
