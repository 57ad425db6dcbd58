import type { GroupSettings, PartitionOffset } from '../../persistence/store';
import { ALL, type ContractContext, expectFailure, inPartition, opts, sweepAt, T0, topicSettings, values } from './fixtures';

/** Consumer groups of topics: fetches, commits, members and their generations, seeks. */
export function describeGroups(context: ContractContext): void {
  describe('groups', () => {
    const defaults: GroupSettings = { resetPolicy: 'earliest', sessionTimeoutMs: 1000 };
    const group = { topic: 't', group: 'g' };
    /** A commit of group g by a simple consumer (no member id). */
    const simpleCommit = (offsets: PartitionOffset[] | null, now = T0) => context.store.commitGroup({ ...group, memberId: null, generation: null, offsets, now });

    /** What a simple consumer (no member id) of group g on topic t gets from one fetch. */
    const fetchValues = async (max: number, maxBytes: number): Promise<string[]> => {
      const fetched = await context.store.fetchGroup({ ...group, memberId: null, max, maxBytes, now: T0, defaults });
      return values(fetched.messages.map((m) => ({ message: m })));
    };

    test('a group fetch gives each partition an even share of max first, and returns no more than max', async () => {
      await context.store.putTopic({ name: 't', settings: topicSettings({ partitions: 2 }), now: T0 });
      await context.store.produceTopic({ topic: 't', messages: ['a0', 'b0', 'a1', 'b1', 'a2', 'b2'].map((text, i) => inPartition(i % 2, text)), ...opts() });
      expect(await fetchValues(2, 1000)).toEqual(['a0', 'b0']);
      expect(await fetchValues(3, 1000)).toEqual(['a1', 'a2', 'b1']);
    });

    test('a group fetch keeps within maxBytes over all its partitions; only the first message may go past it', async () => {
      await context.store.putTopic({ name: 't', settings: topicSettings({ partitions: 3 }), now: T0 });
      await context.store.produceTopic({ topic: 't', messages: [inPartition(0, 'aaaa'), inPartition(1, 'bbbbbb'), inPartition(1, 'bb'), inPartition(2, 'cc')], ...opts() });
      // 4 + 6 bytes fill the 10: the rest of partition 1 and all of partition 2 wait.
      expect(await fetchValues(10, 10)).toEqual(['aaaa', 'bbbbbb']);
      expect(await fetchValues(10, 1)).toEqual(['bb']);
      expect(await fetchValues(10, 10)).toEqual(['cc']);
    });

    test('a commit behind what the fetches read moves the committed offset, not the fetches: the next fetch reads on', async () => {
      await context.store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
      await context.store.produceTopic({ topic: 't', messages: ['a', 'b', 'c'].map((text) => inPartition(0, text)), ...opts() });
      expect(await fetchValues(10, 1000)).toEqual(['a', 'b', 'c']);
      await simpleCommit([{ partition: 0, offset: 1 }]);
      expect((await context.store.describeGroup({ ...group, now: T0 })).partitions[0]).toMatchObject({ committed: 1, lag: 2 });
      expect(await fetchValues(10, 1000)).toEqual([]);
    });

    test('a seek to an offset that retention removed puts the group at the oldest offset kept', async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings({ retentionBytes: 4 }), now: T0 });
      for (const text of ['aa', 'bb', 'cc']) await store.produceTopic({ topic: 't', messages: [inPartition(0, text)], ...opts() });
      await store.sweep(sweepAt(T0, { budget: 10 }));
      expect(await fetchValues(10, 1000)).toEqual(['bb', 'cc']);
      expect(await store.seekGroup({ ...group, target: { to: 'offset', offset: 0 }, partitions: [0], now: T0 })).toEqual([{ partition: 0, offset: 1 }]);
      expect((await store.describeGroup({ ...group, now: T0 })).partitions[0].committed).toBe(1);
      expect(await fetchValues(10, 1000)).toEqual(['bb', 'cc']);
    });

    test('refused group fetches and commits say why', async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings({ partitions: 2 }), now: T0 });
      await store.produceTopic({ topic: 't', messages: [inPartition(0, 'a')], ...opts() });
      await fetchValues(10, 1000);
      await expectFailure(simpleCommit([{ partition: 2, offset: 0 }]), { code: 'partition_not_found', topic: 't', partition: 2 });
      await expectFailure(simpleCommit([{ partition: 0, offset: 5 }]), { code: 'offset_out_of_range', topic: 't', partition: 0, offset: 5, start: null, end: 1 });
      const first = await store.joinGroup({ ...group, memberId: 'a', now: T0, defaults });
      const second = await store.joinGroup({ ...group, memberId: 'b', now: T0, defaults });
      expect(second.partitions).toEqual([1]);
      await expectFailure(fetchValues(10, 1000), { code: 'group_has_members', group: 'g', during: 'fetch' });
      await expectFailure(simpleCommit([{ partition: 0, offset: 1 }]), { code: 'group_has_members', group: 'g', during: 'commit' });
      const member = (generation: number, partition: number) =>
        store.commitGroup({ ...group, memberId: 'a', generation, offsets: [{ partition, offset: 0 }], now: T0 });
      await expectFailure(member(first.generation, 0), { code: 'stale_generation', group: 'g', generation: first.generation, current: second.generation });
      await expectFailure(member(second.generation, 1), { code: 'partition_not_assigned', memberId: 'a', partition: 1, generation: second.generation });
      expect((await store.describeGroup({ ...group, now: T0 })).partitions.map((p) => p.committed)).toEqual([0, 0]);
    });

    test('a commit without a member id is refused while the group has members, as a simple fetch is', async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
      await store.produceTopic({ topic: 't', messages: [inPartition(0, 'a')], ...opts() });
      const member = await store.joinGroup({ ...group, memberId: 'm', now: T0, defaults });
      await store.commitGroup({ ...group, memberId: 'm', generation: member.generation, offsets: [{ partition: 0, offset: 1 }], now: T0 });
      await expectFailure(simpleCommit([{ partition: 0, offset: 0 }]), { code: 'group_has_members', group: 'g', during: 'commit' });
      expect((await store.describeGroup({ ...group, now: T0 })).partitions[0].committed).toBe(1);
    });

    test('after a restart a group reads on from its committed offsets: what fetches took before it is not committed by a bare commit', async () => {
      await context.store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
      await context.store.produceTopic({ topic: 't', messages: ['a', 'b', 'c'].map((v) => inPartition(0, v)), ...opts() });
      const simple = { ...group, memberId: null, max: 2, maxBytes: 1000, now: T0, defaults: { resetPolicy: 'earliest' as const, sessionTimeoutMs: 60_000 } };
      await context.store.fetchGroup(simple);
      // The gateway dies before the fetch's answer reaches the client.
      const store = await context.reopen();
      expect((await simpleCommit(null)).offsets).toEqual([{ partition: 0, offset: 0 }]);
      const again = await store.fetchGroup({ ...simple, max: 10 });
      expect(values(again.messages.map((m) => ({ message: m })))).toEqual(['a', 'b', 'c']);
      expect((await simpleCommit(null)).offsets).toEqual([{ partition: 0, offset: 3 }]);
    });

    test('describeGroup and listGroups write nothing: a member past its session timeout shows gone, with the generation its removal will start, and stays until a write', async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings({ partitions: 2 }), now: T0 });
      await store.joinGroup({ ...group, memberId: 'a', now: T0, defaults });
      const b = await store.joinGroup({ ...group, memberId: 'b', now: T0, defaults });
      const fetch = (memberId: string, now: number) => store.fetchGroup({ ...group, memberId, max: 10, maxBytes: 1000, now, defaults });
      await fetch('a', T0 + 600);
      // At T0 + 1100 b is past its session timeout: a read shows the group as its next write will make it.
      const described = await store.describeGroup({ ...group, now: T0 + 1100 });
      expect(described.members.map((m) => [m.memberId, m.partitions])).toEqual([['a', [0, 1]]]);
      expect(described.generation).toBe(b.generation + 1);
      const [listed] = (await store.listGroups({ topic: 't', now: T0 + 1100, ...ALL })).items;
      expect(listed).toEqual(described);
      // Nothing was removed: b, heard from within its timeout, is still a member of the same generation.
      expect(await fetch('b', T0 + 900)).toMatchObject({ generation: b.generation, partitions: [1] });
      const again = await store.describeGroup({ ...group, now: T0 + 1100 });
      expect([again.generation, again.members.map((m) => m.memberId)]).toEqual([b.generation, ['a', 'b']]);
      // The first write that finds a member gone starts the generation a read showed.
      const alone = await store.describeGroup({ ...group, now: T0 + 1700 });
      expect(alone.members.map((m) => m.memberId)).toEqual(['b']);
      expect(await fetch('b', T0 + 1700)).toMatchObject({ generation: alone.generation, partitions: [0, 1] });
    });

    test('groups: members split the partitions, fetches move positions, commits are fenced, seeks replay', async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings({ partitions: 2 }), now: T0 });
      await store.produceTopic({ topic: 't', messages: [0, 1, 0, 1].map((partition, i) => inPartition(partition, `v${i}`)), ...opts() });
      const a = await store.joinGroup({ ...group, memberId: 'a', now: T0, defaults });
      const b = await store.joinGroup({ ...group, memberId: 'b', now: T0, defaults });
      expect([a.partitions, b.partitions]).toEqual([[0, 1], [1]]);
      const fetch = (memberId: string, now: number) => store.fetchGroup({ ...group, memberId, max: 10, maxBytes: 1000, now, defaults });
      const fetchA = await fetch('a', T0);
      expect(fetchA).toMatchObject({ generation: b.generation, partitions: [0] });
      expect(values(fetchA.messages.map((m) => ({ message: m })))).toEqual(['v0', 'v2']);
      const commitA = (generation: number) => store.commitGroup({ ...group, memberId: 'a', generation, offsets: null, now: T0 });
      await expectFailure(commitA(a.generation), { code: 'stale_generation', group: 'g', generation: a.generation, current: b.generation });
      const committed = await commitA(b.generation);
      expect(committed.offsets).toEqual([{ partition: 0, offset: 2 }]);
      // b never fetches: past its session timeout a is alone and owns both partitions.
      await fetch('a', T0 + 600);
      const described = await store.describeGroup({ ...group, now: T0 + 1100 });
      expect(described.members.map((m) => [m.memberId, m.partitions])).toEqual([['a', [0, 1]]]);
      expect(described.partitions.map((p) => [p.committed, p.lag])).toEqual([[2, 0], [null, 2]]);
      // b missed its session timeout: its next fetch, its heartbeat, finds it gone.
      await expectFailure(fetch('b', T0 + 1100), { code: 'unknown_member', group: 'g', memberId: 'b', during: 'heartbeat' });
      expect(await store.seekGroup({ ...group, target: { to: 'earliest' }, partitions: [0], now: T0 + 1100 })).toEqual([{ partition: 0, offset: 0 }]);
      expect((await store.describeGroup({ ...group, now: T0 + 1100 })).partitions[0].lag).toBe(2);
      await store.leaveGroup({ ...group, memberId: 'a', now: T0 + 1100 });
      await expectFailure(store.leaveGroup({ ...group, memberId: 'a', now: T0 + 1100 }), { code: 'unknown_member', group: 'g', memberId: 'a' });
      expect((await store.listGroups({ topic: 't', now: T0, ...ALL })).items.map((g) => g.name)).toEqual(['g']);
      await store.deleteGroup({ ...group, now: T0 });
      await expectFailure(store.describeGroup({ ...group, now: T0 }), { code: 'group_not_found', topic: 't', group: 'g' });
    });
  });
}
