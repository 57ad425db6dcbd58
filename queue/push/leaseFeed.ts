import type { DeliveryRef, DeliveryStore, StoredMessage, SubscriptionRef } from '../../persistence/store';
import type { Clock } from '../clock';
import type { QueueService } from '../queueService';
import type { FeedItem, PushFeed } from './feed';
import { TurnBatch } from './turnBatch';

class LeaseItem implements FeedItem {
  constructor(
    readonly message: StoredMessage,
    public ref: DeliveryRef,
  ) {}

  /** Every attempt is a delivery of its own, so the count in the store is the attempt number. */
  get attempt(): number {
    return this.ref.deliveryCount;
  }
}

/**
 * Push from a queue subscription (a queue's own or a topic's): messages are
 * leased like any consumer's, so one that is not acknowledged comes back when
 * its lease ends, whatever happened to the gateway. A message waiting for
 * its retry stays leased; the retry counts a new delivery.
 */
export class LeaseFeed implements PushFeed<LeaseItem> {
  /** Deliveries that finish together are acked together. */
  private readonly acks = new TurnBatch<DeliveryRef>(async (refs) => {
    await this.store.settle({ at: this.from, refs, settlement: { kind: 'ack' }, now: this.clock.now() });
  });

  constructor(
    private readonly store: DeliveryStore,
    private readonly queues: Pick<QueueService, 'claimWhenReady'>,
    private readonly clock: Clock,
    private readonly from: SubscriptionRef,
    /** The lease of a fresh claim: long enough for one attempt and its settlement. */
    private readonly leaseMs: number,
    /** Added to every renewal, as the queue service adds it to claims: the gateways' clocks' allowed skew (Limits.clockSkewMs). */
    private readonly clockSkewMs: number,
  ) {}

  async next(max: number, signal: AbortSignal): Promise<LeaseItem[]> {
    const { subscriptionId, leases } = await this.queues.claimWhenReady(this.from, max, this.leaseMs, Infinity, signal);
    return leases.map(
      ({ message, deliveryCount }) => new LeaseItem(message, { subscriptionId, messageId: message.id, deliveryCount }),
    );
  }

  delivered(item: LeaseItem): Promise<void> {
    return this.acks.add(item.ref);
  }

  deadLetter(item: LeaseItem, queue: string, headers: Record<string, string>): Promise<boolean> {
    return this.store.deadLetterLease({ at: this.from, ref: item.ref, deadLetterQueue: queue, headers, now: this.clock.now() });
  }

  async retry(item: LeaseItem, until: number): Promise<boolean> {
    const renewed = await this.store.renewLease({ at: this.from, ref: item.ref, leaseUntil: until + this.clockSkewMs, now: this.clock.now() });
    if (renewed === null) return false;
    item.ref = renewed;
    return true;
  }

  async hold(items: LeaseItem[], until: number): Promise<LeaseItem[]> {
    if (items.length === 0) return [];
    const statuses = await this.store.settle({
      at: this.from,
      refs: items.map((item) => item.ref),
      settlement: { kind: 'extend', leaseUntil: until + this.clockSkewMs },
      now: this.clock.now(),
    });
    return items.filter((_, i) => statuses[i] !== 'extended');
  }

  /**
   * Each message is ready again from the time it was produced, so that among
   * messages of one key the released ones come first again, in their order.
   */
  async release(items: LeaseItem[]): Promise<void> {
    const now = this.clock.now();
    await Promise.all(
      items.map((item) => this.store.settle({ at: this.from, refs: [item.ref], settlement: { kind: 'nack', availableAt: Math.min(now, item.message.timestamp) }, now })),
    );
  }

  async close(): Promise<void> {}
}
