import type { GroupSettings, PushSettings, PushSource } from '../../persistence/store';
import { ALL, type ContractContext, expectFailure, SUBSCRIPTION, settings, T0, topicSettings } from './fixtures';

/** Push subscriptions: what they deliver from, their settings and counters. */
export function describePush(context: ContractContext): void {
  describe('push', () => {
    test('push subscriptions: sources that exist, a fixed source, counters, pause; deleted with their source', async () => {
      const { store } = context;
      const push: PushSettings = {
        url: 'http://127.0.0.1:9/x',
        method: 'POST',
        headers: { a: 'b' },
        timeoutMs: 1000,
        concurrency: 2,
        maxAttempts: 3,
        backoff: { initialMs: 10, maxMs: 100, multiplier: 2, jitter: 0 },
        ordering: 'key',
        deadLetterQueue: null,
        retryClientErrors: false,
      };
      const groupDefaults: GroupSettings = { resetPolicy: 'earliest', sessionTimeoutMs: 1000 };
      const putPush = (name: string, source: PushSource, overrides: Partial<PushSettings> = {}, secret: string | null = null, now = T0) =>
        store.putPush({ name, source, settings: { ...push, ...overrides }, secret, now, groupDefaults });
      await expectFailure(putPush('p', { queue: 'missing' }), { code: 'queue_not_found', queue: 'missing' });
      await expectFailure(putPush('p', { queue: 'q' }, { deadLetterQueue: 'nope' }), { code: 'dead_letter_queue_not_found', queue: 'nope' });
      const created = await putPush('p', { queue: 'q' }, {}, 's3cret');
      expect(created).toMatchObject({ created: true, push: { ...push, name: 'p', source: { queue: 'q' }, secret: 's3cret', paused: false } });
      await store.putQueue({ name: 'other', settings: settings(), now: T0 });
      await expectFailure(putPush('p', { queue: 'other' }), { code: 'source_cannot_change', push: 'p', source: { queue: 'q' } });
      expect((await putPush('p', { queue: 'q' }, { concurrency: 5 }, null, T0 + 1)).push).toMatchObject({ concurrency: 5, secret: null, updatedAt: T0 + 1 });

      await store.recordPush({ name: 'p', outcome: { delivered: 2, failures: 1, deadLettered: 0, at: T0 + 5, lastError: { status: 503, error: 'HTTP 503' } } });
      await store.recordPush({ name: 'p', outcome: { delivered: 1, failures: 0, deadLettered: 0, at: T0 + 6, lastError: null } });
      expect((await store.getPush('p'))?.counters).toEqual({
        delivered: 3,
        attempts: 4,
        failures: 1,
        deadLettered: 0,
        lastSuccessAt: T0 + 6,
        lastErrorAt: T0 + 5,
        lastError: { status: 503, error: 'HTTP 503' },
      });
      expect((await store.setPushPaused({ name: 'p', paused: true, now: T0 + 7 })).paused).toBe(true);

      await store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
      await putPush('g', { topic: 't', group: 'new' });
      expect((await store.describeGroup({ topic: 't', group: 'new', now: T0 })).resetPolicy).toBe('earliest');
      await store.putSubscription({ topic: 't', subscription: 's', settings: SUBSCRIPTION, fromEarliest: false, now: T0 });
      await putPush('s', { topic: 't', subscription: 's' });
      expect((await store.listPush(ALL)).items.map((p) => [p.name, p.source])).toEqual([
        ['g', { topic: 't', group: 'new' }],
        ['p', { queue: 'q' }],
        ['s', { topic: 't', subscription: 's' }],
      ]);
      await store.deleteSubscription({ topic: 't', subscription: 's' });
      await store.deleteQueue('q');
      expect((await store.listPush(ALL)).items.map((p) => p.name)).toEqual(['g']);
      await store.deletePush('g');
      await expectFailure(store.deletePush('g'), { code: 'push_subscription_not_found', push: 'g' });
      expect(await store.getPush('g')).toBeNull();
    });
  });
}
