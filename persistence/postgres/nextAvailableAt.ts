import type { SubscriptionRef } from '../store';
import type { Queryable } from './connection';
import { loadSubscription } from './queueRow';

const STATEMENTS = {
  next: { name: 'nextAvailableAt-next', text: 'SELECT min(available_at) AS next FROM deliveries WHERE subscription_id = $1 AND available_at > $2' },
};

/** operation: nextAvailableAt — when the next delayed or leased message becomes ready. */
export async function nextAvailableAt(db: Queryable, at: SubscriptionRef, now: number): Promise<number | null> {
  const row = await loadSubscription(db, at);
  const { rows } = await db.query<{ next: number | null }>({ ...STATEMENTS.next, values: [row.subscriptionId, now] });
  return rows[0].next;
}
