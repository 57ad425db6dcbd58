import type { Settlement, SettleStatus } from '../store';

/** A delivery a settle statement settled, or found: its message and delivery count. */
export interface SettledRow {
  message_id: number;
  delivery_count: number;
}

/** What a settle asked for, ref by ref: a message id (0 for a ref no row can match) and a delivery count. */
export type SettlePair = [messageId: number, deliveryCount: number];

const DONE: Record<Settlement['kind'], SettleStatus> = { ack: 'acked', nack: 'nacked', extend: 'extended' };

// Only one delivery of a message can be live, so (id, count) names what was settled.
const deliveryOf = (messageId: number, deliveryCount: number): string => `${messageId}.${deliveryCount}`;

/** The message ids of the pairs that settled nothing: their current delivery counts tell `expired` from `unknown`. */
export function missedIds(pairs: SettlePair[], settled: SettledRow[]): number[] {
  const done = new Set(settled.map((r) => deliveryOf(r.message_id, r.delivery_count)));
  return pairs.filter(([id, count]) => !done.has(deliveryOf(id, count))).map(([id]) => id);
}

/**
 * Each pair's status: settled (a receipt repeated in one request is honoured
 * once), `expired` (the delivery existed but is over: the message's latest
 * delivery count, settled here or `current` in the table, is at least its
 * count) or `unknown` (no such delivery in this queue subscription).
 */
export function settleStatuses(kind: Settlement['kind'], pairs: SettlePair[], settled: SettledRow[], current: SettledRow[]): SettleStatus[] {
  const done = new Set(settled.map((r) => deliveryOf(r.message_id, r.delivery_count)));
  const latest = new Map<number, number>([...current, ...settled].map((r) => [r.message_id, r.delivery_count]));
  const honoured = new Set<string>();
  return pairs.map(([id, count]): SettleStatus => {
    const delivery = deliveryOf(id, count);
    if (done.has(delivery) && !honoured.has(delivery)) {
      honoured.add(delivery);
      return DONE[kind];
    }
    const last = latest.get(id);
    return last !== undefined && count <= last ? 'expired' : 'unknown';
  });
}

/** A live lease a lease check found, with when it ends. */
export interface LeaseEndRow extends SettledRow {
  available_at: number;
}

/** When each pair's lease ends, from `live` (the rows a lease check found), in order; null for a pair whose lease is over. */
export function leaseEndsOf(pairs: SettlePair[], live: LeaseEndRow[]): (number | null)[] {
  const ends = new Map(live.map((r) => [deliveryOf(r.message_id, r.delivery_count), Number(r.available_at)]));
  return pairs.map(([id, count]) => ends.get(deliveryOf(id, count)) ?? null);
}
