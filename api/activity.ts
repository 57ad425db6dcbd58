import type { Clock } from '../queue/clock';
import type { Totals } from './metrics';

export interface ActivitySample {
  /** End of the interval (ms since the epoch). */
  at: number;
  produced: number;
  consumed: number;
}

export interface ActivityHistory {
  intervalMs: number;
  samples: ActivitySample[];
}

/** Every 5 s, and 15 minutes of them: what the dashboard's chart shows. */
export const ACTIVITY_INTERVAL_MS = 5000;
const KEPT_SAMPLES = 180;

/**
 * Messages produced and consumed per interval, from the metrics' running
 * totals: operationId getActivity. In memory only; the dashboard needs the
 * last minutes, not a time series database.
 */
export class Activity {
  private readonly samples: ActivitySample[] = [];
  private last: Totals;
  private cancel: (() => void) | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly totals: () => Totals,
  ) {
    this.last = totals();
  }

  /** Samples every interval until the returned function is called. */
  start(): () => void {
    const next = (): void => {
      this.cancel = this.clock.schedule(this.clock.now() + ACTIVITY_INTERVAL_MS, () => {
        this.sample();
        next();
      });
    };
    next();
    return () => this.cancel?.();
  }

  history(): ActivityHistory {
    return { intervalMs: ACTIVITY_INTERVAL_MS, samples: [...this.samples] };
  }

  private sample(): void {
    const now = this.totals();
    this.samples.push({ at: this.clock.now(), produced: now.produced - this.last.produced, consumed: now.delivered - this.last.delivered });
    if (this.samples.length > KEPT_SAMPLES) this.samples.shift();
    this.last = now;
  }
}
