import type { Database } from 'better-sqlite3';
import type { ClaimOptions, Lease } from '../store';
import { deadLetter } from './deadLetter';
import type { WriteContext } from './groupCommit';
import { loadMessage } from './messageRow';
import { prepared } from './prepared';
import { loadQueueRow } from './queueRow';

interface ClaimedRow {
  message_id: number;
  delivery_count: number;
}

const statements = prepared((db) => ({
  // One statement leases the oldest ready rows; deliveries_by_availability
  // serves the inner SELECT as a range scan, whatever the backlog.
  claim: db.prepare<{ subscription: number; now: number; leaseUntil: number; max: number }, ClaimedRow>(
    `UPDATE deliveries
        SET available_at = :leaseUntil, delivery_count = delivery_count + 1, leased = 1
      WHERE subscription_id = :subscription
        AND message_id IN (SELECT message_id FROM deliveries
                            WHERE subscription_id = :subscription AND available_at <= :now
                            ORDER BY available_at, message_id
                            LIMIT :max)
      RETURNING message_id, delivery_count`,
  ),
}));

/**
 * operation: claim — leases up to `max` ready messages. A message coming up
 * for delivery number maxDeliveries + 1 is dead-lettered instead, and the
 * claim goes on until it has `max` leases or nothing is ready.
 */
export function claim(db: Database, context: WriteContext, queue: string, options: ClaimOptions): Lease[] {
  const row = loadQueueRow(db, queue);
  const { claim: claimStatement } = statements(db);
  const leases: Lease[] = [];
  const leaseUntil = options.now + options.visibilityTimeoutMs;
  for (;;) {
    const wanted = options.max - leases.length;
    if (wanted <= 0) break;
    const claimed = claimStatement.all({ subscription: row.subscriptionId, now: options.now, leaseUntil, max: wanted });
    if (claimed.length === 0) break;
    for (const { message_id: messageId, delivery_count: deliveryCount } of claimed) {
      const message = loadMessage(db, messageId);
      if (row.maxDeliveries !== null && deliveryCount > row.maxDeliveries) {
        deadLetter(db, context, row, message, deliveryCount - 1, options.now);
      } else {
        leases.push({ message, deliveryCount });
      }
    }
  }
  // RETURNING gives no order; deliver in log order.
  return leases.sort((a, b) => a.message.offset - b.message.offset);
}
