/**
 * The harness's record of what the gateway promised: every answer it gave,
 * kept across rounds, so that the store left by each crash can be checked
 * against it. Only answered requests count as promises; a request lost to the
 * kill may or may not have taken effect, and is treated as either.
 */

/** A produce request that got no answer; sent again after the restart with the same Idempotency-Key. */
export interface PendingProduce {
  path: string;
  idempotencyKey: string;
  body: { messages: Array<Record<string, unknown>> };
  values: string[];
}

export interface LeasedMessage {
  id: string;
  value: unknown;
  deliveryCount: number;
  receipt: string;
}

export interface LogMessage {
  id: string;
  partition: number;
  offset: number;
  value: unknown;
}

export interface ProduceResult {
  id: string;
  partition: number;
  offset: number;
  duplicate: boolean;
}

/** Messages of every queue: produced, leased, acked. Values are unique strings, so a value names a message. */
export class QueueLedger {
  /** Every value ever sent in a produce, answered or not. */
  readonly attempted = new Set<string>();
  /** Values whose produce was answered 2xx: the gateway promised to keep them. */
  readonly produced = new Set<string>();
  /** Message id of each value, wherever it was seen; one value must never have two. */
  readonly ids = new Map<string, string>();
  /** Highest delivery count seen per value. */
  readonly maxDelivery = new Map<string, number>();
  /** `<id>.<deliveryCount>` of every lease handed out: each delivery happens once. */
  readonly leases = new Set<string>();
  /** Values whose ack returned `acked`, with the delivery count of that lease and the round it was in. */
  readonly acked = new Map<string, { deliveryCount: number; round: number }>();
  /** Values with an ack that got no answer: it may or may not have deleted them. */
  readonly ackInDoubt = new Set<string>();
  readonly pending: PendingProduce[] = [];
  deliveries = 0;
}

/** Topic messages: where each 2xx-produced value went. */
export class TopicLedger {
  readonly attempted = new Set<string>();
  /** Value → partition and offset, as a 2xx produce (or its idempotent retry) answered. */
  readonly produced = new Map<string, { partition: number; offset: number }>();
  /** `<partition>:<offset>` → value, from produce answers and group reads; a slot holds one value, ever. */
  readonly slots = new Map<string, string>();
  readonly pending: PendingProduce[] = [];
}

/** One consumer group: the floor its committed offsets may never go below. */
export class GroupLedger {
  /** Per partition, the highest committed offset the gateway has answered with (commit or describe). */
  readonly floor = new Map<number, number>();
  /** Highest generation seen in any answer. */
  maxGeneration = 0;
  commits = 0;
  fetched = 0;
  /** `<partition>:<offset>` of every message a fetch of this group answered with. */
  readonly read = new Set<string>();

  constructor(readonly name: string) {}

  /** Messages below the committed offsets that no fetch of this group answered with: committed past unread. */
  unreadBelowCommitted(): string[] {
    const unread: string[] = [];
    for (const [partition, committed] of this.floor) {
      for (let offset = 0; offset < committed; offset += 1) {
        if (!this.read.has(`${partition}:${offset}`)) unread.push(`${partition}:${offset}`);
      }
    }
    return unread;
  }
}

/** Everything, plus the violations found so far and the counts for the summary line. */
export class Ledger {
  readonly queue = new QueueLedger();
  readonly topic = new TopicLedger();
  readonly groups: GroupLedger[];
  readonly violations: string[] = [];
  /** Messages whose produce was answered 201. */
  producedMessages = 0;
  /** Receipts answered `acked`. */
  acks = 0;
  /** Receipts answered `nacked`. */
  nacks = 0;
  /** Receipts settled after their lease ran out while their message was leased again, answered `expired`. */
  staleSettles = 0;
  inFlightAtKills = 0;
  /** Time the rounds ran their load before the kill, in all. */
  loadMs = 0;

  constructor(groupNames: string[]) {
    this.groups = groupNames.map((name) => new GroupLedger(name));
  }

  group(name: string): GroupLedger {
    const group = this.groups.find((g) => g.name === name);
    if (group === undefined) throw new Error(`no group ${name} in the ledger`);
    return group;
  }

  violation(what: string): void {
    this.violations.push(what);
  }

  /** A value seen with a message id: the same value must always have the same id. */
  queueId(value: string, id: string, where: string): void {
    const known = this.queue.ids.get(value);
    if (known === undefined) this.queue.ids.set(value, id);
    else if (known !== id) this.violation(`queue value ${value} has two message ids, ${known} and ${id} (${where}): stored twice`);
  }

  /** A topic slot seen holding a value: a slot never changes its value. */
  topicSlot(partition: number, offset: number, value: string, where: string): void {
    const slot = `${partition}:${offset}`;
    const known = this.topic.slots.get(slot);
    if (known === undefined) this.topic.slots.set(slot, value);
    else if (known !== value) this.violation(`topic partition ${partition} offset ${offset} held '${known}', now '${value}' (${where})`);
  }
}
