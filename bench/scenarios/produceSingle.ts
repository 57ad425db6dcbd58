import path from 'node:path';
import type { Backend } from '../backend';
import { backendRow, compareBackends } from '../backendComparison';
import { withChildServer } from '../child';
import { CpuMeter, mainThreadClock, processClock } from '../cpuMeter';
import { type BenchKey, withBenchKey, withFreshKeyedGateway } from '../gateway';
import { type Latency, type LoadSpec, loadSide } from '../load';
import { produceLoad } from '../payload';
import { atLeast, atMost, type Row, type SideCpu } from '../report';
import { alternate, alternatingRow, pairRounds } from '../rounds';
import type { RoundTiming } from '../settings';

const QUEUE = 'bench';
const CONNECTIONS = 64;
const EXPRESS_BASELINE = path.join(__dirname, '..', 'baselineExpress.js');
/** The load of (a): one 1 KB message per request. */
const SPEC = produceLoad(QUEUE, 1, CONNECTIONS);
export const SCENARIO = `produce 1x1KB, ${CONNECTIONS} conns`;

/** The load of (a) on the gateway at `url`, which requires `key`: every request carries it. */
export function keyedProduceLoad(url: string, key: BenchKey): LoadSpec {
  return { ...SPEC(url), headers: key.headers };
}

/**
 * (a) Single-message produce of 1 KB at 64 connections, each request with an
 * API key, against an express app that only parses the same body (no key):
 * how much of the HTTP framework's rate the gateway keeps while checking the
 * key and its scope, validating, storing and fsyncing every message, counting
 * it in its metrics and logging the request. Both servers stay up for the
 * whole scenario and take turns under the load. Each one's CPU is metered:
 * its whole process's per request (the cpu column), and its main thread's,
 * the event loop's: how busy the loop was and what a request cost it, which
 * tells a rate held back by the loop's work from one held back by its waits.
 *
 * (a′) The latencies of those same rounds (autocannon's): the gateway's p50
 * against the express app's, and the gateway's p99 against its own p50.
 */
export async function produceSingle(timing: RoundTiming): Promise<Row[]> {
  const latencies: Record<'express' | 'gateway', Latency[]> = { express: [], gateway: [] };
  const { alternation, express: expressCpu, gateway: gatewayCpu } = await withChildServer(EXPRESS_BASELINE, [], (expressUrl, expressPid) =>
    withBenchKey((key) =>
      withFreshKeyedGateway(key, [QUEUE], async ({ url, pid }) => {
        const meters = { express: serverMeter(expressPid), gateway: serverMeter(pid) };
        const rounds = await alternate(
          timing,
          loadSide(SPEC(expressUrl), 1, meters.express, latencies.express),
          loadSide(keyedProduceLoad(url, key), 1, meters.gateway, latencies.gateway),
        );
        return { alternation: rounds, ...meters };
      }),
    ),
  );
  // alternate's first run of each side is its warm-up.
  const [express, gateway] = [latencies.express.slice(1), latencies.gateway.slice(1)];
  const p50 = (runs: Latency[]): number[] => runs.map((run) => run.p50);
  const latencyNote =
    "autocannon's latency of each round of (a), request sent to response read, whole milliseconds (its histogram rounds down)";
  const processCpu = (meter: CpuMeter<ServerClock>): SideCpu => ({ gateway: meter.use('process').perMessage, server: null });
  const aRow = alternatingRow(
    {
      scenario: `(a) ${SCENARIO}`,
      resultUnit: 'msg/s',
      baselineUnit: 'req/s',
      target: atLeast(1.2),
      notes: [
        "result: the gateway with a keys file, every request carrying a key of scope '*:*' (Authorization: Bearer):" +
          ' key and scope checks, request validation, metrics and a log line per request (info) on',
        'baseline: express app parsing the same body with express.json, answering 201, no key',
        `event loop (each server's main thread), over every round: the gateway's busy ${loopUse(gatewayCpu)},` +
          ` the express app's ${loopUse(expressCpu)}; cpu: each whole process`,
      ],
    },
    timing,
    alternation,
  );
  return [
    { ...aRow, cpu: { result: processCpu(gatewayCpu), baseline: processCpu(expressCpu) } },
    alternatingRow(
      {
        scenario: `(a′) p50 latency, ${SCENARIO}`,
        resultUnit: 'ms',
        baselineUnit: 'ms',
        target: atMost(1.5),
        notes: [`result: the gateway's p50, baseline: the express app's; ${latencyNote}`],
      },
      timing,
      pairRounds(p50(express), p50(gateway)),
    ),
    alternatingRow(
      {
        scenario: `(a′) p99 / p50 latency, ${SCENARIO}`,
        resultUnit: 'ms',
        baselineUnit: 'ms',
        target: atMost(3),
        notes: [`result: the gateway's p99, baseline: its p50 in the same round; ${latencyNote}`],
      },
      timing,
      pairRounds(p50(gateway), gateway.map((run) => run.p99)),
    ),
  ];
}

type ServerClock = 'process' | 'loop';

/** A meter of a server process under load: all of its CPU, and its main thread's (the event loop's). */
function serverMeter(pid: number): CpuMeter<ServerClock> {
  return new CpuMeter({ process: processClock(pid), loop: mainThreadClock(pid) });
}

/** `93% of the time, 49.2 µs a request`: how busy a server's event loop was, and what a request cost it. */
function loopUse(meter: CpuMeter<ServerClock>): string {
  const { cores, perMessage } = meter.use('loop');
  return `${(cores * 100).toFixed(0)}% of the time, ${perMessage.toFixed(1)} µs a request`;
}

/** (a-pg) The load of (a) on a gateway storing in PostgreSQL against one storing in SQLite, each committing every message before answering. */
export async function produceSinglePostgres(timing: RoundTiming, postgres: Backend): Promise<Row> {
  const comparison = await compareBackends(timing, postgres, [QUEUE], async ({ url, meter }) => loadSide(SPEC(url), 1, meter));
  return backendRow(
    { scenario: `(a-pg) ${SCENARIO}`, resultUnit: 'msg/s', baselineUnit: 'msg/s', target: atLeast(0.5), notes: [] },
    timing,
    comparison,
  );
}
