import { loadSpec } from '../api/spec';
import { type CampaignResult, runCampaign } from './support/fuzzCampaign';
import { FuzzTarget } from './support/fuzzGateway';

/**
 * Property-based fuzzing driven by openapi.yaml: for every operation of the
 * spec, fast-check derives valid-shaped requests from its parameters and
 * body schema and mutates them (types, fields, sizes, nesting, encodings,
 * names, query strings, framing). They go to the real gateway on a real
 * socket. For every request: no 5xx; every error is problem+json with a
 * ProblemCode and the status it is documented with; every status documented
 * for the operation; nothing internal in the text; a rejected or unanswered
 * request changes nothing in the database; the gateway keeps answering and
 * reports no internal error. See test/support/fuzz*.ts.
 *
 * FUZZ_SEED replays a run; FUZZ_RUNS raises the number of requests (never
 * below 10,000).
 */

const MIN_RUNS = 10_000;
const DEFAULT_SEED = 20_240_611;
function integerFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, not ${process.env[name]}`);
  return value;
}

const seed = integerFromEnv('FUZZ_SEED', DEFAULT_SEED);
const runs = Math.max(MIN_RUNS, integerFromEnv('FUZZ_RUNS', MIN_RUNS));
const spec = loadSpec();

// 10,000 requests take about 25 s on two cores; the margin is for a machine busy with other suites.
jest.setTimeout(Math.max(120_000, runs * 12));

function summary(result: CampaignResult): string {
  const lines = [
    `fuzz: ${result.requests} requests over ${result.operations.size} operations, ${result.serverErrors} 5xx, seed ${seed}`,
    `  ${(result.milliseconds / 1000).toFixed(1)} s, ${result.violations.length} kinds of violation, ${result.unanswered} unanswered (cut by the test or dropped), clock moved ${result.clockMoves} times for long-polls`,
    `  statuses: ${[...result.statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`,
  ];
  if (result.aborted !== null) lines.push(`  aborted: ${result.aborted}`);
  if (process.env.FUZZ_VERBOSE !== undefined) {
    for (const [id, stats] of result.operations) {
      const valid = [...stats.validStatuses.entries()].sort(([a], [b]) => a - b).map(([st, n]) => `${st}×${n}`).join(' ');
      lines.push(`  ${id.padEnd(24)} ${String(stats.sent).padStart(5)} sent, ${String(stats.succeeded).padStart(4)} 2xx; valid-shaped: ${valid}`);
      for (const [status, detail] of stats.validRefusals) lines.push(`      ${status}: ${detail}`);
    }
  }
  const never = [...result.operations.entries()].filter(([, s]) => s.succeeded === 0).map(([id]) => id);
  if (never.length > 0) lines.push(`  operations without a 2xx this run: ${never.join(', ')}`);
  return lines.join('\n');
}

/** Every kind of violation with its count and smallest example: a reproduction to start from. */
function violationReport(result: CampaignResult): string {
  return result.violations.map((v) => `● ${v.signature} — ${v.count}×\n${v.example}`).join('\n\n');
}

let target: FuzzTarget;

beforeAll(async () => {
  target = await FuzzTarget.start(spec);
});

afterAll(async () => {
  await target.stop();
});

test(`fuzzing every operation of openapi.yaml (seed ${seed})`, async () => {
  const result = await runCampaign(target, spec, { seed, runs, rebuildEvery: 500 });
  console.log(summary(result));
  if (result.violations.length > 0) console.log(`fuzz violations, each with its smallest example:\n\n${violationReport(result)}`);

  expect(result.requests).toBeGreaterThanOrEqual(MIN_RUNS);
  // Every operation of the spec got requests, valid-shaped ones among them.
  const uncovered = spec.operations.map((op) => op.operation.operationId).filter((id) => {
    const stats = result.operations.get(id);
    return stats === undefined || stats.sent === 0 || stats.validShaped === 0;
  });
  expect(uncovered).toEqual([]);
  expect([...result.operations.values()].some((s) => s.succeeded > 0)).toBe(true);
  expect(result.aborted).toBeNull();
  // The examples are in the log above; here, what went wrong and where.
  expect(result.violations.map((v) => `${v.signature} — ${v.count}×`)).toEqual([]);
  expect(target.gateway.internalErrors).toEqual([]);
});
