import type { Database } from 'better-sqlite3';
import { missedIds, type SettledRow, type SettlePair, settleStatuses } from '../rows/settlement';
import type { DeliveryRef, Settlement, SettleStatus, SubscriptionRef } from '../store';
import type { WriteContext } from './groupCommit';
import { deleteMessages } from './messageRow';
import { prepared } from './prepared';
import { loadSubscription } from './queueRow';

interface Params {
  subscription: number;
  now: number;
  /** JSON array of [messageId, deliveryCount] pairs. */
  refs: string;
  at: number;
}

/**
 * The receipt's lease is the live one: same delivery, still leased, not yet
 * over. `+available_at` keeps the planner on the primary key (one lookup per
 * receipt) instead of walking every in-flight row of the availability index.
 */
export const LIVE_LEASE = `subscription_id = :subscription AND leased = 1 AND +available_at > :now
   AND (message_id, delivery_count) IN (SELECT value ->> 0, value ->> 1 FROM json_each(:refs))`;

const statements = prepared((db) => ({
  // One statement per batch and kind: the check and the change together.
  ack: db.prepare<Omit<Params, 'at'>, SettledRow>(`DELETE FROM deliveries WHERE ${LIVE_LEASE} RETURNING message_id, delivery_count`),
  nack: db.prepare<Params, SettledRow>(
    `UPDATE deliveries SET available_at = :at, leased = 0 WHERE ${LIVE_LEASE} RETURNING message_id, delivery_count`,
  ),
  extend: db.prepare<Params, SettledRow>(
    `UPDATE deliveries SET available_at = :at WHERE ${LIVE_LEASE} RETURNING message_id, delivery_count`,
  ),
  current: db.prepare<[number, string], SettledRow>(
    `SELECT message_id, delivery_count FROM deliveries
      WHERE subscription_id = ? AND message_id IN (SELECT value FROM json_each(?))`,
  ),
  countAcked: db.prepare<[number, number]>('UPDATE subscriptions SET acked = acked + ? WHERE id = ?'),
}));

/**
 * operation: settle — ack, nack or extend each delivery on its own. A receipt
 * is honoured only while its own lease holds. Anything else is `expired` (the
 * delivery existed but is over) or `unknown` (no such delivery in this queue).
 * A receipt repeated in one request is honoured once.
 */
export function settle(
  db: Database,
  context: WriteContext,
  at: SubscriptionRef,
  refs: DeliveryRef[],
  settlement: Settlement,
  now: number,
): SettleStatus[] {
  const row = loadSubscription(db, at);
  const s = statements(db);
  const subscription = row.subscriptionId;
  // A ref of another subscription matches no row here: id 0 is never a message id.
  const pairs = refs.map((ref): SettlePair => [ref.subscriptionId === String(subscription) ? Number(ref.messageId) : 0, ref.deliveryCount]);
  const params = { subscription, now, refs: JSON.stringify(pairs) };
  const settled =
    settlement.kind === 'ack'
      ? s.ack.all(params)
      : s[settlement.kind].all({ ...params, at: settlement.kind === 'nack' ? settlement.availableAt : settlement.leaseUntil });
  const missed = missedIds(pairs, settled);
  const current = missed.length === 0 ? [] : s.current.all(subscription, JSON.stringify(missed));
  if (settlement.kind === 'ack' && settled.length > 0) {
    // A queue's acked messages are gone; a topic's stay for its other readers.
    if (row.kind === 'queue') deleteMessages(db, settled.map((r) => r.message_id));
    s.countAcked.run(settled.length, subscription);
  }
  if (settlement.kind === 'nack' && settled.length > 0) context.notify(row.name);
  return settleStatuses(settlement.kind, pairs, settled, current);
}
