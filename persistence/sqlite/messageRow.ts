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
  byId: db.prepare<[number], RawMessage>(
    'SELECT id, partition, offset, timestamp, key, headers, content_type, value FROM messages WHERE id = ?',
  ),
  delete: db.prepare<[number]>('DELETE FROM messages WHERE id = ?'),
}));

export function loadMessage(db: Database, id: number): StoredMessage {
  const raw = statements(db).byId.get(id);
  if (raw === undefined) throw new Error(`message ${id} has a delivery row but no message row`);
  return {
    id: String(raw.id),
    partition: raw.partition,
    offset: raw.offset,
    timestamp: raw.timestamp,
    key: raw.key,
    headers: JSON.parse(raw.headers) as Record<string, string>,
    contentType: raw.content_type,
    value: raw.value,
  };
}

export function deleteMessage(db: Database, id: number): void {
  statements(db).delete.run(id);
}
