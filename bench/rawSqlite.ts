import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../persistence/sqlite/migrate';
import { MESSAGE_BYTES, storedValueOfSize } from './payload';

/**
 * Baseline of scenario (b), run as its own process so nothing shares its core:
 * raw better-sqlite3 inserting the rows a produce stores for each message —
 * the message row (1 KB value blob, the same metadata columns) and its
 * delivery row — into the gateway's own schema (its migrations, indexes and
 * constraints), 100 messages per transaction, WAL, synchronous=FULL. What is
 * left to the gateway is HTTP, JSON, validation, idempotency checks, counters
 * and group commit.
 *
 * Usage: node rawSqlite.js DATA_DIR SECONDS WARMUP_SECONDS
 * Prints one JSON line: {"rowsPerSecond": n} (messages, each a message row and a delivery row).
 */
const ROWS_PER_TRANSACTION = 100;

function main(): void {
  const [dataDir, seconds, warmupSeconds] = process.argv.slice(2);
  const db = new Database(path.join(dataDir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  const now = Date.now();
  const topicId = db
    .prepare(
      `INSERT INTO topics (name, kind, partitions, retention_ms, max_message_bytes, created_at, updated_at)
       VALUES ('raw', 'queue', 1, 0, ?, ?, ?)`,
    )
    .run(MESSAGE_BYTES, now, now).lastInsertRowid;
  const subscriptionId = db
    .prepare(
      `INSERT INTO subscriptions (topic_id, name, visibility_timeout_ms, max_deliveries, dead_letter_topic_id, delay_ms)
       VALUES (?, '$queue', 30000, NULL, NULL, 0)`,
    )
    .run(topicId).lastInsertRowid;
  const insert = db.prepare<[number | bigint, number, number, Buffer]>(
    `INSERT INTO messages (topic_id, partition, offset, timestamp, key, headers, content_type, value)
     VALUES (?, 0, ?, ?, NULL, '{}', 'application/json', ?)`,
  );
  const insertDelivery = db.prepare<[number | bigint, number | bigint, number]>(
    'INSERT INTO deliveries (subscription_id, message_id, available_at) VALUES (?, ?, ?)',
  );
  const value = storedValueOfSize(MESSAGE_BYTES);
  let offset = 0;
  const insertBatch = db.transaction(() => {
    const timestamp = Date.now();
    for (let i = 0; i < ROWS_PER_TRANSACTION; i++) {
      const messageId = insert.run(topicId, offset++, timestamp, value).lastInsertRowid;
      insertDelivery.run(subscriptionId, messageId, timestamp);
    }
  });
  // Same transaction kind as the gateway's group commit (BEGIN IMMEDIATE).
  const insertFor = (ms: number): { rows: number; ms: number } => {
    const start = performance.now();
    let rows = 0;
    while (performance.now() - start < ms) {
      insertBatch.immediate();
      rows += ROWS_PER_TRANSACTION;
    }
    return { rows, ms: performance.now() - start };
  };
  insertFor(Number(warmupSeconds) * 1000);
  const measured = insertFor(Number(seconds) * 1000);
  db.close();
  process.stdout.write(`${JSON.stringify({ rowsPerSecond: (measured.rows * 1000) / measured.ms })}\n`);
}

main();
