import type { MaintenanceStore } from '../persistence/store';
import type { Clock } from './clock';
import { Waiters } from './waiters';

/**
 * Wake-ups for long-polls. Each queue has a version that the store bumps
 * after a commit makes its messages ready or changes when they next will be
 * (a commit on any gateway process over the store); a fetch reads the version
 * before it claims, and if the claim found nothing it waits for the version to
 * move, so a produce committed in between is never missed. No polling loop.
 */
export class Wakeups {
  private readonly versions = new Map<string, number>();
  /** Moves every queue's version at once: announcements may have been missed, so no queue's version can be trusted. */
  private everything = 0;
  private readonly waiters: Waiters;

  constructor(store: Pick<MaintenanceStore, 'onAvailable'>, clock: Clock) {
    this.waiters = new Waiters(clock);
    store.onAvailable((queue) => this.bump(queue));
  }

  version(queue: string): number {
    return this.everything + (this.versions.get(queue) ?? 0);
  }

  /** Resolves once `queue` moved past version `since`, the clock reaches `until`, or `signal` aborts. */
  wait(queue: string, since: number, until: number, signal: AbortSignal): Promise<void> {
    if (this.version(queue) !== since) return Promise.resolve();
    return this.waiters.wait(queue, until, signal).woken;
  }

  /** How many fetches are waiting right now, across all queues. */
  get waiting(): number {
    return this.waiters.size;
  }

  private bump(queue: string | null): void {
    if (queue === null) {
      this.everything += 1;
      this.waiters.wakeAll();
      return;
    }
    this.versions.set(queue, (this.versions.get(queue) ?? 0) + 1);
    this.waiters.wake(queue);
  }
}
