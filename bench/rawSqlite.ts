import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../persistence/sqlite/migrate';
import { MESSAGE_BYTES, storedValueOfSize } from './payload';
import { type Measured, type RunFor, serveRuns } from './rawServer';

/**
 * Baselines of scenarios (b) and (b′), run as their own process so nothing
 * shares their core: raw better-sqlite3 inserting 1 KB values, 100 messages
 * per BEGIN IMMEDIATE transaction, WAL, synchronous=FULL (each commit
 * fsync'd), in one of two layouts:
 * - `gateway` (b): the rows a produce stores for each message — the message
 *   row (1 KB value blob, the same metadata columns) and its delivery row —
 *   into the gateway's own schema (its migrations, indexes and constraints),
 *   and the queue's counts once per transaction.
 *   What is left to the gateway is HTTP, JSON, validation, idempotency
 *   checks, counters and group commit.
 * - `single-table` (b′): one row per message in a table of its own,
 *   `m (id INTEGER PRIMARY KEY, value BLOB NOT NULL)`: the least a durable
 *   store of messages does with SQLite.
 *
 * Usage: node rawSqlite.js DATA_DIR [gateway|single-table]   (default gateway)
 * It serves runs (rawServer.ts) so that it stays up, its database growing like
 * the gateway's, while the bench takes turns between it and the gateway; a
 * run's rows are messages.
 */
const ROWS_PER_TRANSACTION = 100;

const LAYOUTS = ['gateway', 'single-table'] as const;
export type LayoutName = (typeof LAYOUTS)[number];

function isLayout(text: string): text is LayoutName {
  return (LAYOUTS as readonly string[]).includes(text);
}

/** How one layout stores a batch: each message of `value` (the 1 KB it is given) at `timestamp`, then what a batch does once. */
interface Layout {
  insertMessage(timestamp: number, value: Buffer): void;
  endBatch(messages: number, bytes: number): void;
}

function openDatabase(dataDir: string): Database.Database {
  const db = new Database(path.join(dataDir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
}

/** Creates a queue in the gateway's schema in `db`; inserts each message's rows into it, and counts a batch's rows once (migration 015). */
function gatewayRows(db: Database.Database): Layout {
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
  // bytes: the value's size, which the delete trigger of migration 008 takes off the counts.
  const insertDelivery = db.prepare<[number | bigint, number | bigint, number, number]>(
    'INSERT INTO deliveries (subscription_id, message_id, available_at, bytes) VALUES (?, ?, ?, ?)',
  );
  const count = db.prepare<[number, number, number | bigint]>('UPDATE subscriptions SET waiting = waiting + ?, waiting_bytes = waiting_bytes + ? WHERE id = ?');
  let offset = 0;
  return {
    insertMessage: (timestamp, value) => {
      const messageId = insert.run(topicId, offset++, timestamp, value).lastInsertRowid;
      insertDelivery.run(subscriptionId, messageId, timestamp, value.length);
    },
    endBatch: (messages, bytes) => {
      count.run(messages, bytes, subscriptionId);
    },
  };
}

/** Creates table m in `db`; inserts a row of each message's value. */
function singleTableRow(db: Database.Database): Layout {
  db.exec('CREATE TABLE m (id INTEGER PRIMARY KEY, value BLOB NOT NULL)');
  const insert = db.prepare<[Buffer]>('INSERT INTO m (value) VALUES (?)');
  return {
    insertMessage: (_timestamp, value) => {
      insert.run(value);
    },
    endBatch: () => undefined,
  };
}

/** What inserts messages in `layout` for `ms` milliseconds, reporting the messages inserted and the time it took. */
function inserter(db: Database.Database, layout: Layout): RunFor {
  const value = storedValueOfSize(MESSAGE_BYTES);
  const insertBatch = db.transaction(() => {
    const timestamp = Date.now();
    for (let i = 0; i < ROWS_PER_TRANSACTION; i++) layout.insertMessage(timestamp, value);
    layout.endBatch(ROWS_PER_TRANSACTION, ROWS_PER_TRANSACTION * value.length);
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
  const [dataDir, layout = 'gateway'] = process.argv.slice(2);
  if (!isLayout(layout)) throw new Error(`layout '${layout}': expected ${LAYOUTS.join(' or ')}`);
  const db = openDatabase(dataDir);
  serveRuns(`raw sqlite (${layout})`, inserter(db, layout === 'gateway' ? gatewayRows(db) : singleTableRow(db)), () => db.close());
}

main();
