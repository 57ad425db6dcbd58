import type { DeliveryRef, SettleStatus, Settlement } from '../../persistence/store';
import { type ContractContext, expectFailure, inPartition, leasing, message, opts, SUBSCRIPTION, settings, T0, topicSettings, values } from './fixtures';

/** What a receipt is made of: ids must travel in one unescaped. */
const ID = /^[A-Za-z0-9_-]+$/;

/** Leases of queue subscriptions: claim, settle, browse, lease renewal, FIFO order, dead letters and redrive. */
export function describeDeliveries(context: ContractContext): void {
  describe('deliveries', () => {
    const { claimAt, claimFrom, claim, settle } = leasing(context);
    const browseQ = (after: string | null, max: number, now: number) => context.store.browse({ at: { queue: 'q' }, after, max, now });

    test('ids are opaque strings of letters, digits, - and _, and a queue record names the subscription its receipts are bound to', async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings({ partitions: 2 }), now: T0 });
      await store.putSubscription({ topic: 't', subscription: 's', settings: SUBSCRIPTION, fromEarliest: false, now: T0 });
      const produced = [
        ...(await store.produce({ queue: 'q', messages: [message('a'), message('b')], ...opts() })),
        ...(await store.produceTopic({ topic: 't', messages: [0, 1].map((partition) => inPartition(partition, 'c')), ...opts() })),
      ];
      const fromQueue = await store.claim({ from: { queue: 'q' }, max: 10, now: T0, visibilityTimeoutMs: null });
      const fromTopic = await store.claim({ from: { topic: 't', subscription: 's' }, max: 10, now: T0, visibilityTimeoutMs: null });
      const leased = [...fromQueue.leases, ...fromTopic.leases].map((lease) => lease.message.id);
      expect(leased).toHaveLength(4);
      for (const id of [fromQueue.subscriptionId, fromTopic.subscriptionId, ...produced.map((r) => r.id), ...leased]) expect(id).toMatch(ID);
      expect(fromTopic.subscriptionId).not.toBe(fromQueue.subscriptionId);
      expect((await store.getQueue('q'))?.subscriptionId).toBe(fromQueue.subscriptionId);
      expect(leased).toEqual(produced.map((r) => r.id));
    });

    test('browse shows unsettled messages oldest first, page by page, with their state, and leases nothing', async () => {
      const { store } = context;
      await store.produce({ queue: 'q', messages: [message('a'), message('b'), message('c', { delayMs: 5000 }), message('d')], ...opts() });
      const [leased] = await claim(1);
      await settle([(await claim(1))[0].ref], { kind: 'ack' }, T0);
      const first = await browseQ(null, 2, T0);
      expect(first.map((m) => [m.value.toString(), m.state, m.deliveryCount, m.offset])).toEqual([
        ['a', 'leased', 1, 0],
        ['c', 'delayed', 0, 2],
      ]);
      const rest = await browseQ(first[1].id, 2, T0);
      expect(rest.map((m) => [m.value.toString(), m.state])).toEqual([['d', 'ready']]);
      expect(await browseQ(rest[0].id, 2, T0)).toEqual([]);
      // A lease that ran out is ready again, and browsing counted no delivery.
      const later = await browseQ(null, 10, T0 + 10_000);
      expect(later.map((m) => [m.value.toString(), m.state, m.deliveryCount])).toEqual([
        ['a', 'ready', 1],
        ['c', 'ready', 0],
        ['d', 'ready', 0],
      ]);
      expect(values(await claim(10, T0 + 10_000))).toEqual(['a', 'c', 'd']);
      expect(leased.message.value.toString()).toBe('a');
      await expectFailure(store.browse({ at: { queue: 'missing' }, after: null, max: 1, now: T0 }), { code: 'queue_not_found', queue: 'missing' });
    });

    test('browse goes on after the last id of the page before, even once that message is settled; a position the store never handed out is refused', async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
      await store.putSubscription({ topic: 't', subscription: 's', settings: SUBSCRIPTION, fromEarliest: false, now: T0 });
      const texts = ['a', 'b', 'c', 'd', 'e'];
      await store.produce({ queue: 'q', messages: texts.map((text) => message(text)), ...opts() });
      await store.produceTopic({ topic: 't', messages: texts.map((text) => inPartition(0, text)), ...opts() });
      for (const at of [{ queue: 'q' }, { topic: 't', subscription: 's' }]) {
        const pages: string[][] = [];
        let after: string | null = null;
        for (;;) {
          const page = await store.browse({ at, after, max: 2, now: T0 });
          if (page.length === 0) break;
          pages.push(page.map((m) => m.value.toString()));
          after = page[page.length - 1].id;
          // The page's messages are leased, and the one it ended with is acked, before the next page is asked for.
          const leases = await claimAt(at, page.length, T0, 60_000);
          expect(values(leases)).toEqual(pages[pages.length - 1]);
          await store.settle({ at, refs: [leases[leases.length - 1].ref], settlement: { kind: 'ack' }, now: T0 });
        }
        expect(pages).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
      }
      for (const position of ['not-an-id!', 'zzz']) {
        await expectFailure(browseQ(position, 2, T0), { code: 'position_invalid', position });
      }
    });

    test('FIFO: each group in order, one batch of a group leased at a time, other groups in parallel', async () => {
      const { store } = context;
      await store.putQueue({ name: 'f', settings: settings({ ordering: 'fifo' }), now: T0 });
      const g = (text: string, group: string | null) => message(text, { group });
      await store.produce({ queue: 'f', messages: [g('a1', 'a'), g('b1', 'b'), g('a2', 'a'), g('a3', 'a'), g('b2', 'b'), g('n1', null)], ...opts() });
      const leases = await claimFrom('f', 10, T0, 1000);
      // The ready run at the head of each group, in log order (so each group in its own order).
      expect(leases.map((l) => l.message.value.toString())).toEqual(['a1', 'b1', 'a2', 'a3', 'b2', 'n1']);
      expect(leases.map((l) => l.message.group)).toEqual(['a', 'b', 'a', 'a', 'b', null]);
      await store.produce({ queue: 'f', messages: [g('a4', 'a'), g('c1', 'c')], ...opts() });
      // a and b are leased: only c may go, whatever max says.
      expect(values(await claimFrom('f', 10, T0, 1000))).toEqual(['c1']);
      // Acking a1 and a2 while a3 is still leased keeps a blocked.
      await store.settle({ at: { queue: 'f' }, refs: [leases[0].ref, leases[2].ref], settlement: { kind: 'ack' }, now: T0 });
      expect(values(await claimFrom('f', 10, T0, 1000))).toEqual([]);
      // a3 is nacked (a retry): it comes again before a4, in the same batch.
      await store.settle({ at: { queue: 'f' }, refs: [leases[3].ref], settlement: { kind: 'nack', availableAt: T0 }, now: T0 });
      const retried = await claimFrom('f', 10, T0, 1000);
      expect(retried.map((l) => [l.message.value.toString(), l.deliveryCount])).toEqual([['a3', 2], ['a4', 1]]);
      // Every lease runs out: each group comes again from its head, in order.
      expect(values(await claimFrom('f', 10, T0 + 1000, 1000))).toEqual(['b1', 'a3', 'b2', 'n1', 'a4', 'c1']);
    });

    test('a standard queue made FIFO delivers what it holds group by group (the messages without a group as one); made standard again, in log order', async () => {
      const { store } = context;
      await store.putQueue({ name: 'f', settings: settings(), now: T0 });
      const g = (text: string, group: string | null) => message(text, { group });
      await store.produce({ queue: 'f', messages: [g('a1', 'a'), g('n1', null), g('a2', 'a'), g('b1', 'b'), g('n2', null)], ...opts() });
      await store.putQueue({ name: 'f', settings: settings({ ordering: 'fifo' }), now: T0 });
      // Groups in order from the oldest ready message's: a's run, then b's, then (round again) the group-less run.
      const first = await claimFrom('f', 3, T0, 1000);
      expect(first.map((l) => l.message.value.toString())).toEqual(['a1', 'a2', 'b1']);
      expect(values(await claimFrom('f', 10, T0, 1000))).toEqual(['n1', 'n2']);
      await store.produce({ queue: 'f', messages: [g('b2', 'b')], ...opts() });
      // b is leased: b2 waits for b1.
      expect(values(await claimFrom('f', 10, T0, 1000))).toEqual([]);
      await store.settle({ at: { queue: 'f' }, refs: first.map((l) => l.ref), settlement: { kind: 'ack' }, now: T0 });
      expect(values(await claimFrom('f', 10, T0, 1000))).toEqual(['b2']);
      // Standard again: every ready message goes, whatever its group.
      await store.putQueue({ name: 'f', settings: settings(), now: T0 });
      await store.produce({ queue: 'f', messages: [g('b3', 'b'), g('c1', 'c')], ...opts() });
      expect(values(await claimFrom('f', 10, T0, 1000))).toEqual(['b3', 'c1']);
      expect(values(await claimFrom('f', 10, T0 + 1000, 1000))).toEqual(['n1', 'n2', 'b2', 'b3', 'c1']);
    });

    test('FIFO: the group of the oldest ready message goes first, then the others; a busy group does not hold them up', async () => {
      const { store } = context;
      await store.putQueue({ name: 'f', settings: settings({ ordering: 'fifo' }), now: T0 });
      const g = (text: string, group: string) => message(text, { group });
      await store.produce({ queue: 'f', messages: [g('m1', 'm'), g('m2', 'm')], ...opts() });
      await store.produce({ queue: 'f', messages: [g('z1', 'z'), g('a1', 'a')], ...opts(T0 + 1) });
      expect(values(await claimFrom('f', 2, T0 + 1, 1000))).toEqual(['m1', 'm2']);
      // m is leased with more behind it: the other groups are still found.
      await store.produce({ queue: 'f', messages: Array.from({ length: 50 }, (_, i) => g(`m${i + 3}`, 'm')), ...opts(T0 + 2) });
      expect(values(await claimFrom('f', 1, T0 + 2, 1000)).concat(values(await claimFrom('f', 1, T0 + 2, 1000)))).toEqual(['z1', 'a1']);
      expect(values(await claimFrom('f', 5, T0 + 2, 1000))).toEqual([]);
    });

    test('FIFO: one claim leases at most max messages, over all the groups it takes from', async () => {
      const { store } = context;
      await store.putQueue({ name: 'f', settings: settings({ ordering: 'fifo' }), now: T0 });
      const g = (text: string, group: string) => message(text, { group });
      await store.produce({ queue: 'f', messages: [g('a1', 'a'), g('b1', 'b'), g('b2', 'b'), g('b3', 'b')], ...opts() });
      expect(values(await claimFrom('f', 2, T0, 1000))).toEqual(['a1', 'b1']);
    });

    test("FIFO: a group's batch ends at its first message that is not ready: none behind it goes first", async () => {
      const { store } = context;
      await store.putQueue({ name: 'f', settings: settings({ ordering: 'fifo' }), now: T0 });
      await store.produce({ queue: 'f', messages: ['g1', 'g2', 'g3'].map((text) => message(text, { group: 'g' })), ...opts() });
      const [g1, g2, g3] = await claimFrom('f', 10, T0, 1000);
      await store.settle({ at: { queue: 'f' }, refs: [g1.ref, g3.ref], settlement: { kind: 'nack', availableAt: T0 }, now: T0 });
      await store.settle({ at: { queue: 'f' }, refs: [g2.ref], settlement: { kind: 'nack', availableAt: T0 + 5000 }, now: T0 });
      // g3 is ready, but g2 before it is not: g3 waits for it.
      expect(values(await claimFrom('f', 10, T0, 1000))).toEqual(['g1']);
      expect(values(await claimFrom('f', 10, T0 + 5000, 1000))).toEqual(['g1', 'g2', 'g3']);
    });

    test('a lease remembers when the message was first delivered', async () => {
      await context.store.produce({ queue: 'q', messages: [message('a')], ...opts() });
      const [first] = await claim(1, T0 + 5);
      expect(first.firstDeliveredAt).toBe(T0 + 5);
      const [again] = await claim(1, T0 + 5000);
      expect(again).toMatchObject({ deliveryCount: 2, firstDeliveredAt: T0 + 5 });
    });

    test('claim leases oldest first, at most max, and hides leased messages until the lease expires', async () => {
      await context.store.produce({ queue: 'q', messages: ['a', 'b', 'c'].map((v) => message(v)), ...opts() });
      expect(values(await claim(2))).toEqual(['a', 'b']);
      expect(values(await claim(10, T0 + 999))).toEqual(['c']);
      expect(await claim(10, T0 + 999)).toEqual([]);
      const again = await claim(10, T0 + 1000);
      expect(values(again)).toEqual(['a', 'b']);
      expect(again.map((l) => l.deliveryCount)).toEqual([2, 2]);
    });

    test('a delayed message is not claimable before its time, and nextAvailableAt says when', async () => {
      const { store } = context;
      await store.produce({ queue: 'q', messages: [message('later', { delayMs: 5000 })], ...opts() });
      expect(await claim()).toEqual([]);
      expect(await store.nextAvailableAt({ at: { queue: 'q' }, now: T0 })).toBe(T0 + 5000);
      expect(values(await claim(10, T0 + 5000))).toEqual(['later']);
    });

    test('a receipt settles only its own live lease', async () => {
      await context.store.produce({ queue: 'q', messages: [message('a'), message('b')], ...opts() });
      const [a, b] = await claim();
      // The lease of a expires and a is delivered again: the first receipt is fenced off.
      const [a2] = await claim(1, T0 + 1000);
      expect(a2.deliveryCount).toBe(2);
      expect(await settle([a.ref, a2.ref], { kind: 'ack' }, T0 + 1000)).toEqual(['expired', 'acked']);
      expect(await settle([a2.ref], { kind: 'ack' }, T0 + 1000)).toEqual(['unknown']);
      // b's lease ran out without redelivery: refused all the same.
      expect(await settle([b.ref], { kind: 'ack' }, T0 + 1000)).toEqual(['expired']);
      expect(await settle([{ ...b.ref, deliveryCount: 7 }], { kind: 'ack' }, T0)).toEqual(['unknown']);
    });

    test('leaseEnds tells when each live lease ends, and null for one settled, run out, redelivered or of another subscription; it changes nothing', async () => {
      const { store } = context;
      await store.produce({ queue: 'q', messages: [message('a'), message('b'), message('c')], ...opts() });
      const [a, b, c] = await claim();
      const ends = (refs: DeliveryRef[], now: number) => store.leaseEnds({ at: { queue: 'q' }, refs, now });
      expect(await settle([b.ref], { kind: 'extend', leaseUntil: T0 + 5000 })).toEqual(['extended']);
      expect(await settle([c.ref], { kind: 'ack' })).toEqual(['acked']);
      const foreign = { ...a.ref, subscriptionId: `${a.ref.subscriptionId}0` };
      expect(await ends([a.ref, b.ref, c.ref, foreign], T0)).toEqual([T0 + 1000, T0 + 5000, null, null]);
      expect(await ends([a.ref, b.ref], T0 + 1000)).toEqual([null, T0 + 5000]);
      const [a2] = await claim(1, T0 + 1000);
      expect(await ends([a.ref, a2.ref], T0 + 1000)).toEqual([null, T0 + 2000]);
      // Read only: every lease is as it was.
      expect(await settle([a2.ref, b.ref], { kind: 'ack' }, T0 + 1000)).toEqual(['acked', 'acked']);
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
        await context.store.produce({ queue: 'q', messages: [message('a')], ...opts() });
        const [stale] = await claim();
        const [live] = await claim(1, T0 + 1000);
        expect(await settle([stale.ref], settlement, T0 + 1000)).toEqual(['expired']);
        const state = async (now: number) => (await browseQ(null, 10, now)).map((m) => [m.state, m.deliveryCount]);
        // The second delivery's lease, as its claim made it: to T0 + 2000, not freed, not moved.
        expect(await state(T0 + 1999)).toEqual([['leased', 2]]);
        expect(await state(T0 + 2000)).toEqual([['ready', 2]]);
        expect(await settle([live.ref], settlement, T0 + 1000)).toEqual([done]);
      },
    );

    test('a ref issued by another queue is unknown here and leaves that queue alone', async () => {
      const { store } = context;
      await store.putQueue({ name: 'other', settings: settings(), now: T0 });
      await store.produce({ queue: 'other', messages: [message('theirs')], ...opts() });
      const [theirs] = await claimFrom('other', 1, T0, 1000);
      expect(await settle([theirs.ref], { kind: 'ack' }, T0)).toEqual(['unknown']);
      expect(await store.settle({ at: { queue: 'other' }, refs: [theirs.ref], settlement: { kind: 'ack' }, now: T0 })).toEqual(['acked']);
    });

    test('a ref another subscription of the topic issued is unknown here, though message and count match, and renews or dead-letters nothing', async () => {
      const { store } = context;
      await store.putQueue({ name: 'dlq', settings: settings(), now: T0 });
      await store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
      await store.putSubscription({ topic: 't', subscription: 'one', settings: SUBSCRIPTION, fromEarliest: false, now: T0 });
      await store.putSubscription({ topic: 't', subscription: 'two', settings: SUBSCRIPTION, fromEarliest: false, now: T0 });
      await store.produceTopic({ topic: 't', messages: [inPartition(0, 'm')], ...opts() });
      const take = async (subscription: string): Promise<DeliveryRef> => (await claimAt({ topic: 't', subscription }, 1, T0, null))[0].ref;
      const one = await take('one');
      const two = await take('two');
      const atTwo = { topic: 't', subscription: 'two' };
      expect(await store.renewLease({ at: atTwo, ref: one, leaseUntil: T0 + 5000, now: T0 })).toBeNull();
      expect(await store.deadLetterLease({ at: atTwo, ref: one, deadLetterQueue: 'dlq', headers: {}, now: T0 })).toBe(false);
      for (const { settlement } of staleSettlements) expect(await store.settle({ at: atTwo, refs: [one], settlement, now: T0 })).toEqual(['unknown']);
      // Each lease is as its claim made it: its own ref settles it.
      expect(await store.settle({ at: atTwo, refs: [two], settlement: { kind: 'ack' }, now: T0 })).toEqual(['acked']);
      expect(await store.settle({ at: { topic: 't', subscription: 'one' }, refs: [one], settlement: { kind: 'ack' }, now: T0 })).toEqual(['acked']);
      expect((await store.queueStats({ queue: 'dlq', now: T0 })).ready).toBe(0);
    });

    test("without their own values, a claim's lease and a message's delay are the queue's", async () => {
      const { store } = context;
      await store.putQueue({ name: 'q', settings: settings({ visibilityTimeoutMs: 7000, delayMs: 300 }), now: T0 });
      await store.produce({ queue: 'q', messages: [message('a')], ...opts() });
      expect(await claim(10, T0 + 299, null)).toEqual([]);
      expect(values(await claim(10, T0 + 300, null))).toEqual(['a']);
      expect(await store.nextAvailableAt({ at: { queue: 'q' }, now: T0 + 300 })).toBe(T0 + 7300);
    });

    test('nack makes a message ready again after its delay; extend keeps it leased', async () => {
      await context.store.produce({ queue: 'q', messages: [message('a'), message('b')], ...opts() });
      const [a, b] = await claim();
      expect(await settle([a.ref], { kind: 'nack', availableAt: T0 + 500 }, T0)).toEqual(['nacked']);
      expect(await settle([a.ref], { kind: 'ack' }, T0)).toEqual(['expired']);
      expect(await settle([b.ref], { kind: 'extend', leaseUntil: T0 + 5000 }, T0)).toEqual(['extended']);
      expect(await claim(10, T0 + 499)).toEqual([]);
      const later = await claim(10, T0 + 500, 10_000);
      expect(values(later)).toEqual(['a']);
      expect(later[0].deliveryCount).toBe(2);
      expect(await claim(10, T0 + 4999)).toEqual([]);
      expect(await settle([b.ref], { kind: 'ack' }, T0 + 4999)).toEqual(['acked']);
    });

    test('a claim with a zero lease takes each ready message once, and they are ready again at once', async () => {
      await context.store.produce({ queue: 'q', messages: [message('a'), message('b')], ...opts() });
      const deliveries = async () => (await claim(10, T0, 0)).map((l) => [l.message.value.toString(), l.deliveryCount]);
      expect(await deliveries()).toEqual([['a', 1], ['b', 1]]);
      expect(await deliveries()).toEqual([['a', 2], ['b', 2]]);
    });

    test('renewLease counts a new delivery of a live lease and fences the old ref; deadLetterLease moves a live lease at once', async () => {
      const { store } = context;
      const at = { queue: 'q' };
      await store.putQueue({ name: 'dlq', settings: settings(), now: T0 });
      await store.produce({ queue: 'q', messages: [message('a', { headers: { h: '1' } }), message('b')], ...opts() });
      const [a, b] = await claim(2);
      const renewed = await store.renewLease({ at, ref: a.ref, leaseUntil: T0 + 5000, now: T0 + 1 });
      expect(renewed).toEqual({ ...a.ref, deliveryCount: 2 });
      expect(await store.renewLease({ at, ref: a.ref, leaseUntil: T0 + 5000, now: T0 + 1 })).toBeNull();
      // Past the claim's lease b comes back; a is still leased: the renewal moved its end.
      expect(values(await claim(10, T0 + 2000))).toEqual(['b']);
      expect(await settle([a.ref], { kind: 'ack' }, T0 + 2)).toEqual(['expired']);
      const renewedRef = renewed as DeliveryRef;
      expect(await store.deadLetterLease({ at, ref: renewedRef, deadLetterQueue: 'dlq', headers: { why: 'refused' }, now: T0 + 3 })).toBe(true);
      expect(await store.deadLetterLease({ at, ref: renewedRef, deadLetterQueue: 'dlq', headers: {}, now: T0 + 3 })).toBe(false);
      // A lease that ran out (b's first) can be neither renewed nor dead-lettered.
      expect(await store.renewLease({ at, ref: b.ref, leaseUntil: T0 + 9000, now: T0 + 2001 })).toBeNull();
      expect(await store.deadLetterLease({ at, ref: b.ref, deadLetterQueue: 'dlq', headers: {}, now: T0 + 2001 })).toBe(false);
      const [dead] = await claimFrom('dlq', 10, T0 + 4, null);
      expect(dead.message.headers).toEqual({ h: '1', why: 'refused', 'mqgate-dead-letter-source': 'q', 'mqgate-delivery-count': '2' });
      expect(await store.queueStats({ queue: 'q', now: T0 + 4 })).toMatchObject({ deadLettered: 1 });
    });

    test('past maxDeliveries a message moves to the dead-letter queue with its headers, source and count', async () => {
      const { store } = context;
      await store.putQueue({ name: 'dlq', settings: settings(), now: T0 });
      await store.putQueue({ name: 'q', settings: settings({ maxDeliveries: 2, deadLetterQueue: 'dlq' }), now: T0 });
      await store.produce({ queue: 'q', messages: [message('poison', { key: 'k', headers: { trace: 't1' } })], ...opts() });
      expect((await claim(1, T0))[0].deliveryCount).toBe(1);
      expect((await claim(1, T0 + 1000))[0].deliveryCount).toBe(2);
      expect(await claim(1, T0 + 2000)).toEqual([]);
      const [dead] = await claimFrom('dlq', 1, T0 + 2000, 1000);
      expect(dead.message.value.toString()).toBe('poison');
      expect(dead.message.key).toBe('k');
      expect(dead.message.headers).toEqual({ trace: 't1', 'mqgate-dead-letter-source': 'q', 'mqgate-delivery-count': '2' });
      expect(dead.deliveryCount).toBe(1);
      const stats = await store.queueStats({ queue: 'q', now: T0 + 2000 });
      expect(stats).toMatchObject({ ready: 0, inFlight: 0, deadLettered: 1 });
    });

    test('a claim that dead-letters messages on its way goes on until it holds max leases, and takes no more', async () => {
      const { store } = context;
      await store.putQueue({ name: 'dlq', settings: settings(), now: T0 });
      await store.putQueue({ name: 'q', settings: settings({ maxDeliveries: 1, deadLetterQueue: 'dlq' }), now: T0 });
      // At T0 + 1000 the order is p1 p2 p3 a p4 p5 b c d e, each p on its second delivery.
      const later = (text: string) => message(text, { delayMs: 1000 });
      const messages = [message('p1'), message('p2'), message('p3'), later('a'), message('p4'), message('p5'), ...['b', 'c', 'd', 'e'].map(later)];
      await store.produce({ queue: 'q', messages, ...opts() });
      expect(values(await claim(10))).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
      expect(values(await claim(4, T0 + 1000))).toEqual(['a', 'b', 'c', 'd']);
      expect(values(await claimFrom('dlq', 10, T0 + 1000, 1000))).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
      expect(values(await claim(10, T0 + 1000))).toEqual(['e']);
    });

    test('redrive moves ready dead letters back to their source with a fresh count', async () => {
      const { store } = context;
      await store.putQueue({ name: 'dlq', settings: settings(), now: T0 });
      await store.putQueue({ name: 'q', settings: settings({ maxDeliveries: 1, deadLetterQueue: 'dlq' }), now: T0 });
      await store.produce({ queue: 'q', messages: [message('x', { headers: { trace: 't' } })], ...opts() });
      await claim(1, T0);
      expect(await claim(1, T0 + 1000)).toEqual([]);
      expect(await store.redrive({ deadLetterQueue: 'dlq', max: 10, to: null, now: T0 + 1000 })).toEqual({ redriven: 1, remaining: 0 });
      const [back] = await claim(1, T0 + 1000);
      expect(back.message.value.toString()).toBe('x');
      expect(back.message.headers).toEqual({ trace: 't' });
      expect(back.deliveryCount).toBe(1);
    });

    test('redrive leaves messages without a living source', async () => {
      const { store } = context;
      await store.putQueue({ name: 'dlq', settings: settings(), now: T0 });
      await store.produce({ queue: 'dlq', messages: [message('orphan')], ...opts() });
      expect(await store.redrive({ deadLetterQueue: 'dlq', max: 10, to: null, now: T0 })).toEqual({ redriven: 0, remaining: 1 });
    });

    test('redrive to a named queue moves every ready dead letter there, source or not, without the dead-letter headers', async () => {
      const { store } = context;
      await store.putQueue({ name: 'dlq', settings: settings(), now: T0 });
      await store.putQueue({ name: 'elsewhere', settings: settings(), now: T0 });
      await store.putQueue({ name: 'q', settings: settings({ maxDeliveries: 1, deadLetterQueue: 'dlq' }), now: T0 });
      await store.produce({ queue: 'dlq', messages: [message('orphan', { group: 'g' })], ...opts() });
      await store.produce({ queue: 'q', messages: [message('x', { headers: { trace: 't' } })], ...opts() });
      await claim(1, T0);
      expect(await claim(1, T0 + 1000)).toEqual([]);
      expect(await store.redrive({ deadLetterQueue: 'dlq', max: 10, to: 'elsewhere', now: T0 + 1000 })).toEqual({ redriven: 2, remaining: 0 });
      const moved = await claimFrom('elsewhere', 10, T0 + 1000, 1000);
      expect(moved.map((l) => [l.message.value.toString(), l.message.headers, l.message.group, l.deliveryCount])).toEqual([
        ['orphan', {}, 'g', 1],
        ['x', { trace: 't' }, null, 1],
      ]);
      expect((await store.queueStats({ queue: 'q', now: T0 + 1000 })).ready).toBe(0);
      await expectFailure(store.redrive({ deadLetterQueue: 'dlq', max: 10, to: 'missing', now: T0 }), { code: 'queue_not_found', queue: 'missing' });
    });

    test("a move task's step moves at most what it asks for and has left to move, counts it, and ends as the rules say", async () => {
      const { store } = context;
      await store.putQueue({ name: 'dlq', settings: settings(), now: T0 });
      await store.putQueue({ name: 'q', settings: settings({ maxDeliveries: 1, deadLetterQueue: 'dlq' }), now: T0 });
      await store.produce({ queue: 'q', messages: ['a', 'b', 'c', 'd'].map((text) => message(text)), ...opts() });
      await claim(4, T0);
      expect(await claim(4, T0 + 1000)).toEqual([]);
      // Three were ready when it started (say): it moves those three, and no more.
      const task = { handle: 't', destination: null, maxPerSecond: 2, toMove: 3, startedAt: T0 };
      expect(await store.startMoveTask({ queue: 'dlq', task })).toBe(true);
      const step = (handle: string, max: number) => store.stepMoveTask({ handle, max, now: T0 + 1000 });
      expect(await step('t', 2)).toMatchObject({ status: 'running', moved: 2 });
      expect((await store.queueStats({ queue: 'q', now: T0 + 1000 })).ready).toBe(2);
      expect(await step('t', 2)).toMatchObject({ status: 'completed', moved: 3, failure: null });
      expect(values(await claim(4, T0 + 1000))).toEqual(['a', 'b', 'c']);
      expect((await store.queueStats({ queue: 'dlq', now: T0 + 1000 })).ready).toBe(1);

      // Produced into the dead-letter queue, a message names no source: back to the sources, it fails the task (d, which has one, moved).
      await store.produce({ queue: 'dlq', messages: [message('orphan')], ...opts() });
      expect(await store.startMoveTask({ queue: 'dlq', task: { ...task, handle: 'u', toMove: 2 } })).toBe(true);
      expect(await step('u', 10)).toMatchObject({ status: 'failed', failure: 'message_source_unknown', moved: 1 });
      // To a destination that is gone, it fails as well, and moves nothing.
      expect(await store.startMoveTask({ queue: 'dlq', task: { ...task, handle: 'v', destination: 'gone', toMove: 1 } })).toBe(true);
      expect(await step('v', 10)).toMatchObject({ status: 'failed', failure: 'queue_not_found', moved: 0 });
      expect(values(await claimFrom('dlq', 10, T0 + 1000, 1000))).toEqual(['orphan']);
    });

    test('dead letters and redrives are never refused by a full dead-letter queue or source', async () => {
      const { store } = context;
      await store.putQueue({ name: 'dlq', settings: settings({ maxStoredMessages: 1 }), now: T0 });
      await store.putQueue({ name: 'q', settings: settings({ maxDeliveries: 1, deadLetterQueue: 'dlq', maxStoredMessages: 1 }), now: T0 });
      await store.produce({ queue: 'dlq', messages: [message('already')], ...opts() });
      await store.produce({ queue: 'q', messages: [message('x')], ...opts() });
      await claim(1, T0);
      expect(await claim(1, T0 + 1000)).toEqual([]);
      expect((await store.queueStats({ queue: 'dlq', now: T0 + 1000 })).ready).toBe(2);
      await store.produce({ queue: 'q', messages: [message('y')], ...opts(T0 + 1000) });
      expect(await store.redrive({ deadLetterQueue: 'dlq', max: 10, to: null, now: T0 + 1000 })).toMatchObject({ redriven: 1 });
      expect((await store.queueStats({ queue: 'q', now: T0 + 1000 })).ready).toBe(2);
    });
  });
}
