import { ALL, type ContractContext, expectFailure, inPartition, leasing, opts, SUBSCRIPTION, T0, topicSettings, values } from './fixtures';

/** Queue subscriptions of topics: each an independent work queue over the topic's messages. */
export function describeSubscriptions(context: ContractContext): void {
  describe('subscriptions', () => {
    const { claimAt } = leasing(context);

    test('topic subscriptions: each gets every message once, acks leave the message for the others', async () => {
      const { store } = context;
      const subscribe = (subscription: string, fromEarliest: boolean) => store.putSubscription({ topic: 't', subscription, settings: SUBSCRIPTION, fromEarliest, now: T0 });
      await store.putTopic({ name: 't', settings: topicSettings({ partitions: 2 }), now: T0 });
      await subscribe('old', false);
      await store.produceTopic({ topic: 't', messages: [inPartition(0, 'a')], ...opts() });
      await subscribe('late', false);
      await subscribe('full', true);
      await store.produceTopic({ topic: 't', messages: [inPartition(1, 'b')], ...opts() });
      const take = async (subscription: string) => {
        const leases = await claimAt({ topic: 't', subscription }, 10, T0, null);
        return { values: values(leases), refs: leases.map((l) => l.ref) };
      };
      const old = await take('old');
      expect(old.values).toEqual(['a', 'b']);
      expect((await take('late')).values).toEqual(['b']);
      expect((await take('full')).values).toEqual(['a', 'b']);
      expect(await store.settle({ at: { topic: 't', subscription: 'old' }, refs: old.refs, settlement: { kind: 'ack' }, now: T0 })).toEqual(['acked', 'acked']);
      expect((await store.readPartition({ topic: 't', partition: 0, offset: 0, max: 10, maxBytes: 1000 })).messages).toHaveLength(1);
      expect(await store.subscriptionStats({ topic: 't', subscription: 'full', now: T0 })).toMatchObject({ inFlight: 2, acked: 0 });
      expect((await store.listSubscriptions({ topic: 't', ...ALL })).items.map((s) => s.name)).toEqual(['full', 'late', 'old']);
      await store.deleteSubscription({ topic: 't', subscription: 'late' });
      expect(await store.getSubscription({ topic: 't', subscription: 'late' })).toBeNull();
      await expectFailure(store.claim({ from: { topic: 't', subscription: 'late' }, max: 1, now: T0, visibilityTimeoutMs: null }), {
        code: 'subscription_not_found',
        topic: 't',
        subscription: 'late',
      });
    });
  });
}
