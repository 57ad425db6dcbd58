import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors';
import type { BrowsedMessage, BrowseOptions, SubscriptionRef } from '../store';
import { type RawMessage, toStoredMessage } from './messageRow';
import { prepared } from './prepared';
import { loadSubscription } from './queueRow';

interface Row extends RawMessage {
  delivery_count: number;
  leased: number;
  available_at: number;
}

const statements = prepared((db) => ({
  // A range of the deliveries primary key (subscription_id, message_id): a page
  // costs the same however long the backlog is.
  page: db.prepare<[number, number, number], Row>(
    `SELECT m.id, m.partition, m.offset, m.timestamp, m.key, m.headers, m.content_type, m.value, m.group_id,
            d.delivery_count, d.leased, d.available_at
       FROM deliveries d JOIN messages m ON m.id = d.message_id
      WHERE d.subscription_id = ? AND d.message_id > ?
      ORDER BY d.message_id LIMIT ?`,
  ),
}));

/**
 * operation: browse — the messages a queue subscription has not settled yet,
 * oldest first, as they are: nothing is leased, no delivery is counted. The
 * state follows queueStats: a lease that has run out is ready again.
 */
export function browse(db: Database, at: SubscriptionRef, options: BrowseOptions): BrowsedMessage[] {
  const { subscriptionId } = loadSubscription(db, at);
  return statements(db)
    .page.all(subscriptionId, afterId(options.after), options.max)
    .map((row) => ({
      ...toStoredMessage(row),
      deliveryCount: row.delivery_count,
      state: row.available_at <= options.now ? 'ready' : row.leased === 1 ? 'leased' : 'delayed',
    }));
}

/** A message id is a row id: a decimal integer. `0` is taken for "from the oldest", as no message has it. */
function afterId(after: string | null): number {
  if (after === null) return 0;
  if (!/^\d{1,15}$/.test(after)) throw new StoreError({ code: 'position_invalid', position: after });
  return Number(after);
}
