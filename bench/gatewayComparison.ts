import type { Backend } from './backend';
import { type Counted, CpuMeter, type CpuShare, type Meter, processClock } from './cpuMeter';
import { type RunningGateway, withFreshGatewaysOn } from './gateway';
import type { Row, SideCpu } from './report';
import { type Alternation, alternate, alternatingRow, type RowSpec, type Side } from './rounds';
import type { RoundTiming } from './settings';

/** Gateway processes of the result side; the baseline has one. */
export const GATEWAYS = 2;

/** What the notes call a side's gateway `index`: A, B, … */
export const gatewayName = (index: number): string => String.fromCharCode('A'.charCodeAt(0) + index);

/** One gateway of a side, as the scenario's side gets it. */
export interface SideGateway {
  url: string;
  /**
   * What the side's measured run on this gateway goes under. Every gateway of
   * the side must have one run under it per run of the side: the runs start
   * together, once all have come, and are metered as one (`jointMeters`).
   */
  meter: Meter;
}

/** A scenario's side over one or more gateways, made after whatever it needs first, unmeasured. */
export type SideOver = (gateways: SideGateway[]) => Promise<Side>;

/** What one side of a gateway-count comparison spent on the CPU. */
export interface GatewaysCpu {
  /** All its gateways' CPU per message they handled together, and the PostgreSQL server's. */
  side: SideCpu;
  /** Each gateway's CPU per message it handled itself, and its share of a core, in gateway order. */
  gateways: CpuShare[];
}

/** A gateway's store commits so far (its /metrics): how many, the writes each carried and its time, BEGIN to durable, on average. */
interface Commits {
  count: number;
  writesPerCommit: number;
  msPerCommit: number;
}

export interface GatewayComparison {
  alternation: Alternation;
  cpu: { result: GatewaysCpu; baseline: GatewaysCpu };
  /** Each gateway's commits over the whole comparison, in gateway order. */
  commits: { result: Commits[]; baseline: Commits[] };
}

/** The commits of the gateway at `url` since it started: group commit at work, or held apart by contention. */
async function commitsOf(url: string): Promise<Commits> {
  const response = await fetch(`${url}/metrics`);
  if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
  const text = await response.text();
  const value = (name: string): number => {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (match === null) throw new Error(`${url}/metrics has no ${name}`);
    return Number(match[1]);
  };
  const count = value('mqgate_store_commit_operations_count');
  return {
    count,
    writesPerCommit: value('mqgate_store_commit_operations_sum') / count,
    msPerCommit: (value('mqgate_store_commit_duration_seconds_sum') * 1000) / count,
  };
}

/**
 * Meters for runs on several gateways at once that are one measurement: a
 * run waits at `during` until every party has come (its unmeasured
 * preparation, such as a top-up, done), then all start together under
 * `shared`, each also under its own meter of `own`, and the shared
 * measurement ends with the last of them. Each party must come once per
 * measurement.
 */
function jointMeters(shared: Meter, own: readonly Meter[]): Meter[] {
  let waiting: Array<{ start: () => Promise<Counted>; fail: (error: unknown) => void }> = [];
  return own.map((meter) => ({
    during: <T extends Counted>(run: () => Promise<T>): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const start = (): Promise<T> => {
          const counted = meter.during(run);
          resolve(counted);
          return counted;
        };
        waiting.push({ start, fail: reject });
        if (waiting.length < own.length) return;
        const parties = waiting;
        waiting = [];
        shared
          .during(async () => {
            const runs = await Promise.all(parties.map((party) => party.start()));
            return { handled: runs.reduce((sum, run) => sum + run.handled, 0), seconds: Math.max(...runs.map((run) => run.seconds)) };
          })
          // A party already resolved with its run keeps that outcome; the others learn of the failure.
          .catch((error: unknown) => parties.forEach((party) => party.fail(error)));
      }),
  }));
}

/** The sides run at once: the sum of their rates. */
export function together(sides: Side[]): Side {
  return async (seconds) => {
    const rates = await Promise.all(sides.map((side) => side(seconds)));
    return rates.reduce((sum, rate) => sum + rate, 0);
  };
}

/**
 * The side `sideOver` makes over `gateways`, metered: all of them and the
 * PostgreSQL server together, and each gateway on its own.
 */
async function prepare(postgres: Backend, gateways: RunningGateway[], sideOver: SideOver): Promise<{ side: Side; cpu: () => GatewaysCpu }> {
  const clocks = gateways.map((gateway) => processClock(gateway.pid));
  const shared = postgres.meter(() => clocks.reduce((sum, clock) => sum + clock(), 0));
  const own = clocks.map((clock) => new CpuMeter({ gateway: clock }));
  const meters = jointMeters(shared.meter, own);
  const side = await sideOver(gateways.map((gateway, index) => ({ url: gateway.url, meter: meters[index] })));
  return { side, cpu: () => ({ side: shared.cpu(), gateways: own.map((meter) => meter.use('gateway')) }) };
}

/**
 * One scenario on one gateway process over a fresh PostgreSQL database (the
 * baseline) and on GATEWAYS gateway processes side by side over another
 * (the result), each database with the empty queues `queues`. All stay up
 * for the whole comparison and the two sides take turns under the load
 * (rounds.ts), so both see the same machine; each side's runs are metered
 * for CPU.
 */
export function compareGatewayCounts(timing: RoundTiming, postgres: Backend, queues: string[], sideOver: SideOver): Promise<GatewayComparison> {
  return withFreshGatewaysOn(postgres, 1, queues, (baselineGateways) =>
    withFreshGatewaysOn(postgres, GATEWAYS, queues, async (resultGateways) => {
      const baseline = await prepare(postgres, baselineGateways, sideOver);
      const result = await prepare(postgres, resultGateways, sideOver);
      const alternation = await alternate(timing, baseline.side, result.side);
      const commits = (gateways: RunningGateway[]): Promise<Commits[]> => Promise.all(gateways.map((gateway) => commitsOf(gateway.url)));
      return {
        alternation,
        cpu: { result: result.cpu(), baseline: baseline.cpu() },
        commits: { result: await commits(resultGateways), baseline: await commits(baselineGateways) },
      };
    }),
  );
}

/** Each gateway's CPU per message it handled and its share of a core while measured. */
function perGateway({ gateways }: GatewaysCpu): string {
  return gateways
    .map((share, index) => `${gatewayName(index)} ${share.perMessage.toFixed(0)} µs/msg (${share.cores.toFixed(2)} cores)`)
    .join(', ');
}

/** Each gateway's commits. */
function commitsPerGateway(commits: Commits[]): string {
  return commits
    .map(
      (each, index) =>
        `${gatewayName(index)} ${each.count.toLocaleString('en-US')} of ${each.writesPerCommit.toFixed(1)} writes in ${each.msPerCommit.toFixed(2)} ms`,
    )
    .join(', ');
}

/** The table row of a gateway-count comparison: an alternating row (rounds.ts) with each side's CPU per message. */
export function gatewaysRow(spec: RowSpec, timing: RoundTiming, comparison: GatewayComparison): Row {
  const { result, baseline } = comparison.cpu;
  const notes = [
    `baseline: the load on one gateway process over a fresh PostgreSQL database; result: the same load split evenly over ${GATEWAYS} gateway processes side by side over another (each with a data dir of its own)`,
    ...spec.notes,
    `cpu per gateway process, per message it handled itself: result ${perGateway(result)}; baseline ${perGateway(baseline)}`,
    `store commits per gateway process over the whole comparison (warm-up and any top-ups included), each on average: result ${commitsPerGateway(comparison.commits.result)};` +
      ` baseline ${commitsPerGateway(comparison.commits.baseline)}`,
  ];
  return { ...alternatingRow({ ...spec, notes }, timing, comparison.alternation), cpu: { result: result.side, baseline: baseline.side } };
}
