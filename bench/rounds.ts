import type { Row, Target } from './report';
import type { RoundTiming } from './settings';

/**
 * One side of a comparison, started once and kept running between rounds:
 * puts its load on for `seconds` and resolves with its figure over that
 * time: the rate it reached (higher is better), or what a message cost
 * (lower is better; the row's target says which).
 */
export type Side = (seconds: number) => Promise<number>;

/** Per-round numbers of `alternate`, in round order. */
export interface Alternation {
  baselines: number[];
  results: number[];
  /** result ÷ baseline of each round pair. */
  ratios: number[];
}

/**
 * Measures `baseline` and `result` in turns (baseline, result, baseline,
 * result, …) after one unmeasured warm-up of each. On a shared, noisy machine
 * a slow spell then spoils a round pair or two instead of a whole side, and
 * the median of the per-pair ratios leaves those pairs out.
 */
export async function alternate(timing: RoundTiming, baseline: Side, result: Side): Promise<Alternation> {
  await baseline(timing.warmupSeconds);
  await result(timing.warmupSeconds);
  const alternation: Alternation = { baselines: [], results: [], ratios: [] };
  for (let round = 0; round < timing.rounds; round++) {
    const baselineRate = await baseline(timing.seconds);
    const resultRate = await result(timing.seconds);
    alternation.baselines.push(baselineRate);
    alternation.results.push(resultRate);
    alternation.ratios.push(resultRate / baselineRate);
  }
  return alternation;
}

/**
 * The Alternation of two figures taken round by round in some other
 * alternation (each side's latency, or two percentiles of one side): the
 * i-th baseline pairs with the i-th result.
 */
export function pairRounds(baselines: number[], results: number[]): Alternation {
  if (baselines.length !== results.length) throw new Error(`${baselines.length} baselines but ${results.length} results`);
  return { baselines, results, ratios: results.map((result, round) => result / baselines[round]) };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('the median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The `q`-quantile (0 < q <= 1) by nearest rank: the smallest value with at
 * least a share `q` of the values at or below it, so p99 is a value that
 * was measured, not one interpolated between two.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('a quantile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

/**
 * `side`, remembering the rate of its latest run: for a side whose runs are
 * sized by the other side's rate (a top-up before each run). `alternate`
 * runs the baseline first, warm-up included, so a rate is known before the
 * result side's first run.
 */
export function tracked(side: Side): { side: Side; latest: () => number } {
  let latest = 0;
  return {
    side: async (seconds) => {
      latest = await side(seconds);
      return latest;
    },
    latest: () => latest,
  };
}

/** What a scenario says about its row; `alternatingRow` adds the numbers. */
export interface RowSpec {
  scenario: string;
  resultUnit: string;
  baselineUnit: string;
  target: Target;
  notes: string[];
}

/**
 * The table row of an alternation: median figures in the result and baseline
 * columns, and as the ratio the median of the per-round ratios, which pairs
 * each result with the baseline measured right before it. The per-round
 * ratios go into the notes, so a reader sees how far the rounds spread.
 */
export function alternatingRow(spec: RowSpec, timing: RoundTiming, alternation: Alternation): Row {
  return {
    scenario: spec.scenario,
    result: { value: median(alternation.results), unit: spec.resultUnit },
    baseline: { value: median(alternation.baselines), unit: spec.baselineUnit },
    ratio: median(alternation.ratios),
    target: spec.target,
    notes: [
      ...spec.notes,
      `median of ${timing.rounds} alternating rounds of ${timing.seconds} s per side after ${timing.warmupSeconds} s warm-up;` +
        ` ratios per round: ${alternation.ratios.map((ratio) => ratio.toFixed(2)).join(' ')}`,
    ],
  };
}
