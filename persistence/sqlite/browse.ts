import type { Database } from 'better-sqlite3';
import { browseAfter, type RawBrowsedMessage, toBrowsedMessage } from '../rows/browsedMessage';
import type { BrowsedMessage, BrowseOptions, SubscriptionRef } from '../store';
import { prepared } from './prepared';
import { loadSubscription } from './queueRow';

const statements = prepared((db) => ({
  // A range of the deliveries primary key (subscription_id, message_id): a page
  // costs the same however long the backlog is.
  page: db.prepare<[number, number, number], RawBrowsedMessage>(
    `SELECT m.id, m.original_id, m.partition, m.offset, m.timestamp, m.key, m.headers, m.content_type, m.value, m.group_id,
            d.delivery_count, d.leased, d.available_at
       FROM deliveries d JOIN messages m ON m.id = d.message_id
      WHERE d.subscription_id = ? AND d.message_id > ?
      ORDER BY d.message_id LIMIT ?`,
  ),
  // The row in the subscription of a moved message (its id is not its row's), on messages_by_original_id.
  movedRow: db
    .prepare<[number, number]>(
      `SELECT d.message_id FROM messages m JOIN deliveries d ON d.subscription_id = ? AND d.message_id = m.id
        WHERE m.original_id = ?`,
    )
    .pluck(),
}));

/**
 * operation: browse — the messages a queue subscription has not settled yet,
 * oldest first, as they are: nothing is leased, no delivery is counted. The
 * state follows queueStats: a lease that has run out is ready again. Pages
 * follow the rows (a moved message's row is newer than its id): `after`, a
 * message's id, goes on after its row here, if it still has one.
 */
export function browse(db: Database, at: SubscriptionRef, options: BrowseOptions): BrowsedMessage[] {
  const { subscriptionId } = loadSubscription(db, at);
  const s = statements(db);
  const after = browseAfter(options.after);
  const row = (s.movedRow.get(subscriptionId, after) as number | undefined) ?? after;
  return s.page.all(subscriptionId, row, options.max).map((message) => toBrowsedMessage(message, options.now));
}
