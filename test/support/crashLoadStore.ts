import path from 'node:path';
import Database from 'better-sqlite3';
import { DATABASE_FILE } from '../../persistence/sqlite/sqliteStore';

/** The store as a crash left it: what the next gateway process will start from. */
export interface StoreSnapshot {
  /**
   * What the backend's own consistency checks found, in words, none when
   * consistent: SQLite's integrity_check and foreign_key_check here,
   * PostgreSQL's in crashLoadPostgres.ts.
   */
  problems: string[];
  /** The messages of the queues read: message id → value (both unique across queues). */
  queues: Map<string, string>;
  /** The topic's messages: `<partition>:<offset>` → value. */
  topic: Map<string, string>;
}

interface MessageRow {
  id: number;
  partition: number;
  offset: number;
  value: Buffer;
}

// The message table of persistence/sqlite/migrations/001_init.sql: a queue
// and a topic are both rows of `topics`, their messages rows of `messages`.
// Reading the file directly (instead of fetching through the API) sees
// leased and delayed messages too, and changes nothing: a fetch would lease.
const MESSAGES = `SELECT m.id AS id, m.partition AS partition, m.offset AS offset, m.value AS value
                    FROM messages m JOIN topics t ON t.id = m.topic_id WHERE t.name = ?`;

/**
 * Opens the database as a crash left it, read-only: the WAL is read, never
 * checkpointed nor removed (a read-write connection's close would do both),
 * so the next gateway has to recover exactly these files.
 */
export function openAsLeft(dataDir: string): Database.Database {
  return new Database(path.join(dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
}

/**
 * Checks the database as the crash left it and reads the messages of the
 * harness's queues and topic. Closed before the next gateway starts.
 */
export function readStore(dataDir: string, queues: string[], topic: string): StoreSnapshot {
  const db = openAsLeft(dataDir);
  try {
    const integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
    const foreignKeyViolations = (db.pragma('foreign_key_check') as unknown[]).length;
    const problems = [
      ...(integrity === 'ok' ? [] : [`integrity_check says ${integrity}`]),
      ...(foreignKeyViolations === 0 ? [] : [`${foreignKeyViolations} rows fail foreign_key_check`]),
    ];
    const read = db.prepare<[string], MessageRow>(MESSAGES);
    const queueRows = new Map(queues.flatMap((queue) => read.all(queue)).map((r) => [String(r.id), r.value.toString('utf8')]));
    const topicRows = new Map(read.all(topic).map((r) => [`${r.partition}:${r.offset}`, r.value.toString('utf8')]));
    return { problems, queues: queueRows, topic: topicRows };
  } finally {
    db.close();
  }
}
