import type { MaintenanceStore } from '../persistence/store';
import type { Clock } from './clock';
import { Waiters } from './waiters';

/**
 * In-process wake-ups for long-polls. Each queue has a version that the store
 * bumps after a commit makes its messages ready; a fetch reads the version
 * before it claims, and if the claim found nothing it waits for the version to
 * move, so a produce committed in between is never missed. No polling loop.
 */
export class Wakeups {
  private readonly versions = new Map<string, number>();
  private readonly waiters: Waiters;

  constructor(store: Pick<MaintenanceStore, 'onAvailable'>, clock: Clock) {
    this.waiters = new Waiters(clock);
    store.onAvailable((queue) => this.bump(queue));
  }

  version(queue: string): number {
    return this.versions.get(queue) ?? 0;
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

  private bump(queue: string): void {
    this.versions.set(queue, this.version(queue) + 1);
    this.waiters.wake(queue);
  }
}
