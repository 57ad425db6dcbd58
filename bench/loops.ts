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
