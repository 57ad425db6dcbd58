import path from 'node:path';
import type { Backend } from '../backend';
import { backendRow, compareBackends } from '../backendComparison';
import { withChildServer } from '../child';
import { withFreshGateway } from '../gateway';
import { loadSide } from '../load';
import { produceLoad } from '../payload';
import { atLeast, type Row } from '../report';
import { alternate, alternatingRow } from '../rounds';
import type { RoundTiming } from '../settings';

const QUEUE = 'bench';
const CONNECTIONS = 64;
const EXPRESS_BASELINE = path.join(__dirname, '..', 'baselineExpress.js');
/** The load of (a): one 1 KB message per request. */
const SPEC = produceLoad(QUEUE, 1, CONNECTIONS);
const SCENARIO = `produce 1x1KB, ${CONNECTIONS} conns`;

/**
 * (a) Single-message produce of 1 KB at 64 connections against an express app
 * that only parses the same body: how much of the HTTP framework's rate the
 * gateway keeps while validating, storing and fsyncing every message. Both
 * servers stay up for the whole scenario and take turns under the load.
 */
export async function produceSingle(timing: RoundTiming): Promise<Row> {
  const alternation = await withChildServer(EXPRESS_BASELINE, [], (expressUrl) =>
    withFreshGateway([QUEUE], (gatewayUrl) =>
      alternate(timing, loadSide(SPEC(expressUrl)), loadSide(SPEC(gatewayUrl))),
    ),
  );
  return alternatingRow(
    {
      scenario: `(a) ${SCENARIO}`,
      resultUnit: 'msg/s',
      baselineUnit: 'req/s',
      target: atLeast(0.8),
      notes: ['baseline: express app parsing the same body with express.json, answering 201'],
    },
    timing,
    alternation,
  );
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
