import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { gatewayRequestsPerSecond } from '../gateway';
import type { LoadTiming } from '../load';
import { produceLoad } from '../payload';
import { atLeast, type Row } from '../report';
import { withTempDir } from '../tempDir';

const QUEUE = 'bench';
const BATCH = 100;
const CONNECTIONS = 16;
const RAW_SQLITE = path.join(__dirname, '..', 'rawSqlite.js');

/** The raw SQLite baseline, in its own process while nothing else runs. */
async function rawSqliteRowsPerSecond(timing: LoadTiming): Promise<number> {
  return withTempDir('raw-sqlite', async (dir) => {
    const args = [RAW_SQLITE, dir, String(timing.seconds), String(timing.warmupSeconds)];
    const { stdout } = await promisify(execFile)(process.execPath, args);
    const { rowsPerSecond } = JSON.parse(stdout) as { rowsPerSecond: number };
    return rowsPerSecond;
  });
}

/**
 * (b) Produce in batches of 100 × 1 KB against raw better-sqlite3 writing the
 * same rows with the same durability: what HTTP, validation and the queue
 * bookkeeping cost on top of the storage engine.
 */
export async function produceBatch(timing: LoadTiming): Promise<Row> {
  const baseline = await rawSqliteRowsPerSecond(timing);
  const spec = produceLoad(QUEUE, BATCH, CONNECTIONS);
  const gateway = (await gatewayRequestsPerSecond(QUEUE, spec, timing)) * BATCH;
  return {
    scenario: `(b) produce ${BATCH}x1KB, ${CONNECTIONS} conns`,
    result: { value: gateway, unit: 'msg/s' },
    baseline: { value: baseline, unit: 'msg/s' },
    target: atLeast(0.5),
    notes: [
      `baseline: raw better-sqlite3 inserting each message's rows (message + delivery) into the gateway's schema, ${BATCH} messages per transaction, WAL, synchronous=FULL, own process`,
    ],
  };
}
