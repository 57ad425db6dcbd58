/** Knobs of one bench run, read once from the environment so a quick run and the default one use the same code. */
export interface BenchSettings {
  /** Measured seconds per load run (BENCH_SECONDS, default 8). */
  seconds: number;
  /** Unmeasured seconds before each load run (BENCH_WARMUP_SECONDS, default 2): JIT, page cache, connections. */
  warmupSeconds: number;
  /** Ready messages of the large queue of scenario (d) (BENCH_BACKLOG, default 1,000,000). */
  backlog: number;
  /** Messages fetched and acked per queue size in scenario (d) (BENCH_BACKLOG_SAMPLES, default 4000). */
  backlogSamples: number;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number, integer: boolean): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'whole ' : ''}number; got '${raw}'.`);
  }
  return value;
}

export function readSettings(env: NodeJS.ProcessEnv): BenchSettings {
  return {
    seconds: positive(env, 'BENCH_SECONDS', 8, false),
    warmupSeconds: positive(env, 'BENCH_WARMUP_SECONDS', 2, false),
    backlog: positive(env, 'BENCH_BACKLOG', 1_000_000, true),
    backlogSamples: positive(env, 'BENCH_BACKLOG_SAMPLES', 4000, true),
  };
}
