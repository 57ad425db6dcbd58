import type { Database } from 'better-sqlite3';
import type { DeliveryRef, Settlement, SettleStatus } from '../store';
import type { WriteContext } from './groupCommit';
import { prepared } from './prepared';
import { loadQueueRow } from './queueRow';
import { removeMessage } from './removeMessage';

interface DeliveryRow {
  available_at: number;
  delivery_count: number;
  leased: number;
}

const statements = prepared((db) => ({
  delivery: db.prepare<[number, number], DeliveryRow>(
    'SELECT available_at, delivery_count, leased FROM deliveries WHERE subscription_id = ? AND message_id = ?',
  ),
  release: db.prepare<[number, number, number]>(
    'UPDATE deliveries SET available_at = ?, leased = 0 WHERE subscription_id = ? AND message_id = ?',
  ),
  extend: db.prepare<[number, number, number]>(
    'UPDATE deliveries SET available_at = ? WHERE subscription_id = ? AND message_id = ?',
  ),
  countAcked: db.prepare<[number, number]>('UPDATE subscriptions SET acked = acked + ? WHERE id = ?'),
}));

const DONE: Record<Settlement['kind'], SettleStatus> = { ack: 'acked', nack: 'nacked', extend: 'extended' };

/**
 * operation: settle — ack, nack or extend each delivery on its own. A receipt
 * is honoured only while its own lease holds: same delivery count, still
 * leased, not yet expired. Anything else is `expired` (the delivery existed
 * but is over) or `unknown` (no such delivery in this queue).
 */
export function settle(
  db: Database,
  context: WriteContext,
  queue: string,
  refs: DeliveryRef[],
  settlement: Settlement,
  now: number,
): SettleStatus[] {
  const row = loadQueueRow(db, queue);
  const s = statements(db);
  const subscription = row.subscriptionId;
  let acked = 0;
  const statuses = refs.map((ref): SettleStatus => {
    const messageId = Number(ref.messageId);
    const delivery = s.delivery.get(subscription, messageId);
    if (delivery === undefined || ref.deliveryCount > delivery.delivery_count) return 'unknown';
    const current = ref.deliveryCount === delivery.delivery_count && delivery.leased === 1 && delivery.available_at > now;
    if (!current) return 'expired';
    switch (settlement.kind) {
      case 'ack':
        removeMessage(db, subscription, messageId);
        acked += 1;
        break;
      case 'nack':
        s.release.run(settlement.availableAt, subscription, messageId);
        if (settlement.availableAt <= now) context.notify(queue);
        break;
      case 'extend':
        s.extend.run(settlement.leaseUntil, subscription, messageId);
        break;
    }
    return DONE[settlement.kind];
  });
  if (acked > 0) s.countAcked.run(acked, subscription);
  return statuses;
}
