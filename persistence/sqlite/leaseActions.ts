import type { Database } from 'better-sqlite3';
import type { QueueRow } from '../rows/queueRow';
import { leaseEndsOf, type LeaseEndRow, type SettlePair } from '../rows/settlement';
import type { DeliveryRef, SubscriptionRef } from '../store';
import { deadLetter } from './deadLetter';
import type { WriteContext } from './groupCommit';
import { loadMessages } from './messageRow';
import { prepared } from './prepared';
import { loadSubscription } from './queueRow';
import { LIVE_LEASE } from './settle';

interface Fence {
  subscription: number;
  now: number;
  /** JSON array of one [messageId, deliveryCount] pair, as settle's fence takes it. */
  refs: string;
}

// Settle's fence, for one delivery: still leased, lease not over, same delivery count.
const statements = prepared((db) => ({
  renew: db.prepare<Fence & { leaseUntil: number }>(
    `UPDATE deliveries SET delivery_count = delivery_count + 1, available_at = :leaseUntil WHERE ${LIVE_LEASE}`,
  ),
  live: db.prepare<Fence>(`SELECT 1 FROM deliveries WHERE ${LIVE_LEASE}`).pluck(),
  leaseEnds: db.prepare<Fence, LeaseEndRow>(`SELECT message_id, delivery_count, available_at FROM deliveries WHERE ${LIVE_LEASE}`),
}));

/** The subscription a ref is fenced in, with the fence's parameters; null for a ref another subscription issued. */
function fence(db: Database, at: SubscriptionRef, ref: DeliveryRef, now: number): { row: QueueRow; params: Fence } | null {
  const row = loadSubscription(db, at);
  if (ref.subscriptionId !== String(row.subscriptionId)) return null;
  return { row, params: { subscription: row.subscriptionId, now, refs: JSON.stringify([[Number(ref.messageId), ref.deliveryCount]]) } };
}

/**
 * operation: renewLease — the next delivery of a message its holder keeps
 * leased (a push retry): the count goes up, so the new ref fences the old one,
 * and the lease runs to `leaseUntil`. Null when the lease is no longer live.
 */
export function renewLease(db: Database, at: SubscriptionRef, ref: DeliveryRef, leaseUntil: number, now: number): DeliveryRef | null {
  const fenced = fence(db, at, ref, now);
  if (fenced === null || statements(db).renew.run({ ...fenced.params, leaseUntil }).changes === 0) return null;
  return { ...ref, deliveryCount: ref.deliveryCount + 1 };
}

/**
 * operation: deadLetterLease — a live lease's message moves to `queue` at
 * once (a push target refused it, or it ran out of attempts), with `headers`
 * saying why. False when the lease is no longer live: then nothing moves.
 */
export function deadLetterLease(
  db: Database,
  context: WriteContext,
  at: SubscriptionRef,
  ref: DeliveryRef,
  to: { queue: string; headers: Record<string, string> },
  now: number,
): boolean {
  const fenced = fence(db, at, ref, now);
  if (fenced === null || statements(db).live.get(fenced.params) === undefined) return false;
  const [message] = loadMessages(db, [Number(ref.messageId)]);
  deadLetter(db, context, fenced.row, message, ref.deliveryCount, now, to);
  return true;
}

/** operation: leaseEnds — when each ref's lease ends, null where it no longer holds at `now` (settle's fence); changes nothing. */
export function leaseEnds(db: Database, at: SubscriptionRef, refs: DeliveryRef[], now: number): (number | null)[] {
  const subscription = loadSubscription(db, at).subscriptionId;
  // A ref of another subscription matches no row here: id 0 is never a message id.
  const pairs = refs.map((ref): SettlePair => [ref.subscriptionId === String(subscription) ? Number(ref.messageId) : 0, ref.deliveryCount]);
  return leaseEndsOf(pairs, statements(db).leaseEnds.all({ subscription, now, refs: JSON.stringify(pairs) }));
}
