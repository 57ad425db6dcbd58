import Database from 'better-sqlite3';
import type { RawMessage as MessageRow } from '../persistence/sqlite/messageRow';
import { MESSAGE_BYTES } from './payload';
import { type Measured, type RunFor, serveRuns } from './rawServer';

/**
 * Baseline of scenario (e), run as its own process so nothing shares its core:
 * raw better-sqlite3 replaying one partition of a topic with the gateway's own
 * read query, 1000 rows at a time from successive offsets, wrapping around to
 * offset 0 at the end of the partition. It reads a copy of the gateway's
 * database file, taken once at start: the rows, pages and indexes are the
 * very ones the gateway reads, while the two share no file or lock. What is
 * left to the gateway is HTTP, turning rows into messages and JSON.
 *
 * Usage: node rawSqliteRead.js GATEWAY_DB COPY_DB TOPIC PARTITION BATCH
 * GATEWAY_DB may be in use by a running gateway (SQLite's online backup copies
 * it consistently); the partition must hold only messages of MESSAGE_BYTES.
 * The process then serves runs (rawServer.ts); a run's rows are the rows read.
 */

async function openCopy(gatewayDb: string, copyDb: string): Promise<Database.Database> {
  const source = new Database(gatewayDb, { readonly: true, fileMustExist: true });
  try {
    await source.backup(copyDb);
  } finally {
    source.close();
  }
  const db = new Database(copyDb, { fileMustExist: true });
  // As the gateway opens its database (sqliteStore.ts); the rest stays at SQLite's defaults there too.
  db.pragma('journal_mode = WAL');
  return db;
}

function reader(db: Database.Database, topic: string, partition: number, batchSize: number): RunFor {
  const topicId = db.prepare<[string], number>('SELECT id FROM topics WHERE name = ?').pluck().get(topic);
  if (topicId === undefined) throw new Error(`no topic '${topic}' in the copied database`);
  const end = db
    .prepare<[number, number], number>('SELECT next_offset FROM partitions WHERE topic_id = ? AND partition = ?')
    .pluck()
    .get(topicId, partition);
  if (end === undefined || end === 0) throw new Error(`partition ${partition} of '${topic}' is missing or empty`);
  // The query of persistence/sqlite/readPartition.ts.
  const read = db.prepare<[number, number, number, number], MessageRow>(
    `SELECT id, partition, offset, timestamp, key, headers, content_type, value FROM messages
      WHERE topic_id = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?`,
  );
  // Kept across runs: each run goes on where the last one stopped, as the HTTP readers do.
  let offset = 0;
  return (ms: number): Measured => {
    const start = performance.now();
    let rows = 0;
    let valueBytes = 0;
    while (performance.now() - start < ms) {
      const batch = read.all(topicId, partition, offset, batchSize);
      if (batch.length === 0) throw new Error(`nothing read at offset ${offset} of ${end}`);
      // Touch every row, as a consumer would; the sum also proves that the rows are the prefill's.
      for (const row of batch) valueBytes += row.value.length;
      rows += batch.length;
      offset += batch.length;
      if (offset >= end) offset = 0;
    }
    if (valueBytes !== rows * MESSAGE_BYTES) {
      throw new Error(`read ${valueBytes} value bytes in ${rows} rows of ${MESSAGE_BYTES}`);
    }
    return { rows, ms: performance.now() - start };
  };
}

async function main(): Promise<void> {
  const [gatewayDb, copyDb, topic, partition, batchSize] = process.argv.slice(2);
  const db = await openCopy(gatewayDb, copyDb);
  serveRuns('raw sqlite reader', reader(db, topic, Number(partition), Number(batchSize)), () => db.close());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
