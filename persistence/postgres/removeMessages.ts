import type { QueueRow } from '../rows/queueRow';
import type { Queryable } from './connection';
import { deleteMessagesCte, SHRINK_PARTITIONS } from './messageRow';

const DELETE_DELIVERIES = 'DELETE FROM deliveries WHERE subscription_id = $2 AND message_id = ANY($1::bigint[])';

const STATEMENTS = {
  topic: { name: 'removeMessages-topic', text: DELETE_DELIVERIES },
  // The deliveries and the messages in one statement: the partitions row is locked before the deliveries triggers lock the subscription's.
  queue: {
    name: 'removeMessages-queue',
    text: `WITH removed AS (${DELETE_DELIVERIES}), ${deleteMessagesCte('SELECT unnest($1::bigint[])')} ${SHRINK_PARTITIONS}`,
  },
};

/**
 * operation: removeMessages — messages leave a queue subscription (acked,
 * dead-lettered, redriven, expired). A queue keeps messages only until they
 * are settled, so there the message rows go too; a topic keeps them for its
 * other readers until retention.
 */
export async function removeMessages(tx: Queryable, from: QueueRow, messageIds: number[]): Promise<void> {
  if (messageIds.length === 0) return;
  await tx.query({ ...(from.kind === 'queue' ? STATEMENTS.queue : STATEMENTS.topic), values: [messageIds, from.subscriptionId] });
}
