import path from 'node:path';
import type { Backend } from '../backend';
import { backendRow, compareBackends } from '../backendComparison';
import { withChildServer } from '../child';
import type { Meter } from '../cpuMeter';
import { withFreshGateway } from '../gateway';
import { loadSide } from '../load';
import { produceLoad } from '../payload';
import { rawRunSide } from '../rawServer';
import { atLeast, type Row } from '../report';
import { alternate, alternatingRow, type Side } from '../rounds';
import type { RoundTiming } from '../settings';
import { withTempDir } from '../tempDir';

const QUEUE = 'bench';
export const BATCH = 100;
export const CONNECTIONS = 16;
const RAW_SQLITE = path.join(__dirname, '..', 'rawSqlite.js');
const SCENARIO = `produce ${BATCH}x1KB, ${CONNECTIONS} conns`;

/**
 * The gateway side of (b), messages per second of produce requests of
 * 100 × 1 KB into `queue`, each run under `meter`; also the baseline of (c),
 * which takes its turns against the same gateway, and both sides of (o),
 * whose `body` holds 100 messages of its own.
 */
export function batchProduceSide(url: string, queue: string, options: { meter?: Meter; body?: string } = {}): Side {
  return loadSide(produceLoad(queue, BATCH, CONNECTIONS, options.body)(url), BATCH, options.meter);
}

/**
 * (b) Produce in batches of 100 × 1 KB against raw better-sqlite3 writing the
 * same rows with the same durability: what HTTP, validation and the queue
 * bookkeeping cost on top of the storage engine.
 */
export async function produceBatch(timing: RoundTiming): Promise<Row> {
  const alternation = await withTempDir('raw-sqlite', (rawDir) =>
    withChildServer(RAW_SQLITE, [rawDir], (rawUrl) =>
      withFreshGateway([QUEUE], (gatewayUrl) =>
        alternate(timing, rawRunSide(rawUrl), batchProduceSide(gatewayUrl, QUEUE)),
      ),
    ),
  );
  return alternatingRow(
    {
      scenario: `(b) ${SCENARIO}`,
      resultUnit: 'msg/s',
      baselineUnit: 'msg/s',
      target: atLeast(0.5),
      notes: [
        `baseline: raw better-sqlite3 inserting each message's rows (message + delivery) into the gateway's schema, ${BATCH} messages per transaction, WAL, synchronous=FULL, own process`,
      ],
    },
    timing,
    alternation,
  );
}

/** (b-pg) The load of (b) on a gateway storing in PostgreSQL against one storing in SQLite. */
export async function produceBatchPostgres(timing: RoundTiming, postgres: Backend): Promise<Row> {
  const comparison = await compareBackends(timing, postgres, [QUEUE], async ({ url, meter }) => batchProduceSide(url, QUEUE, { meter }));
  return backendRow(
    { scenario: `(b-pg) ${SCENARIO}`, resultUnit: 'msg/s', baselineUnit: 'msg/s', target: atLeast(0.4), notes: [] },
    timing,
    comparison,
  );
}
