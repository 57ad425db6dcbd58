import type { Database } from 'better-sqlite3';
import { prepared } from './prepared';
import { loadQueueRow } from './queueRow';

const statements = prepared((db) => ({
  deliveries: db.prepare<[number]>('DELETE FROM deliveries WHERE subscription_id = ?'),
  messages: db.prepare<[number]>('DELETE FROM messages WHERE topic_id = ?'),
  totals: db.prepare<[number]>('UPDATE partitions SET messages = 0, bytes = 0 WHERE topic_id = ?'),
}));

/** operation: purgeQueue — deletes every message; offsets and idempotency keys stay. */
export function purgeQueue(db: Database, queue: string): number {
  const row = loadQueueRow(db, queue);
  const s = statements(db);
  s.deliveries.run(row.subscriptionId);
  s.totals.run(row.topicId);
  return s.messages.run(row.topicId).changes;
}
