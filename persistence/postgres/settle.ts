import { messageIdOf } from '../rows/messageRow';
import { missedIds, type SettledRow, type SettlePair, settleStatuses } from '../rows/settlement';
import type { DeliveryRef, Settlement, SettleStatus, SubscriptionRef } from '../store';
import type { Queryable } from './connection';
import { deleteMessagesCte, SHRINK_PARTITIONS } from './messageRow';
import { loadSubscription } from './queueRow';
import type { WriteContext } from './writeContext';

/**
 * The deliveries `d` of subscription $1 that refs name ($3 message ids and
 * $4 delivery counts, pair by pair) while their leases are the live ones at
 * $2: same delivery, still leased, not yet over. Found by the primary key,
 * one probe per ref: `available_at + 0` keeps the planner off the indexes
 * that lead with available_at, which would walk every row in flight.
 */
export const LIVE_LEASE = `d.subscription_id = $1 AND d.message_id = ANY($3::bigint[])
   AND (d.message_id, d.delivery_count) IN (SELECT * FROM unnest($3::bigint[], $4::int[]))
   AND d.leased AND d.available_at + 0 > $2`;

const ACK = `DELETE FROM deliveries d WHERE ${LIVE_LEASE} RETURNING d.message_id, d.delivery_count`;

// One statement per batch and kind: the check and the change together.
const STATEMENTS = {
  ackTopic: { name: 'settle-ackTopic', text: ACK },
  // A queue's acked messages go in the same statement: the partitions row is locked before the deliveries triggers lock the subscription's.
  ackQueue: {
    name: 'settle-ackQueue',
    text: `WITH settled AS (${ACK}), ${deleteMessagesCte('SELECT message_id FROM settled')}, shrunk AS (${SHRINK_PARTITIONS})
           SELECT message_id, delivery_count FROM settled`,
  },
  nack: {
    name: 'settle-nack',
    text: `UPDATE deliveries d SET available_at = $5, leased = false WHERE ${LIVE_LEASE} RETURNING d.message_id, d.delivery_count`,
  },
  extend: {
    name: 'settle-extend',
    text: `UPDATE deliveries d SET available_at = $5 WHERE ${LIVE_LEASE} RETURNING d.message_id, d.delivery_count`,
  },
  current: {
    name: 'settle-current',
    text: 'SELECT message_id, delivery_count FROM deliveries WHERE subscription_id = $1 AND message_id = ANY($2::bigint[])',
  },
  countAcked: { name: 'settle-countAcked', text: 'UPDATE subscriptions SET acked = acked + $2 WHERE id = $1' },
};

/**
 * operation: settle — ack, nack or extend each delivery on its own. A receipt
 * is honoured only while its own lease holds. Anything else is `expired` (the
 * delivery existed but is over) or `unknown` (no such delivery in this queue).
 * A receipt repeated in one request is honoured once.
 */
export async function settle(
  tx: Queryable,
  context: WriteContext,
  at: SubscriptionRef,
  refs: DeliveryRef[],
  settlement: Settlement,
  now: number,
): Promise<SettleStatus[]> {
  const row = await loadSubscription(tx, at);
  const subscription = row.subscriptionId;
  // A ref of another subscription, or with an id this store never gave, matches no row here: id 0 is never a message id.
  const pairs = refs.map((ref): SettlePair => [
    ref.subscriptionId === String(subscription) ? (messageIdOf(ref.messageId) ?? 0) : 0,
    ref.deliveryCount,
  ]);
  const values = [subscription, now, pairs.map(([id]) => id), pairs.map(([, count]) => count)];
  const { rows: settled } = await tx.query<SettledRow>(
    settlement.kind === 'ack'
      ? { ...(row.kind === 'queue' ? STATEMENTS.ackQueue : STATEMENTS.ackTopic), values }
      : { ...STATEMENTS[settlement.kind], values: [...values, settlement.kind === 'nack' ? settlement.availableAt : settlement.leaseUntil] },
  );
  const missed = missedIds(pairs, settled);
  const current = missed.length === 0 ? [] : (await tx.query<SettledRow>({ ...STATEMENTS.current, values: [subscription, missed] })).rows;
  if (settlement.kind === 'ack' && settled.length > 0) await tx.query({ ...STATEMENTS.countAcked, values: [subscription, settled.length] });
  if (settlement.kind === 'nack' && settled.length > 0) context.notify(row.name);
  return settleStatuses(settlement.kind, pairs, settled, current);
}
