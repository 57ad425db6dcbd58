/**
 * One step of a request loop, e.g. fetch and ack, or read a batch: resolves
 * with the messages it handled, or with 'exhausted' when there was nothing
 * left to handle, which ends the run early.
 */
export type Step = (loop: number) => Promise<number | 'exhausted'>;

export interface LoopRun {
  /** Messages handled per second until the time was up (or a loop found nothing left). */
  rate: number;
  /** Messages handled until the time was up, and the seconds that took. */
  handled: number;
  seconds: number;
  exhausted: boolean;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Spaces a loop's steps to `perSecond`; a loop that fell more than a second behind does not burst to catch up. */
export class Pace {
  private next = performance.now();

  constructor(private readonly perSecond: number) {}

  async wait(): Promise<void> {
    const now = performance.now();
    this.next = Math.max(this.next + 1000 / this.perSecond, now - 1000);
    if (this.next > now) await sleep(this.next - now);
  }
}

/**
 * Starts `call` `perSecond` times a second for `seconds`, each without
 * waiting for the ones before it to end: an open loop, as independent
 * callers make, so a slow answer does not slow the rate. Resolves with the
 * calls started once all have ended; the first failure stops the starting
 * and rejects.
 */
export async function paced(perSecond: number, seconds: number, call: () => Promise<unknown>): Promise<number> {
  const pace = new Pace(perSecond);
  const end = performance.now() + seconds * 1000;
  const calls: Array<Promise<unknown>> = [];
  const failures: unknown[] = [];
  while (failures.length === 0 && performance.now() < end) {
    await pace.wait();
    // Caught at once: a rejection left unhandled until the end would end the process.
    calls.push(call().catch((error: unknown) => failures.push(error)));
  }
  await Promise.all(calls);
  if (failures.length > 0) throw failures[0];
  return calls.length;
}

/**
 * Runs `work` once for each index from 0 to `count` - 1, `workers` at a time,
 * each worker taking the next index as soon as it is done with one: a fixed
 * amount of work over a few connections, where runLoops runs for a time.
 */
export async function forEachIndex(count: number, workers: number, work: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: workers }, worker));
}

/**
 * Runs `loops` concurrent loops of `step` (each told its number) for
 * `seconds`, for the request sequences autocannon cannot express. Counts what
 * the steps completed before the time was up: steps still in flight then are
 * waited for, so no request outlives the run, but not counted.
 */
export async function runLoops(loops: number, seconds: number, step: Step): Promise<LoopRun> {
  const progress = { handled: 0, stopped: false, exhausted: false };
  const loop = async (index: number): Promise<void> => {
    while (!progress.stopped) {
      const handled = await step(index);
      if (handled === 'exhausted') {
        progress.exhausted = true;
        progress.stopped = true;
        return;
      }
      progress.handled += handled;
    }
  };
  const start = performance.now();
  const running = Promise.all(Array.from({ length: loops }, (_, index) => loop(index)));
  // Stop the clock on any failure too, so the other loops end instead of running on unobserved.
  running.catch(() => {
    progress.stopped = true;
  });
  await Promise.race([sleep(seconds * 1000), running]);
  progress.stopped = true;
  const end = { handled: progress.handled, at: performance.now() };
  await running;
  const elapsed = (end.at - start) / 1000;
  return { rate: end.handled / elapsed, handled: end.handled, seconds: elapsed, exhausted: progress.exhausted };
}
