import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../persistence/sqlite/migrate';
import { MESSAGE_BYTES, storedValueOfSize } from './payload';
import { type Measured, type RunFor, serveRuns } from './rawServer';

/**
 * Baseline of scenario (b), run as its own process so nothing shares its core:
 * raw better-sqlite3 inserting the rows a produce stores for each message —
 * the message row (1 KB value blob, the same metadata columns) and its
 * delivery row — into the gateway's own schema (its migrations, indexes and
 * constraints), 100 messages per transaction, WAL, synchronous=FULL. What is
 * left to the gateway is HTTP, JSON, validation, idempotency checks, counters
 * and group commit.
 *
 * Usage: node rawSqlite.js DATA_DIR
 * It serves runs (rawServer.ts) so that it stays up, its database growing like
 * the gateway's, while the bench takes turns between it and the gateway; a
 * run's rows are messages, each a message row and a delivery row.
 */
const ROWS_PER_TRANSACTION = 100;

function openDatabase(dataDir: string): Database.Database {
  const db = new Database(path.join(dataDir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

/**
 * Creates a queue in `db` and returns what inserts into it for `ms`
 * milliseconds, reporting the messages inserted and the time it took.
 */
function inserter(db: Database.Database): RunFor {
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
  // bytes: the value's size, which the stats triggers (migration 008) require of every delivery row.
  const insertDelivery = db.prepare<[number | bigint, number | bigint, number, number]>(
    'INSERT INTO deliveries (subscription_id, message_id, available_at, bytes) VALUES (?, ?, ?, ?)',
  );
  const value = storedValueOfSize(MESSAGE_BYTES);
  let offset = 0;
  const insertBatch = db.transaction(() => {
    const timestamp = Date.now();
    for (let i = 0; i < ROWS_PER_TRANSACTION; i++) {
      const messageId = insert.run(topicId, offset++, timestamp, value).lastInsertRowid;
      insertDelivery.run(subscriptionId, messageId, timestamp, value.length);
    }
  });
  // Same transaction kind as the gateway's group commit (BEGIN IMMEDIATE).
  const insertFor = (ms: number): Measured => {
    const start = performance.now();
    let rows = 0;
    while (performance.now() - start < ms) {
      insertBatch.immediate();
      rows += ROWS_PER_TRANSACTION;
    }
    return { rows, ms: performance.now() - start };
  };
  return insertFor;
}

function main(): void {
  const db = openDatabase(process.argv[2]);
  serveRuns('raw sqlite', inserter(db), () => db.close());
}

main();
