import type { Database } from 'better-sqlite3';
import type { StoredMessage } from '../store';
import { prepared } from './prepared';

interface RawMessage {
  id: number;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  headers: string;
  content_type: string;
  value: Buffer;
}

const statements = prepared((db) => ({
  // One statement for a whole batch: ids travel as a JSON array.
  byIds: db.prepare<[string], RawMessage>(
    `SELECT id, partition, offset, timestamp, key, headers, content_type, value
       FROM messages WHERE id IN (SELECT value FROM json_each(?))`,
  ),
  delete: db.prepare<[string]>('DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))'),
}));

/** The messages with these ids, in id order; an id without a row is an invariant broken. */
export function loadMessages(db: Database, ids: number[]): StoredMessage[] {
  const rows = statements(db).byIds.all(JSON.stringify(ids));
  if (rows.length !== new Set(ids).size) throw new Error(`messages ${ids.join(',')}: ${rows.length} rows found`);
  return rows
    .sort((a, b) => a.id - b.id)
    .map((raw) => ({
      id: String(raw.id),
      partition: raw.partition,
      offset: raw.offset,
      timestamp: raw.timestamp,
      key: raw.key,
      headers: JSON.parse(raw.headers) as Record<string, string>,
      contentType: raw.content_type,
      value: raw.value,
    }));
}

export function deleteMessages(db: Database, ids: number[]): void {
  statements(db).delete.run(JSON.stringify(ids));
}
