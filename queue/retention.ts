import type { MaintenanceStore } from '../persistence/store';
import type { Clock } from './clock';
import { REPLY_KEEP_MS } from './replies';

export interface RetentionOptions {
  /** Pause between sweeps when the previous one finished its work. */
  intervalMs: number;
  /** Most messages (and idempotency keys, and forgotten replies) removed per sweep. */
  budget: number;
  idempotencyWindowMs: number;
  /** Queues and topic partitions one sweep looks at (PARTITIONS_PER_SWEEP in the gateway). */
  partitions: number;
  /** This gateway process among those over the store: only the holder of the sweep lease sweeps (SweepOptions). */
  holder: string;
  /** Told of a sweep that failed (for the log): the next tick tries again. */
  onError: (error: unknown) => void;
}

/**
 * Queues and topic partitions one sweep looks at: with 100,000 queues a pass
 * over all of them takes 100 sweeps (100 s at the default interval), each as
 * short as a sweep with 1,000 queues.
 */
export const PARTITIONS_PER_SWEEP = 1000;

/** How many intervals the sweep lease lasts: a sweeper that stops is replaced this many intervals later at most. */
const SWEEP_LEASE_INTERVALS = 5;

/**
 * Runs the store's bounded retention sweep on the clock: every `intervalMs`,
 * or again at once while a sweep used its whole budget. Returns a stop function.
 */
export function startRetention(store: Pick<MaintenanceStore, 'sweep'>, clock: Clock, options: RetentionOptions): () => void {
  let cancel: (() => void) | null = null;
  let stopped = false;
  let resumeAfter: string | null = null;
  const tick = async (): Promise<void> => {
    let busy = false;
    try {
      const result = await store.sweep({
        now: clock.now(),
        budget: options.budget,
        idempotencyWindowMs: options.idempotencyWindowMs,
        repliesBefore: clock.now() - REPLY_KEEP_MS,
        partitions: options.partitions,
        resumeAfter,
        holder: options.holder,
        // Renewed each interval; if this process stops, another one sweeps within a few intervals.
        leaseMs: options.intervalMs * SWEEP_LEASE_INTERVALS,
      });
      resumeAfter = result.resumeAfter;
      busy = Math.max(result.expiredMessages, result.expiredKeys, result.expiredReplies) >= options.budget;
    } catch (error) {
      // A failed sweep (disk full, the store unreachable) is retried on the next tick.
      options.onError(error);
    }
    if (!stopped) cancel = clock.schedule(clock.now() + (busy ? 0 : options.intervalMs), () => void tick());
  };
  cancel = clock.schedule(clock.now() + options.intervalMs, () => void tick());
  return () => {
    stopped = true;
    cancel?.();
  };
}
