import path from 'node:path';
import { withChildServer } from '../child';
import { gatewayRequestsPerSecond } from '../gateway';
import { type LoadTiming, requestsPerSecond } from '../load';
import { produceLoad } from '../payload';
import { atLeast, type Row } from '../report';

const QUEUE = 'bench';
const CONNECTIONS = 64;
const EXPRESS_BASELINE = path.join(__dirname, '..', 'baselineExpress.js');

/**
 * (a) Single-message produce of 1 KB at 64 connections against an express app
 * that only parses the same body: how much of the HTTP framework's rate the
 * gateway keeps while validating, storing and fsyncing every message.
 */
export async function produceSingle(timing: LoadTiming): Promise<Row> {
  const spec = produceLoad(QUEUE, 1, CONNECTIONS);
  const baseline = await withChildServer(EXPRESS_BASELINE, [], (url) => requestsPerSecond(spec(url), timing));
  const gateway = await gatewayRequestsPerSecond(QUEUE, spec, timing);
  return {
    scenario: `(a) produce 1x1KB, ${CONNECTIONS} conns`,
    result: { value: gateway, unit: 'msg/s' },
    baseline: { value: baseline, unit: 'req/s' },
    target: atLeast(0.8),
    notes: ['baseline: express app parsing the same body with express.json, answering 201'],
  };
}
