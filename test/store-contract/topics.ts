import { ALL, type ContractContext, expectFailure, inPartition, opts, settings, sweepAt, T0, topicSettings, values } from './fixtures';

/** Topics: partitioned logs, their partitions, reads by offset, retention and quotas. */
export function describeTopics(context: ContractContext): void {
  describe('topics', () => {
    test('topics: partitions grow, never shrink, and share the namespace with queues', async () => {
      const { store } = context;
      const { topic, created } = await store.putTopic({ name: 't', settings: topicSettings({ partitions: 2 }), now: T0 });
      expect(created).toBe(true);
      expect(topic).toMatchObject({ name: 't', partitions: 2 });
      expect((await store.putTopic({ name: 't', settings: topicSettings({ partitions: 5 }), now: T0 })).topic.partitions).toBe(5);
      expect((await store.topicPartitions('t')).map((p) => p.partition)).toEqual([0, 1, 2, 3, 4]);
      await expectFailure(store.putTopic({ name: 't', settings: topicSettings({ partitions: 4 }), now: T0 }), {
        code: 'partitions_cannot_shrink',
        topic: 't',
        partitions: 5,
      });
      await expectFailure(store.putTopic({ name: 'q', settings: topicSettings(), now: T0 }), { code: 'name_in_use', name: 'q', usedBy: 'queue' });
      await expectFailure(store.putQueue({ name: 't', settings: settings(), now: T0 }), { code: 'name_in_use', name: 't', usedBy: 'topic' });
      expect((await store.listTopics(ALL)).items.map((x) => x.name)).toEqual(['t']);
      expect((await store.listQueues(ALL)).items.map((x) => x.name)).toEqual(['q']);
    });

    test('topics: dense offsets per partition, reads by offset within the range only', async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings({ partitions: 2 }), now: T0 });
      const results = await store.produceTopic({ topic: 't', messages: [0, 1, 0, 0].map((partition, i) => inPartition(partition, `v${i}`)), ...opts() });
      expect(results.map((r) => [r.partition, r.offset])).toEqual([[0, 0], [1, 0], [0, 1], [0, 2]]);
      const read = await store.readPartition({ topic: 't', partition: 0, offset: 1, max: 10, maxBytes: 1000 });
      expect(read).toMatchObject({ startOffset: 0, endOffset: 3 });
      expect(values(read.messages.map((m) => ({ message: m })))).toEqual(['v2', 'v3']);
      expect((await store.readPartition({ topic: 't', partition: 0, offset: 3, max: 10, maxBytes: 1000 })).messages).toEqual([]);
      await expectFailure(store.readPartition({ topic: 't', partition: 0, offset: 4, max: 10, maxBytes: 1000 }), {
        code: 'offset_out_of_range',
        topic: 't',
        partition: 0,
        offset: 4,
        start: 0,
        end: 3,
      });
      await expectFailure(store.readPartition({ topic: 't', partition: 2, offset: 0, max: 10, maxBytes: 1000 }), { code: 'partition_not_found', topic: 't', partition: 2 });
      await expectFailure(store.produceTopic({ topic: 't', messages: [inPartition(2, 'x')], ...opts() }), { code: 'partition_not_found', topic: 't', partition: 2 });
      expect(await store.topicPartitions('t')).toEqual([
        { partition: 0, startOffset: 0, endOffset: 3, bytes: 6 },
        { partition: 1, startOffset: 0, endOffset: 1, bytes: 2 },
      ]);
    });

    test('topics: offsetForTimestamp and size retention', async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings({ retentionBytes: 4 }), now: T0 });
      await store.produceTopic({ topic: 't', messages: [inPartition(0, 'aa')], ...opts(T0) });
      await store.produceTopic({ topic: 't', messages: [inPartition(0, 'bb')], ...opts(T0 + 10) });
      await store.produceTopic({ topic: 't', messages: [inPartition(0, 'cc')], ...opts(T0 + 20) });
      expect(await store.offsetForTimestamp({ topic: 't', partition: 0, timestamp: T0 + 5 })).toBe(1);
      expect(await store.offsetForTimestamp({ topic: 't', partition: 0, timestamp: T0 + 21 })).toBe(3);
      await store.sweep(sweepAt(T0 + 20, { budget: 10 }));
      expect((await store.topicPartitions('t'))[0]).toEqual({ partition: 0, startOffset: 1, endOffset: 3, bytes: 4 });
      await store.deleteTopic('t');
      expect(await store.getTopic('t')).toBeNull();
    });

    test('a topic quota spans its partitions; retention frees it', async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings({ partitions: 2, retentionMs: 1000, maxStoredBytes: 10 }), now: T0 });
      await store.produceTopic({ topic: 't', messages: [inPartition(0, 'aaaa'), inPartition(1, 'bbbb')], ...opts() });
      await expectFailure(store.produceTopic({ topic: 't', messages: [inPartition(1, 'ccc')], ...opts() }), {
        code: 'quota_exceeded',
        name: 't',
        unit: 'bytes',
        stored: 8,
        max: 10,
        adding: 3,
      });
      await store.produceTopic({ topic: 't', messages: [inPartition(1, 'cc')], ...opts(T0 + 500) });
      await store.sweep(sweepAt(T0 + 1200));
      await store.produceTopic({ topic: 't', messages: [inPartition(0, 'dddddddd')], ...opts(T0 + 1200) });
      expect((await store.topicPartitions('t')).map((p) => p.bytes)).toEqual([8, 2]);
    });
  });
}
