import path from 'node:path';
import type { Backend } from '../backend';
import { backendRow, compareBackends } from '../backendComparison';
import { withChildServer } from '../child';
import type { Meter } from '../cpuMeter';
import { withFreshGateway } from '../gateway';
import { loadSide } from '../load';
import { produceLoad } from '../payload';
import { rawRunSide } from '../rawServer';
import type { LayoutName } from '../rawSqlite';
import { atLeast, type Row } from '../report';
import { type Alternation, alternate, alternatingRow, type Side } from '../rounds';
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
 * The load of (b) on a fresh gateway against raw better-sqlite3 inserting the
 * same messages in `layout` (rawSqlite.ts), each in its own process, in
 * alternating rounds.
 */
function againstRawSqlite(timing: RoundTiming, layout: LayoutName): Promise<Alternation> {
  return withTempDir('raw-sqlite', (rawDir) =>
    withChildServer(RAW_SQLITE, [rawDir, layout], (rawUrl) =>
      withFreshGateway([QUEUE], (gatewayUrl) => alternate(timing, rawRunSide(rawUrl), batchProduceSide(gatewayUrl, QUEUE))),
    ),
  );
}

const RAW_DURABILITY = `${BATCH} messages per BEGIN IMMEDIATE transaction, WAL, synchronous=FULL (each commit fsync'd), own process`;

/**
 * (b) Produce in batches of 100 × 1 KB against raw better-sqlite3 writing the
 * same rows with the same durability: what HTTP, validation and the queue
 * bookkeeping cost on top of the storage engine.
 *
 * (b′) The same load against raw better-sqlite3 inserting each message as one
 * row of a table of its own, with the same durability: what the gateway
 * keeps of the least a durable SQLite store of messages does.
 */
export async function produceBatch(timing: RoundTiming): Promise<Row[]> {
  const gatewaySchema = await againstRawSqlite(timing, 'gateway');
  const singleTable = await againstRawSqlite(timing, 'single-table');
  return [
    alternatingRow(
      {
        scenario: `(b) ${SCENARIO}`,
        resultUnit: 'msg/s',
        baselineUnit: 'msg/s',
        target: atLeast(0.5),
        notes: [
          `baseline: raw better-sqlite3 inserting each message's rows (message + delivery) into the gateway's schema, ${RAW_DURABILITY}`,
        ],
      },
      timing,
      gatewaySchema,
    ),
    alternatingRow(
      {
        scenario: `(b′) produce ${BATCH}x1KB vs single-table insert`,
        resultUnit: 'msg/s',
        baselineUnit: 'msg/s',
        target: atLeast(0.4),
        notes: [
          `result: the load of (b) (${CONNECTIONS} conns) on a fresh gateway; baseline: raw better-sqlite3 inserting each message's 1 KB value` +
            ` as one row of m (id INTEGER PRIMARY KEY, value BLOB NOT NULL), ${RAW_DURABILITY}`,
        ],
      },
      timing,
      singleTable,
    ),
  ];
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
