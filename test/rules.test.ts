import { rules } from '../queue/rules';

/** The rules every backend applies inside its transactions, tested once here (the store contract tests them through each backend). */
describe('queue rules', () => {
  test('rebalancing: partitions dealt round-robin in member id order, balanced, each to one member, the same for any order of the members', () => {
    const assignment = rules.assignPartitions(['m-b', 'm-a', 'm-c'], 7);
    expect([...assignment]).toEqual([
      ['m-a', [0, 3, 6]],
      ['m-b', [1, 4]],
      ['m-c', [2, 5]],
    ]);
    expect([...rules.assignPartitions(['m-c', 'm-a', 'm-b'], 7)]).toEqual([...assignment]);
    expect([...rules.assignPartitions(['m-a', 'm-b'], 1)]).toEqual([
      ['m-a', [0]],
      ['m-b', []],
    ]);
    expect(rules.assignPartitions([], 3).size).toBe(0);
  });

  test('member expiry: a member last seen a whole session timeout ago is still in; one seen a millisecond before that is out', () => {
    const cutoff = rules.membersSeenBefore(10_000, 3000);
    const gone = (lastSeen: number): boolean => lastSeen < cutoff;
    expect(gone(7000)).toBe(false);
    expect(gone(6999)).toBe(true);
  });

  test('reset policy: earliest starts at the oldest retained offset, latest at the end', () => {
    const bounds = { startOffset: 5, endOffset: 9 };
    expect(rules.resetOffset('earliest', bounds)).toBe(5);
    expect(rules.resetOffset('latest', bounds)).toBe(9);
  });

  test('dead-letter threshold: deliveries 1 to maxDeliveries are made, the next one dead-letters; no limit never does', () => {
    expect(rules.deadLetters(3, 3)).toBe(false);
    expect(rules.deadLetters(4, 3)).toBe(true);
    expect(rules.deadLetters(1_000_000, null)).toBe(false);
  });

  test('FIFO: a group goes when its head is ready and nothing of it is leased; leases are asked about only for a ready head', () => {
    let asked = 0;
    const leased = (answer: boolean) => () => {
      asked += 1;
      return answer;
    };
    expect(rules.fifoGroupMayGo({ availableAt: 100, leased: leased(false) }, 100)).toBe(true);
    expect(rules.fifoGroupMayGo({ availableAt: 100, leased: leased(true) }, 100)).toBe(false);
    expect(asked).toBe(2);
    expect(rules.fifoGroupMayGo({ availableAt: 101, leased: leased(false) }, 100)).toBe(false);
    expect(asked).toBe(2);
  });

  test('quotas: up to the cap fits, one past it breaks it; messages are checked before bytes; no cap never breaks', () => {
    const quota = { maxStoredMessages: 10, maxStoredBytes: 100 };
    expect(rules.quotaBreach(quota, { messages: 8, bytes: 90 }, { messages: 2, bytes: 10 })).toBeNull();
    expect(rules.quotaBreach(quota, { messages: 8, bytes: 90 }, { messages: 3, bytes: 10 })).toBe('messages');
    expect(rules.quotaBreach(quota, { messages: 8, bytes: 90 }, { messages: 2, bytes: 11 })).toBe('bytes');
    expect(rules.quotaBreach(quota, { messages: 10, bytes: 100 }, { messages: 1, bytes: 1 })).toBe('messages');
    expect(rules.quotaBreach({ maxStoredMessages: null, maxStoredBytes: null }, { messages: 1e9, bytes: 1e12 }, { messages: 1, bytes: 1 })).toBeNull();
  });

  test("deduplication window: a FIFO queue's own window when given, the server's otherwise and for every other queue", () => {
    const options = { now: 0, idempotencyWindowMs: 86_400_000, fifoIdempotencyWindowMs: 300_000 };
    expect(rules.deduplicationWindowMs('fifo', options)).toBe(300_000);
    expect(rules.deduplicationWindowMs('standard', options)).toBe(86_400_000);
    expect(rules.deduplicationWindowMs('fifo', { now: 0, idempotencyWindowMs: 1000 })).toBe(1000);
  });

  test('move tasks: a dead letter without a source fails the task, then one whose target is gone; it completes once it moved what it was to, or found less than it asked', () => {
    const step = { asked: 5, found: 5, moved: 5, unsourced: 0, unplaced: 0 };
    expect(rules.moveTaskAfter({ moved: 5, toMove: 10 }, step)).toEqual({ status: 'running', failure: null });
    expect(rules.moveTaskAfter({ moved: 10, toMove: 10 }, step)).toEqual({ status: 'completed', failure: null });
    expect(rules.moveTaskAfter({ moved: 8, toMove: 10 }, { ...step, found: 3, moved: 3 })).toEqual({ status: 'completed', failure: null });
    expect(rules.moveTaskAfter({ moved: 0, toMove: 0 }, { ...step, asked: 0, found: 0, moved: 0 })).toEqual({ status: 'completed', failure: null });
    expect(rules.moveTaskAfter({ moved: 3, toMove: 10 }, { ...step, moved: 3, unsourced: 1, unplaced: 1 })).toEqual({ status: 'failed', failure: 'message_source_unknown' });
    expect(rules.moveTaskAfter({ moved: 4, toMove: 10 }, { ...step, moved: 4, unplaced: 1 })).toEqual({ status: 'failed', failure: 'queue_not_found' });
  });
});
