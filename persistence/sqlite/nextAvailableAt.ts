import type { Database } from 'better-sqlite3';
import { prepared } from './prepared';
import type { SubscriptionRef } from '../store';
import { loadSubscription } from './queueRow';

const statements = prepared((db) => ({
  next: db
    .prepare<[number, number]>('SELECT MIN(available_at) FROM deliveries WHERE subscription_id = ? AND available_at > ?')
    .pluck(),
}));

/** operation: nextAvailableAt — when the next delayed or leased message becomes ready. */
export function nextAvailableAt(db: Database, at: SubscriptionRef, now: number): number | null {
  const row = loadSubscription(db, at);
  return (statements(db).next.get(row.subscriptionId, now) as number | null) ?? null;
}
