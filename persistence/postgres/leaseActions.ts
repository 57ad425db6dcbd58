import { messageIdOf } from '../rows/messageRow';
import type { QueueRow } from '../rows/queueRow';
import { leaseEndsOf, type LeaseEndRow, type SettlePair } from '../rows/settlement';
import type { DeliveryRef, SubscriptionRef } from '../store';
import type { Queryable } from './connection';
import { deadLetter } from './deadLetter';
import { loadMessages } from './messageRow';
import { loadSubscription } from './queueRow';
import { LIVE_LEASE } from './settle';
import type { WriteContext } from './writeContext';

// Settle's fence, for one delivery: still leased, lease not over, same delivery count.
const STATEMENTS = {
  renew: {
    name: 'leaseActions-renew',
    text: `UPDATE deliveries d SET delivery_count = d.delivery_count + 1, available_at = $5 WHERE ${LIVE_LEASE}`,
  },
  // Locked: the lease cannot be settled or renewed between this check and the dead letter's move.
  live: { name: 'leaseActions-live', text: `SELECT 1 FROM deliveries d WHERE ${LIVE_LEASE} FOR UPDATE` },
  leaseEnds: { name: 'leaseActions-leaseEnds', text: `SELECT d.message_id, d.delivery_count, d.available_at FROM deliveries d WHERE ${LIVE_LEASE}` },
};

/** The subscription a ref is fenced in, with the fence's parameters; null for a ref another subscription issued, or an id this store never gave. */
async function fence(tx: Queryable, at: SubscriptionRef, ref: DeliveryRef, now: number): Promise<{ row: QueueRow; messageId: number; values: unknown[] } | null> {
  const row = await loadSubscription(tx, at);
  const messageId = messageIdOf(ref.messageId);
  if (ref.subscriptionId !== String(row.subscriptionId) || messageId === null) return null;
  return { row, messageId, values: [row.subscriptionId, now, [messageId], [ref.deliveryCount]] };
}

/**
 * operation: renewLease — the next delivery of a message its holder keeps
 * leased (a push retry): the count goes up, so the new ref fences the old one,
 * and the lease runs to `leaseUntil`. Null when the lease is no longer live.
 */
export async function renewLease(tx: Queryable, at: SubscriptionRef, ref: DeliveryRef, leaseUntil: number, now: number): Promise<DeliveryRef | null> {
  const fenced = await fence(tx, at, ref, now);
  if (fenced === null) return null;
  const { rowCount } = await tx.query({ ...STATEMENTS.renew, values: [...fenced.values, leaseUntil] });
  return rowCount === 0 ? null : { ...ref, deliveryCount: ref.deliveryCount + 1 };
}

/**
 * operation: deadLetterLease — a live lease's message moves to `queue` at
 * once (a push target refused it, or it ran out of attempts), with `headers`
 * saying why. False when the lease is no longer live: then nothing moves.
 */
export async function deadLetterLease(
  tx: Queryable,
  context: WriteContext,
  at: SubscriptionRef,
  ref: DeliveryRef,
  to: { queue: string; headers: Record<string, string> },
  now: number,
): Promise<boolean> {
  const fenced = await fence(tx, at, ref, now);
  if (fenced === null || (await tx.query({ ...STATEMENTS.live, values: fenced.values })).rowCount === 0) return false;
  const [message] = await loadMessages(tx, [fenced.messageId]);
  await deadLetter(tx, context, fenced.row, message, ref.deliveryCount, now, to);
  return true;
}

/** operation: leaseEnds — when each ref's lease ends, null where it no longer holds at `now` (settle's fence); changes nothing. */
export async function leaseEnds(db: Queryable, at: SubscriptionRef, refs: DeliveryRef[], now: number): Promise<(number | null)[]> {
  const subscription = (await loadSubscription(db, at)).subscriptionId;
  // A ref of another subscription, or with an id this store never gave, matches no row here: id 0 is never a message id.
  const pairs = refs.map((ref): SettlePair => [
    ref.subscriptionId === String(subscription) ? (messageIdOf(ref.messageId) ?? 0) : 0,
    ref.deliveryCount,
  ]);
  const values = [subscription, now, pairs.map(([id]) => id), pairs.map(([, count]) => count)];
  return leaseEndsOf(pairs, (await db.query<LeaseEndRow>({ ...STATEMENTS.leaseEnds, values })).rows);
}
