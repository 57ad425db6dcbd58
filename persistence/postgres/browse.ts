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
  // The row in the subscription of a moved message (its id is not its row's), on messages_by_original_id.
  movedRow: {
    name: 'browse-movedRow',
    text: `SELECT d.message_id FROM messages m JOIN deliveries d ON d.subscription_id = $1 AND d.message_id = m.id
            WHERE m.original_id = $2`,
  },
};

/**
 * operation: browse — the messages a queue subscription has not settled yet,
 * oldest first, as they are: nothing is leased, no delivery is counted. The
 * state follows queueStats: a lease that has run out is ready again. Pages
 * follow the rows (a moved message's row is newer than its id): `after`, a
 * message's id, goes on after its row here, if it still has one.
 */
export async function browse(db: Queryable, at: SubscriptionRef, options: BrowseOptions): Promise<BrowsedMessage[]> {
  const { subscriptionId } = await loadSubscription(db, at);
  const after = browseAfter(options.after);
  const moved = await db.query<{ message_id: number }>({ ...STATEMENTS.movedRow, values: [subscriptionId, after] });
  const from = moved.rows.length === 0 ? after : moved.rows[0].message_id;
  const { rows } = await db.query<RawBrowsedMessage>({ ...STATEMENTS.page, values: [subscriptionId, from, options.max] });
  return rows.map((row) => toBrowsedMessage(row, options.now));
}
