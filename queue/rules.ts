import type { StoreRules } from '../persistence/store';

/**
 * The queue rules a backend applies inside its transactions: written once
 * here, tested once (test/rules.test.ts), and given to every backend when it
 * is opened, so that SQLite and PostgreSQL decide alike.
 */
export const rules: StoreRules = {
  /**
   * The group assignor: partitions dealt round-robin over the members in
   * member id order — balanced (sizes differ by at most one), one member per
   * partition, and the same answer in every process for the same membership.
   */
  assignPartitions(memberIds, partitions) {
    const members = [...memberIds].sort();
    const assignment = new Map<string, number[]>(members.map((id) => [id, []]));
    if (members.length === 0) return assignment;
    for (let partition = 0; partition < partitions; partition++) {
      assignment.get(members[partition % members.length])?.push(partition);
    }
    return assignment;
  },

  /** A member not seen for a whole session timeout is gone; one seen exactly then is still in. */
  membersSeenBefore(now, sessionTimeoutMs) {
    return now - sessionTimeoutMs;
  },

  /** `earliest`: the oldest retained message; `latest`: only what comes next (Kafka's auto.offset.reset). */
  resetOffset(policy, bounds) {
    return policy === 'earliest' ? bounds.startOffset : bounds.endOffset;
  },

  /** Deliveries 1 to maxDeliveries are made; the one after goes to the dead-letter queue (SQS's maxReceiveCount). */
  deadLetters(deliveryCount, maxDeliveries) {
    return maxDeliveries !== null && deliveryCount > maxDeliveries;
  },

  /** A message group goes when its oldest unsettled message is ready and none of it is leased: one batch in flight per group. */
  fifoGroupMayGo(head, now) {
    return head.availableAt <= now && !head.leased();
  },

  /** Checked after the append is counted, so a batch is refused whole; messages before bytes. */
  quotaBreach(quota, stored, adding) {
    if (quota.maxStoredMessages !== null && stored.messages + adding.messages > quota.maxStoredMessages) return 'messages';
    if (quota.maxStoredBytes !== null && stored.bytes + adding.bytes > quota.maxStoredBytes) return 'bytes';
    return null;
  },

  /** A FIFO queue remembers keys for its own window (SQS: 5 minutes) when one is given; others for the server's. */
  deduplicationWindowMs(ordering, options) {
    return ordering === 'fifo' ? (options.fifoIdempotencyWindowMs ?? options.idempotencyWindowMs) : options.idempotencyWindowMs;
  },

  /**
   * As SQS: a dead letter a task cannot place fails it (its source unknown
   * first, then where it was to go gone), with what it moved before kept. A
   * task completes once it has moved what was ready at its start, or finds
   * fewer ready than it asked for (the rest are leased, or gone).
   */
  moveTaskAfter(task, step) {
    if (step.unsourced > 0) return { status: 'failed', failure: 'message_source_unknown' };
    if (step.unplaced > 0) return { status: 'failed', failure: 'queue_not_found' };
    if (task.moved >= task.toMove || step.found < step.asked) return { status: 'completed', failure: null };
    return { status: 'running', failure: null };
  },

  /**
   * Per message group, a key is remembered with its group: the same key in
   * two groups is two keys. A JSON pair, so no group and key run together
   * into another's (a group may hold any character a key may).
   */
  deduplicationKey(scope, group, key) {
    return scope === 'messageGroup' ? JSON.stringify([group, key]) : key;
  },
};
