import { browseAfter, type RawBrowsedMessage, toBrowsedMessage } from '../rows/browsedMessage';
import type { BrowsedMessage, BrowseOptions, SubscriptionRef } from '../store';
import type { Queryable } from './connection';
import { messageColumns } from './messageRow';
import { loadSubscription } from './queueRow';

const STATEMENTS = {
  // A range of the deliveries primary key (subscription_id, message_id), then
  // one probe of messages per row: a page costs the same however long the
  // backlog is. The LIMIT keeps the lateral subquery a probe (one row: id is
  // the key) rather than a join the planner may choose to hash.
  page: {
    name: 'browse-page',
    text: `SELECT ${messageColumns('m')}, d.delivery_count, d.leased, d.available_at
             FROM (SELECT message_id, delivery_count, leased, available_at FROM deliveries
                    WHERE subscription_id = $1 AND message_id > $2 ORDER BY message_id LIMIT $3) d
             CROSS JOIN LATERAL (SELECT * FROM messages WHERE id = d.message_id LIMIT 1) m
            ORDER BY d.message_id`,
  },
};

/**
 * operation: browse — the messages a queue subscription has not settled yet,
 * oldest first, as they are: nothing is leased, no delivery is counted. The
 * state follows queueStats: a lease that has run out is ready again.
 */
export async function browse(db: Queryable, at: SubscriptionRef, options: BrowseOptions): Promise<BrowsedMessage[]> {
  const { subscriptionId } = await loadSubscription(db, at);
  const { rows } = await db.query<RawBrowsedMessage>({ ...STATEMENTS.page, values: [subscriptionId, browseAfter(options.after), options.max] });
  return rows.map((row) => toBrowsedMessage(row, options.now));
}
