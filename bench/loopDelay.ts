/** One stretch of the gateway's event-loop delay, ms. */
interface Delay {
  p99: number;
  max: number;
}

/** prom-client's event-loop histogram samples with a 10 ms timer: its delays count that period, which an idle loop shows too. */
const SAMPLING_PERIOD_MS = 10;

/** The event-loop delay the gateway at `url` saw since the last scrape: each scrape of /metrics restarts prom-client's histogram. */
async function scrape(url: string): Promise<Delay> {
  const response = await fetch(`${url}/metrics`);
  if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
  const text = await response.text();
  const late = (name: string): number => {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (match === null) throw new Error(`${url}/metrics has no ${name}`);
    return Math.max(0, Number(match[1]) * 1000 - SAMPLING_PERIOD_MS);
  };
  return { p99: late('nodejs_eventloop_lag_p99_seconds'), max: late('nodejs_eventloop_lag_max_seconds') };
}

/**
 * How late the gateway's event loop ran during each run it was given (p99
 * and max, past the sampling period): how long a request that arrived during
 * the load waited before the gateway could even read it.
 */
export class LoopDelay {
  private readonly runs: Delay[] = [];

  constructor(private readonly url: string) {}

  async during<T>(run: () => Promise<T>): Promise<T> {
    await scrape(this.url);
    const result = await run();
    this.runs.push(await scrape(this.url));
    return result;
  }

  /** One note: the p99 and max of every run, in run order. */
  note(): string {
    const ms = (values: number[]): string => values.map((value) => value.toFixed(1)).join(' ');
    return (
      `mqgate's event loop ran late by, per run (the first is the warm-up): p99 ${ms(this.runs.map((run) => run.p99))} ms;` +
      ` max ${ms(this.runs.map((run) => run.max))} ms`
    );
  }
}
