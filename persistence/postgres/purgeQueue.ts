import type { Queryable } from './connection';
import { deleteMessagesCte, SHRINK_PARTITIONS } from './messageRow';
import { loadQueueRow } from './queueRow';

// One statement, as an ack's: the message rows, then the partition row, then
// the delivery rows and the subscription's counters, the order every append,
// ack and sweep takes them in. The totals go down by what it deleted, not to
// zero: an append that commits while it waits for the partition row keeps
// its messages and its count.
const PURGE = `WITH removed AS (DELETE FROM deliveries WHERE subscription_id = $2),
                    ${deleteMessagesCte('SELECT id FROM messages WHERE topic_id = $1')}
               ${SHRINK_PARTITIONS} RETURNING g.messages`;

/** operation: purgeQueue — deletes every message; offsets and idempotency keys stay. */
export async function purgeQueue(tx: Queryable, queue: string): Promise<number> {
  const row = await loadQueueRow(tx, queue);
  const { rows } = await tx.query<{ messages: number }>({ name: 'purgeQueue-purge', text: PURGE, values: [row.topicId, row.subscriptionId] });
  return rows.length === 0 ? 0 : rows[0].messages;
}
