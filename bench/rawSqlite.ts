import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
 * Usage: node rawSqlite.js DATA_DIR
 * It serves like the other child servers (127.0.0.1, port 0, URL printed) so
 * that it stays up, its database growing like the gateway's, while the bench
 * takes turns between it and the gateway: POST /run with {"seconds": n}
 * inserts for n seconds and answers {"rowsPerSecond": r} (messages, each a
 * message row and a delivery row). SIGTERM closes the database and exits 0.
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
function inserter(db: Database.Database): (ms: number) => { rows: number; ms: number } {
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
  return insertFor;
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** The `seconds` of a JSON body, or undefined when the body is no such object. */
function secondsOf(text: string): unknown {
  try {
    return (JSON.parse(text) as { seconds?: unknown }).seconds;
  } catch {
    return undefined;
  }
}

async function handle(
  request: http.IncomingMessage,
  insertFor: (ms: number) => { rows: number; ms: number },
): Promise<{ status: number; body: unknown }> {
  const seconds = secondsOf(await readBody(request));
  if (request.method !== 'POST' || request.url !== '/run' || typeof seconds !== 'number' || !(seconds > 0)) {
    return { status: 400, body: { error: 'expected POST /run with {"seconds": n}, n > 0' } };
  }
  // Synchronous on purpose: nothing else runs in this process while it inserts.
  const measured = insertFor(seconds * 1000);
  return { status: 200, body: { rowsPerSecond: (measured.rows * 1000) / measured.ms } };
}

function main(): void {
  const db = openDatabase(process.argv[2]);
  const insertFor = inserter(db);
  const server = http.createServer((request, response) => {
    const answer = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    handle(request, insertFor).then(
      ({ status, body }) => answer(status, body),
      (error: unknown) => answer(500, { error: String(error) }),
    );
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`raw sqlite listening on http://127.0.0.1:${port}\n`);
  });
  process.on('SIGTERM', () => {
    server.close(() => {
      db.close();
      process.exit(0);
    });
    server.closeAllConnections();
  });
}

main();
