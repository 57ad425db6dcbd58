/**
 * Knobs of one bench run, read once from the environment so a quick run and the default one use the same code.
 *
 * All scenarios but (d), (d-pg) and (h) measure each side of their comparison in
 * alternating rounds (see rounds.ts), (k) only for its produce and fetch +
 * ack: with the defaults that is 2 × 5 rounds of 5 s plus the warm-ups per
 * comparison ((i) makes four, (a″) and (b) with (b′) two each; (a′) reads
 * (a)'s rounds); (h) samples for 2 × 5 s. The whole `npm run bench` takes
 * twelve to thirteen minutes on a 2-core machine without (k), whose filling
 * and probing take far longer, and without the pg- scenarios (run.ts).
 */
export interface BenchSettings {
  /** Baseline/result round pairs of the alternating rows (BENCH_ROUNDS, default 5): odd, so the median is one round pair. */
  rounds: number;
  /** Measured seconds of one round of one side (BENCH_SECONDS, default 5). */
  seconds: number;
  /**
   * Unmeasured seconds of load on each side before its first round
   * (BENCH_WARMUP_SECONDS, default 2): JIT, page cache, connections.
   */
  warmupSeconds: number;
  /** Ready messages of the large queue of scenarios (d) and (d-pg) (BENCH_BACKLOG, default 1,000,000). */
  backlog: number;
  /** Messages fetched and acked per queue size in scenarios (d) and (d-pg) (BENCH_BACKLOG_SAMPLES, default 4000). */
  backlogSamples: number;
  /** Queues scenario (k) creates besides the two it works with (BENCH_QUEUES, default 100,000). */
  queues: number;
  /** Topics scenario (k) creates, each with one consumer group (BENCH_TOPICS, default 10,000). */
  topics: number;
  /**
   * Ready messages of the big queue of scenario (k) (BENCH_BIG_BACKLOG, default
   * 10,000,000) of 100 bytes each: about 3 GB on disk, produced over HTTP before anything is measured.
   */
  bigBacklog: number;
  /** Names of the scenarios to run (BENCH_ONLY, comma-separated; run.ts lists them), or null for all. */
  only: string[] | null;
}

/** What the alternating scenarios need to know of the settings. */
export type RoundTiming = Pick<BenchSettings, 'rounds' | 'seconds' | 'warmupSeconds'>;

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number, integer: boolean): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'whole ' : ''}number; got '${raw}'.`);
  }
  return value;
}

function names(env: NodeJS.ProcessEnv, name: string): string[] | null {
  const listed = (env[name] ?? '').split(',').map((each) => each.trim()).filter((each) => each !== '');
  return listed.length === 0 ? null : listed;
}

export function readSettings(env: NodeJS.ProcessEnv): BenchSettings {
  return {
    rounds: positive(env, 'BENCH_ROUNDS', 5, true),
    seconds: positive(env, 'BENCH_SECONDS', 5, false),
    warmupSeconds: positive(env, 'BENCH_WARMUP_SECONDS', 2, false),
    backlog: positive(env, 'BENCH_BACKLOG', 1_000_000, true),
    backlogSamples: positive(env, 'BENCH_BACKLOG_SAMPLES', 4000, true),
    queues: positive(env, 'BENCH_QUEUES', 100_000, true),
    topics: positive(env, 'BENCH_TOPICS', 10_000, true),
    bigBacklog: positive(env, 'BENCH_BIG_BACKLOG', 10_000_000, true),
    only: names(env, 'BENCH_ONLY'),
  };
}
