import type { MaintenanceStore } from '../persistence/store';
import type { Clock } from './clock';
import { Waiters } from './waiters';

/**
 * A version per key and waits for one to move. A wait reads the version
 * before it looks (claims, reads) and, if it found nothing, waits for the
 * version to move, so a change made in between is never missed.
 */
class Versions {
  private readonly versions = new Map<string, number>();
  /** Moves every key's version at once. */
  private everything = 0;
  private readonly waiters: Waiters;

  constructor(clock: Clock) {
    this.waiters = new Waiters(clock);
  }

  version(key: string): number {
    return this.everything + (this.versions.get(key) ?? 0);
  }

  /** Resolves once `key` moved past version `since`, the clock reaches `until`, or `signal` aborts. */
  wait(key: string, since: number, until: number, signal: AbortSignal): Promise<void> {
    if (this.version(key) !== since) return Promise.resolve();
    return this.waiters.wait(key, until, signal).woken;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** Moves `key`'s version, or every key's (null), and wakes their waits. */
  bump(key: string | null): void {
    if (key === null) {
      this.everything += 1;
      this.waiters.wakeAll();
      return;
    }
    this.versions.set(key, (this.versions.get(key) ?? 0) + 1);
    this.waiters.wake(key);
  }
}

/**
 * Wake-ups for long-polls and streams, keyed by queue (or topic) name.
 * - `available` moves when the store says a commit made the queue's messages
 *   ready or changed when they next will be (a commit on any gateway process
 *   over the store); a lost announcement moves every queue's.
 * - `settled` moves when this process acked or nacked leases of the queue:
 *   what a stream holding its most leases waits for. The store announces no
 *   ack (an ack wakes no fetch), so other processes' acks are not seen here:
 *   a stream re-checks its leases for those (QueueService.stream).
 * No polling loop.
 */
export class Wakeups {
  private readonly available: Versions;
  readonly settled: Versions;

  constructor(store: Pick<MaintenanceStore, 'onAvailable'>, clock: Clock) {
    this.available = new Versions(clock);
    this.settled = new Versions(clock);
    store.onAvailable((queue) => this.available.bump(queue));
  }

  version(queue: string): number {
    return this.available.version(queue);
  }

  /** Resolves once `queue`'s messages may have become ready since version `since`, the clock reaches `until`, or `signal` aborts. */
  wait(queue: string, since: number, until: number, signal: AbortSignal): Promise<void> {
    return this.available.wait(queue, since, until, signal);
  }

  /** How many fetches and streams are waiting right now, across all queues. */
  get waiting(): number {
    return this.available.waiting + this.settled.waiting;
  }
}
