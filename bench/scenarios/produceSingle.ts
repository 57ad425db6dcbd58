import path from 'node:path';
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

/**
 * (a) Single-message produce of 1 KB at 64 connections against an express app
 * that only parses the same body: how much of the HTTP framework's rate the
 * gateway keeps while validating, storing and fsyncing every message. Both
 * servers stay up for the whole scenario and take turns under the load.
 */
export async function produceSingle(timing: RoundTiming): Promise<Row> {
  const spec = produceLoad(QUEUE, 1, CONNECTIONS);
  const alternation = await withChildServer(EXPRESS_BASELINE, [], (expressUrl) =>
    withFreshGateway([QUEUE], (gatewayUrl) =>
      alternate(timing, loadSide(spec(expressUrl)), loadSide(spec(gatewayUrl))),
    ),
  );
  return alternatingRow(
    {
      scenario: `(a) produce 1x1KB, ${CONNECTIONS} conns`,
      resultUnit: 'msg/s',
      baselineUnit: 'req/s',
      target: atLeast(0.8),
      notes: ['baseline: express app parsing the same body with express.json, answering 201'],
    },
    timing,
    alternation,
  );
}
