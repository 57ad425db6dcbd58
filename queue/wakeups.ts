import type { Store } from '../persistence/store';
import type { Clock } from './clock';

/**
 * In-process wake-ups for long-polls. Each queue has a version that the store
 * bumps after a commit makes its messages ready; a fetch reads the version
 * before it claims, and if the claim found nothing it waits for the version to
 * move, so a produce committed in between is never missed. No polling loop.
 */
export class Wakeups {
  private readonly versions = new Map<string, number>();
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    store: Store,
    private readonly clock: Clock,
  ) {
    store.onAvailable((queue) => this.bump(queue));
  }

  version(queue: string): number {
    return this.versions.get(queue) ?? 0;
  }

  /** Resolves once `queue` moved past version `since`, the clock reaches `until`, or `signal` aborts. */
  wait(queue: string, since: number, until: number, signal: AbortSignal): Promise<void> {
    if (this.version(queue) !== since || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let waiting = this.waiters.get(queue);
      if (waiting === undefined) {
        waiting = new Set();
        this.waiters.set(queue, waiting);
      }
      const set = waiting;
      const cancelTimer = Number.isFinite(until) ? this.clock.schedule(until, () => done()) : () => undefined;
      const done = (): void => {
        cancelTimer();
        set.delete(done);
        if (set.size === 0 && this.waiters.get(queue) === set) this.waiters.delete(queue);
        signal.removeEventListener('abort', done);
        resolve();
      };
      set.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** How many fetches are waiting right now, across all queues. */
  get waiting(): number {
    let count = 0;
    for (const set of this.waiters.values()) count += set.size;
    return count;
  }

  private bump(queue: string): void {
    this.versions.set(queue, this.version(queue) + 1);
    const waiting = this.waiters.get(queue);
    if (waiting === undefined) return;
    for (const done of [...waiting]) done();
  }
}
