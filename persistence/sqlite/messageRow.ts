import type { Database } from 'better-sqlite3';
import { type RawMessage, toStoredMessage } from '../rows/messageRow';
import type { StoredMessage } from '../store';
import { prepared } from './prepared';

// For bench/rawSqliteRead.ts, which reads rows of messages from the file itself.
export type { RawMessage };

const statements = prepared((db) => ({
  // One statement for a whole batch: ids travel as a JSON array.
  byIds: db.prepare<[string], RawMessage>(
    `SELECT id, original_id, partition, offset, timestamp, key, headers, content_type, value, group_id
       FROM messages WHERE id IN (SELECT value FROM json_each(?))`,
  ),
  delete: db.prepare<[string], { topic_id: number; partition: number; bytes: number }>(
    'DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?)) RETURNING topic_id, partition, length(value) AS bytes',
  ),
  shrink: db.prepare<[number, number, number, number]>(
    'UPDATE partitions SET messages = messages - ?, bytes = bytes - ? WHERE topic_id = ? AND partition = ?',
  ),
}));

/** The messages of these rows, in row order; an id without a row is an invariant broken. */
export function loadMessages(db: Database, ids: number[]): StoredMessage[] {
  const rows = statements(db).byIds.all(JSON.stringify(ids));
  if (rows.length !== new Set(ids).size) throw new Error(`messages ${ids.join(',')}: ${rows.length} rows found`);
  return rows.sort((a, b) => a.id - b.id).map(toStoredMessage);
}

/** Deletes messages and takes them and their bytes off their partitions' totals. */
export function deleteMessages(db: Database, ids: number[]): void {
  const s = statements(db);
  const freed = new Map<string, { topicId: number; partition: number; messages: number; bytes: number }>();
  for (const row of s.delete.all(JSON.stringify(ids))) {
    const key = `${row.topic_id}.${row.partition}`;
    const entry = freed.get(key) ?? { topicId: row.topic_id, partition: row.partition, messages: 0, bytes: 0 };
    entry.messages += 1;
    entry.bytes += row.bytes;
    freed.set(key, entry);
  }
  for (const { topicId, partition, messages, bytes } of freed.values()) s.shrink.run(messages, bytes, topicId, partition);
}
