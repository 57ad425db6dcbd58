import type { Database } from 'better-sqlite3';
import { deleteMessage } from './messageRow';
import { prepared } from './prepared';

const statements = prepared((db) => ({
  deleteDelivery: db.prepare<[number, number]>('DELETE FROM deliveries WHERE subscription_id = ? AND message_id = ?'),
}));

/**
 * operation: removeMessage — a message leaves a queue (acked, dead-lettered,
 * redriven). A queue keeps messages only until they are settled, so the
 * message row goes with its one delivery row.
 */
export function removeMessage(db: Database, subscriptionId: number, messageId: number): void {
  statements(db).deleteDelivery.run(subscriptionId, messageId);
  deleteMessage(db, messageId);
}
