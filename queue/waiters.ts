import type { Clock } from './clock';

/** One wait: `woken` resolves once; `cancel` ends it early (and resolves it). */
export interface Wait {
  woken: Promise<void>;
  cancel: () => void;
}

/**
 * Callbacks waiting on a key (a queue's name, a request's correlation id),
 * each woken once: by `wake(key)`, by the clock reaching its time, or by its
 * signal. A wait is registered when `wait` returns, so a check made after
 * that cannot miss a wake-up made after the check.
 */
export class Waiters {
  private readonly byKey = new Map<string, Set<() => void>>();

  constructor(private readonly clock: Clock) {}

  wait(key: string, until: number, signal: AbortSignal): Wait {
    let cancel = (): void => undefined;
    const woken = new Promise<void>((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      let waiting = this.byKey.get(key);
      if (waiting === undefined) {
        waiting = new Set();
        this.byKey.set(key, waiting);
      }
      const set = waiting;
      const cancelTimer = Number.isFinite(until) ? this.clock.schedule(until, () => done()) : () => undefined;
      const done = (): void => {
        cancelTimer();
        set.delete(done);
        if (set.size === 0 && this.byKey.get(key) === set) this.byKey.delete(key);
        signal.removeEventListener('abort', done);
        resolve();
      };
      set.add(done);
      signal.addEventListener('abort', done, { once: true });
      cancel = done;
    });
    return { woken, cancel };
  }

  wake(key: string): void {
    const waiting = this.byKey.get(key);
    if (waiting === undefined) return;
    for (const done of [...waiting]) done();
  }

  /** Wakes every wait, whatever its key. */
  wakeAll(): void {
    for (const key of [...this.byKey.keys()]) this.wake(key);
  }

  /** How many waits are open, across all keys. */
  get size(): number {
    let count = 0;
    for (const set of this.byKey.values()) count += set.size;
    return count;
  }
}
