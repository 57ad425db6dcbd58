import { type Backend, SQLITE } from './backend';
import { type Meter, processClock } from './cpuMeter';
import { type RunningGateway, withFreshGatewayOn } from './gateway';
import type { Row, SideCpu } from './report';
import { type Alternation, alternate, alternatingRow, type RowSpec, type Side } from './rounds';
import type { RoundTiming } from './settings';

/** A gateway of a backend comparison, as a scenario's side gets it. */
export interface ComparedGateway {
  backend: Backend['name'];
  url: string;
  /** What the side's measured runs go under: it meters the gateway's CPU and the database server's. */
  meter: Meter;
}

/** A scenario's side against one gateway, made after whatever it needs first, unmeasured (a prefill). */
export type SideOn = (gateway: ComparedGateway) => Promise<Side>;

export interface BackendComparison {
  /** The result side's backend, described. */
  result: string;
  alternation: Alternation;
  cpu: { result: SideCpu; baseline: SideCpu };
}

/**
 * One scenario on two gateways, each on a fresh store with the empty queues
 * `queues`: the baseline storing in SQLite (synchronous=FULL), the result in
 * `result` (PostgreSQL). Both stay up for the whole comparison and take turns
 * under the load (rounds.ts), so both see the same machine; each side's runs
 * are metered for CPU.
 */
export function compareBackends(timing: RoundTiming, result: Backend, queues: string[], sideOn: SideOn): Promise<BackendComparison> {
  const prepare = async (backend: Backend, gateway: RunningGateway): Promise<{ side: Side; cpu: () => SideCpu }> => {
    const { meter, cpu } = backend.meter(processClock(gateway.pid));
    return { side: await sideOn({ backend: backend.name, url: gateway.url, meter }), cpu };
  };
  return withFreshGatewayOn(SQLITE, queues, (baselineGateway) =>
    withFreshGatewayOn(result, queues, async (resultGateway) => {
      const baseline = await prepare(SQLITE, baselineGateway);
      const measured = await prepare(result, resultGateway);
      const alternation = await alternate(timing, baseline.side, measured.side);
      return { result: result.description, alternation, cpu: { result: measured.cpu(), baseline: baseline.cpu() } };
    }),
  );
}

/** The table row of a backend comparison: an alternating row (rounds.ts) with each side's CPU per message. */
export function backendRow(spec: RowSpec, timing: RoundTiming, comparison: BackendComparison): Row {
  const notes = [
    `baseline: the same load on a gateway storing in ${SQLITE.description}; result: on one storing in ${comparison.result}, each on a fresh store`,
    ...spec.notes,
  ];
  return { ...alternatingRow({ ...spec, notes }, timing, comparison.alternation), cpu: comparison.cpu };
}
