import type { Database } from 'better-sqlite3';
import type { DeliveryRef, SubscriptionRef } from '../store';
import { deadLetter } from './deadLetter';
import type { WriteContext } from './groupCommit';
import { loadMessages } from './messageRow';
import { prepared } from './prepared';
import { loadSubscription } from './queueRow';

interface Params {
  subscription: number;
  message: number;
  count: number;
  now: number;
}

// The same fence as settle's: this delivery, still leased, lease not over.
const LIVE = `subscription_id = :subscription AND message_id = :message AND delivery_count = :count
              AND leased = 1 AND available_at > :now`;

const statements = prepared((db) => ({
  renew: db.prepare<Params & { leaseUntil: number }>(
    `UPDATE deliveries SET delivery_count = delivery_count + 1, available_at = :leaseUntil WHERE ${LIVE}`,
  ),
  live: db.prepare<Params>(`SELECT 1 FROM deliveries WHERE ${LIVE}`).pluck(),
}));

function params(db: Database, at: SubscriptionRef, ref: DeliveryRef, now: number): Params | null {
  const row = loadSubscription(db, at);
  if (ref.subscriptionId !== row.subscriptionId) return null;
  return { subscription: row.subscriptionId, message: Number(ref.messageId), count: ref.deliveryCount, now };
}

/**
 * operation: renewLease — the next delivery of a message its holder keeps
 * leased (a push retry): the count goes up, so the new ref fences the old one,
 * and the lease runs to `leaseUntil`. Null when the lease is no longer live.
 */
export function renewLease(db: Database, at: SubscriptionRef, ref: DeliveryRef, leaseUntil: number, now: number): DeliveryRef | null {
  const p = params(db, at, ref, now);
  if (p === null || statements(db).renew.run({ ...p, leaseUntil }).changes === 0) return null;
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
  const p = params(db, at, ref, now);
  if (p === null || statements(db).live.get(p) === undefined) return false;
  const [message] = loadMessages(db, [p.message]);
  deadLetter(db, context, loadSubscription(db, at), message, ref.deliveryCount, now, to);
  return true;
}
