import type { Store } from '../persistence/store';
import type { Clock } from './clock';
import { REPLY_KEEP_MS } from './replies';

export interface RetentionOptions {
  /** Pause between sweeps when the previous one finished its work. */
  intervalMs: number;
  /** Most messages (and idempotency keys, and forgotten replies) removed per sweep. */
  budget: number;
  idempotencyWindowMs: number;
}

/**
 * Runs the store's bounded retention sweep on the clock: every `intervalMs`,
 * or again at once while a sweep used its whole budget. Returns a stop function.
 */
export function startRetention(store: Store, clock: Clock, options: RetentionOptions): () => void {
  let cancel: (() => void) | null = null;
  let stopped = false;
  const tick = async (): Promise<void> => {
    let busy = false;
    try {
      const result = await store.sweep({
        now: clock.now(),
        budget: options.budget,
        idempotencyWindowMs: options.idempotencyWindowMs,
        repliesBefore: clock.now() - REPLY_KEEP_MS,
      });
      busy = Math.max(result.expiredMessages, result.expiredKeys, result.expiredReplies) >= options.budget;
    } catch {
      // A failed sweep (disk full, store closing) is retried on the next tick.
    }
    if (!stopped) cancel = clock.schedule(clock.now() + (busy ? 0 : options.intervalMs), () => void tick());
  };
  cancel = clock.schedule(clock.now() + options.intervalMs, () => void tick());
  return () => {
    stopped = true;
    cancel?.();
  };
}
