import { StoreError, type StoreErrorCode, type StoreFailure } from '../persistence/errors';
import { GatewayError } from '../queue/errors';
import { gatewayErrorOf, speakingStore } from '../queue/storeErrors';

/** One failure of every code, with the words a client reads for it. */
const FAILURES: Array<[StoreFailure, GatewayError['code'], string]> = [
  [{ code: 'queue_not_found', queue: 'q' }, 'queue_not_found', "Queue 'q' does not exist."],
  [{ code: 'topic_not_found', topic: 't' }, 'topic_not_found', "Topic 't' does not exist."],
  [{ code: 'subscription_not_found', topic: 't', subscription: 's' }, 'subscription_not_found', "Topic 't' has no subscription 's'."],
  [{ code: 'group_not_found', topic: 't', group: 'g' }, 'group_not_found', "Topic 't' has no consumer group 'g'."],
  [{ code: 'push_subscription_not_found', push: 'p' }, 'push_subscription_not_found', "Push subscription 'p' does not exist."],
  [{ code: 'dead_letter_queue_not_found', queue: 'dlq' }, 'dead_letter_queue_not_found', "Dead-letter queue 'dlq' does not exist; create it first."],
  [{ code: 'partition_not_found', topic: 't', partition: 2 }, 'partition_not_found', "Topic 't' has no partition 2."],
  [
    { code: 'offset_out_of_range', topic: 't', partition: 0, offset: 9, start: 2, end: 5 },
    'offset_out_of_range',
    "Offset 9 is outside partition 0 of 't': readable offsets are 2 to 5.",
  ],
  [
    { code: 'offset_out_of_range', topic: 't', partition: 0, offset: 9, start: null, end: 5 },
    'offset_out_of_range',
    "Offset 9 is past the end (5) of partition 0 of 't'.",
  ],
  [{ code: 'name_in_use', name: 'n', usedBy: 'queue' }, 'name_in_use', "'n' is already the name of a queue."],
  [
    { code: 'partitions_cannot_shrink', topic: 't', partitions: 4 },
    'partitions_cannot_shrink',
    "Topic 't' has 4 partitions; a topic's partitions may grow, never shrink.",
  ],
  [
    { code: 'source_cannot_change', push: 'p', source: { topic: 't', group: 'g' } },
    'source_cannot_change',
    "Push subscription 'p' delivers topics/t/groups/g; delete it to deliver another source.",
  ],
  [
    { code: 'unknown_member', group: 'g', memberId: 'm', during: 'heartbeat' },
    'unknown_member',
    "'m' is not a member of group 'g' (it left or missed its session timeout); join again.",
  ],
  [{ code: 'unknown_member', group: 'g', memberId: 'm', during: 'leave' }, 'unknown_member', "'m' is not a member of group 'g'."],
  [
    { code: 'stale_generation', group: 'g', generation: 3, current: 4 },
    'stale_generation',
    "Generation 3 is over; group 'g' is in generation 4. Fetch again (or join again) before committing.",
  ],
  [
    { code: 'partition_not_assigned', memberId: 'm', partition: 1, generation: 4 },
    'stale_generation',
    "Partition 1 is not assigned to 'm' in generation 4.",
  ],
  [
    { code: 'group_has_members', group: 'g', during: 'fetch' },
    'group_has_members',
    "Group 'g' has members; fetch as one of them (memberId) or use another group.",
  ],
  [
    { code: 'group_has_members', group: 'g', during: 'commit' },
    'group_has_members',
    "Group 'g' has members; commit as one of them (memberId and generation).",
  ],
  [
    { code: 'queue_in_use', queue: 'dlq', dependents: 2 },
    'queue_in_use',
    "Queue 'dlq' is the dead-letter queue of 2 other queue(s), subscription(s) or push subscription(s); change those first.",
  ],
  [{ code: 'message_too_large', name: 'q', index: 1, bytes: 20, max: 10 }, 'message_too_large', "Message 1 is 20 bytes; 'q' accepts at most 10."],
  [
    { code: 'quota_exceeded', name: 'q', unit: 'messages', stored: 1, max: 2, adding: 2 },
    'quota_exceeded',
    "'q' stores 1 of at most 2 messages; 2 more do not fit.",
  ],
  [{ code: 'storage_full' }, 'storage_full', 'The store is out of space; nothing was written.'],
  [{ code: 'text_unstorable' }, 'bad_request', 'A name, key or header holds a character the store cannot keep (NUL, U+0000).'],
  [{ code: 'storage_unavailable', state: 'refused' }, 'storage_unavailable', 'The store cannot write right now; nothing was written.'],
  [
    { code: 'storage_unavailable', state: 'halted' },
    'storage_unavailable',
    'The store failed to write to disk and takes no writes until restarted; nothing was written.',
  ],
  [
    { code: 'storage_unavailable', state: 'unconfirmed' },
    'storage_unavailable',
    'The store could not confirm the write on disk; it may or may not have been kept.',
  ],
  [{ code: 'not_ready', pendingMigrations: 2 }, 'not_ready', '2 schema migration(s) are not applied.'],
];

describe('store refusals as clients see them', () => {
  test.each(FAILURES)('%j is %s: %s', (failure, code, detail) => {
    const error = gatewayErrorOf(failure, new StoreError(failure));
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code, message: detail });
  });

  test('every code a store can refuse with has its words here', () => {
    // A new code fails to compile here until it is listed, and then this test until it has words above.
    const every: Record<StoreErrorCode, true> = {
      queue_not_found: true,
      topic_not_found: true,
      subscription_not_found: true,
      group_not_found: true,
      push_subscription_not_found: true,
      dead_letter_queue_not_found: true,
      partition_not_found: true,
      offset_out_of_range: true,
      position_invalid: true,
      name_in_use: true,
      partitions_cannot_shrink: true,
      source_cannot_change: true,
      unknown_member: true,
      stale_generation: true,
      partition_not_assigned: true,
      group_has_members: true,
      queue_in_use: true,
      message_too_large: true,
      quota_exceeded: true,
      storage_full: true,
      text_unstorable: true,
      storage_unavailable: true,
      not_ready: true,
    };
    const worded = new Set<StoreErrorCode>([...FAILURES.map(([failure]) => failure.code), 'position_invalid']);
    expect([...worded].sort()).toEqual(Object.keys(every).sort());
  });

  test('a browse position the store did not give is validation_failed on /query/after', () => {
    const failure: StoreFailure = { code: 'position_invalid', position: 'zzz' };
    const error = gatewayErrorOf(failure, new StoreError(failure));
    expect(error.code).toBe('validation_failed');
    expect(error.errors).toEqual([{ pointer: '/query/after', detail: "'zzz' is not the id of a message of this queue." }]);
  });

  test('through queue/, a store refusal arrives as its GatewayError and a fault as it is; calls that are not promises pass through', async () => {
    const fault = new TypeError('a bug');
    const listeners: string[] = [];
    const store = speakingStore({
      getQueue: (name: string): Promise<null> => Promise.reject(new StoreError({ code: 'queue_not_found', queue: name })),
      getTopic: (): Promise<null> => Promise.reject(fault),
      onAvailable: (listener: string): (() => void) => {
        listeners.push(listener);
        return () => undefined;
      },
    });
    await expect(store.getQueue('q')).rejects.toMatchObject({ code: 'queue_not_found', message: "Queue 'q' does not exist." });
    await expect(store.getQueue('q')).rejects.toBeInstanceOf(GatewayError);
    await expect(store.getTopic()).rejects.toBe(fault);
    expect(typeof store.onAvailable('x')).toBe('function');
    expect(listeners).toEqual(['x']);
    expect(store.getQueue).toBe(store.getQueue);
  });
});
