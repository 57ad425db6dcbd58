import type { Database } from 'better-sqlite3';
import type { QueueRow } from '../rows/queueRow';
import { deleteMessages } from './messageRow';
import { prepared } from './prepared';

const statements = prepared((db) => ({
  deleteDeliveries: db.prepare<[number, string]>(
    'DELETE FROM deliveries WHERE subscription_id = ? AND message_id IN (SELECT value FROM json_each(?))',
  ),
}));

/**
 * operation: removeMessages — messages leave a queue subscription (acked,
 * dead-lettered, redriven, expired). A queue keeps messages only until they
 * are settled, so there the message rows go too; a topic keeps them for its
 * other readers until retention.
 */
export function removeMessages(db: Database, from: QueueRow, messageIds: number[]): void {
  if (messageIds.length === 0) return;
  statements(db).deleteDeliveries.run(from.subscriptionId, JSON.stringify(messageIds));
  if (from.kind === 'queue') deleteMessages(db, messageIds);
}
