import type { Database } from 'better-sqlite3';
import type { ClaimOptions, ClaimResult, Lease, SubscriptionRef } from '../store';
import { deadLetter } from './deadLetter';
import type { WriteContext } from './groupCommit';
import { loadMessages } from './messageRow';
import { prepared } from './prepared';
import { loadSubscription } from './queueRow';

interface ClaimedRow {
  message_id: number;
  delivery_count: number;
}

// One statement leases the oldest ready rows; deliveries_by_availability
// serves the inner SELECT as a range scan, whatever the backlog.
export const CLAIM = `UPDATE deliveries
        SET available_at = :leaseUntil, delivery_count = delivery_count + 1, leased = 1
      WHERE subscription_id = :subscription
        AND message_id IN (SELECT message_id FROM deliveries
                            WHERE subscription_id = :subscription AND available_at <= :now
                            ORDER BY available_at, message_id
                            LIMIT :max)
      RETURNING message_id, delivery_count`;

const statements = prepared((db) => ({
  claim: db.prepare<{ subscription: number; now: number; leaseUntil: number; max: number }, ClaimedRow>(CLAIM),
}));

/**
 * operation: claim — leases up to `max` ready messages. A message coming up
 * for delivery number maxDeliveries + 1 is dead-lettered instead, and the
 * claim goes on until it has `max` leases or nothing is ready.
 */
export function claim(db: Database, context: WriteContext, from: SubscriptionRef, options: ClaimOptions): ClaimResult {
  const row = loadSubscription(db, from);
  const { claim: claimStatement } = statements(db);
  const leases: Lease[] = [];
  const leaseUntil = options.now + (options.visibilityTimeoutMs ?? row.visibilityTimeoutMs);
  for (;;) {
    const wanted = options.max - leases.length;
    if (wanted <= 0) break;
    const claimed = claimStatement.all({ subscription: row.subscriptionId, now: options.now, leaseUntil, max: wanted });
    if (claimed.length === 0) break;
    const counts = new Map(claimed.map((c) => [c.message_id, c.delivery_count]));
    // In id order, which is log order: RETURNING gives none.
    for (const message of loadMessages(db, [...counts.keys()])) {
      const deliveryCount = counts.get(Number(message.id)) as number;
      if (row.maxDeliveries !== null && deliveryCount > row.maxDeliveries) {
        deadLetter(db, context, row, message, deliveryCount - 1, options.now);
      } else {
        leases.push({ message, deliveryCount });
      }
    }
  }
  return { subscriptionId: row.subscriptionId, leases };
}
