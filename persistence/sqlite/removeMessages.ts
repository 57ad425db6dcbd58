import type { Database } from 'better-sqlite3';
import { deleteMessages } from './messageRow';
import { prepared } from './prepared';

const statements = prepared((db) => ({
  deleteDeliveries: db.prepare<[number, string]>(
    'DELETE FROM deliveries WHERE subscription_id = ? AND message_id IN (SELECT value FROM json_each(?))',
  ),
}));

/**
 * operation: removeMessages — messages leave a queue (dead-lettered,
 * redriven, expired). A queue keeps messages only until they are settled, so
 * each message row goes with its one delivery row.
 */
export function removeMessages(db: Database, subscriptionId: number, messageIds: number[]): void {
  if (messageIds.length === 0) return;
  statements(db).deleteDeliveries.run(subscriptionId, JSON.stringify(messageIds));
  deleteMessages(db, messageIds);
}
