/**
 * Time as the semantics see it. Visibility timeouts, delays, retention and
 * long-poll deadlines all read `now()` and wait with `schedule()`, so tests
 * drive them with a manual clock instead of sleeping.
 */
export interface Clock {
  now(): number;
  /** Calls `callback` once the clock reads `at` or later; returns a cancel function. */
  schedule(at: number, callback: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(at, callback) {
    const timer = setTimeout(callback, Math.max(0, at - Date.now()));
    return () => clearTimeout(timer);
  },
};
