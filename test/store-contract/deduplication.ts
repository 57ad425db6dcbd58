import { type ContractContext, message, opts, settings, T0 } from './fixtures';

/** Deduplication per message group, and the settings SQS clients set that the store keeps. */
export function describeDeduplication(context: ContractContext): void {
  describe('deduplication scope and SQS settings', () => {
    test('a queue deduplicating per message group remembers a key with its group: a message in each group, one within a group', async () => {
      const { store } = context;
      await store.putQueue({ name: 'g.fifo', settings: settings({ ordering: 'fifo', deduplicationScope: 'messageGroup' }), now: T0 });
      const keyed = (text: string, group: string) => message(text, { group, idempotencyKey: 'k' });
      const one = await store.produce({ queue: 'g.fifo', messages: [keyed('a', 'g1'), keyed('b', 'g2'), keyed('c', 'g1')], ...opts() });
      expect(one.map((result) => result.duplicate)).toEqual([false, false, true]);
      expect(one[2].id).toBe(one[0].id);
      expect(one[1].id).not.toBe(one[0].id);
      // Produces at once (one shared commit where the backend makes one), each as if alone after the others.
      const together = await Promise.all(['g2', 'g3', 'g3'].map((group, i) => store.produce({ queue: 'g.fifo', messages: [keyed(`d${i}`, group)], ...opts() })));
      const [g2, g3, g3again] = together.map(([result]) => result);
      expect(g2).toMatchObject({ id: one[1].id, duplicate: true });
      expect([g3.duplicate, g3again.duplicate].sort()).toEqual([false, true]);
      expect(g3again.id).toBe(g3.id);
      // The same key in a queue deduplicating per queue is one message whatever the group.
      await store.putQueue({ name: 'q.fifo', settings: settings({ ordering: 'fifo' }), now: T0 });
      const perQueue = await store.produce({ queue: 'q.fifo', messages: [keyed('a', 'g1'), keyed('b', 'g2')], ...opts() });
      expect(perQueue.map((result) => result.duplicate)).toEqual([false, true]);
    });

    test('the deduplication scope, the redrive allow policy and the SQS attributes kept are stored and read back, and change', async () => {
      const { store } = context;
      const kept = settings({
        ordering: 'fifo',
        deduplicationScope: 'messageGroup',
        redriveAllowPolicy: { permission: 'byQueue', sourceQueues: ['a', 'b'] },
        sqsAttributes: { Policy: '{"Statement":[]}', FifoThroughputLimit: 'perMessageGroupId' },
      });
      const { queue } = await store.putQueue({ name: 's.fifo', settings: kept, now: T0 });
      expect(queue).toMatchObject({ deduplicationScope: 'messageGroup', redriveAllowPolicy: kept.redriveAllowPolicy, sqsAttributes: kept.sqsAttributes });
      const changed = { ...kept, redriveAllowPolicy: null, sqsAttributes: { SqsManagedSseEnabled: 'true' } };
      expect((await store.putQueue({ name: 's.fifo', settings: changed, now: T0 + 1 })).queue.updatedAt).toBe(T0 + 1);
      expect(await store.getQueue('s.fifo')).toMatchObject({ redriveAllowPolicy: null, sqsAttributes: { SqsManagedSseEnabled: 'true' } });
      expect((await store.getQueue('q'))?.sqsAttributes).toEqual({});
    });
  });
}
