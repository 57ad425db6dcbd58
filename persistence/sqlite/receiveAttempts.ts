import type { Database } from 'better-sqlite3';
import { type AttemptDelivery, attemptDeliveries } from '../rows/receiveAttempt';
import type { Lease, ReceiveAttempt } from '../store';
import { loadMessages } from './messageRow';
import { prepared } from './prepared';

interface LiveRow {
  message_id: number;
  delivery_count: number;
  first_leased_at: number;
}

/** A subscription's deliveries whose message ids `ids` (a JSON array) gives. */
const OF_ATTEMPT = 'subscription_id = :subscription AND message_id IN (SELECT value FROM json_each(:ids))';

const statements = prepared((db) => ({
  forget: db.prepare<[number, number]>('DELETE FROM receive_attempts WHERE subscription_id = ? AND received_at < ?'),
  find: db.prepare<[number, string], { lease_until: number; deliveries: string }>(
    'SELECT lease_until, deliveries FROM receive_attempts WHERE subscription_id = ? AND attempt_id = ?',
  ),
  // Still the leases the attempt gave: leased, ending when it made them end, not yet over.
  live: db.prepare<{ subscription: number; ids: string; leaseUntil: number; now: number }, LiveRow>(
    `SELECT message_id, delivery_count, first_leased_at FROM deliveries
      WHERE ${OF_ATTEMPT} AND leased = 1 AND available_at = :leaseUntil AND available_at > :now`,
  ),
  renew: db.prepare<{ subscription: number; ids: string; leaseUntil: number }>(
    `UPDATE deliveries SET available_at = :leaseUntil WHERE ${OF_ATTEMPT}`,
  ),
  renewAttempt: db.prepare<[number, number, string]>('UPDATE receive_attempts SET lease_until = ? WHERE subscription_id = ? AND attempt_id = ?'),
  record: db.prepare<[number, string, number, number, string]>(
    'INSERT INTO receive_attempts (subscription_id, attempt_id, received_at, lease_until, deliveries) VALUES (?, ?, ?, ?, ?)',
  ),
}));

/**
 * Whether an attempt can be repeated: each delivery it recorded is still
 * the live lease it gave (`live`: those of its deliveries still leased, with
 * the attempt's lease end, not yet over). One settled, extended, nacked or
 * run out (and perhaps leased again, with a higher count) spends it.
 */
function repeatable(recorded: AttemptDelivery[], live: LiveRow[]): boolean {
  const found = new Set(live.map((row) => `${row.message_id}.${row.delivery_count}`));
  return recorded.every(([id, count]) => found.has(`${id}.${count}`));
}

/** When a claim happens and when the leases it gives end. */
interface ClaimTimes {
  now: number;
  leaseUntil: number;
}

/**
 * operation: claim, with a receive attempt id seen before — the leases that
 * claim gave, renewed until `leaseUntil`, while every one is still live and
 * as it gave it; `spent` once one is not. Null for an id not seen within the
 * window (attempts older than it are forgotten first).
 */
export function repeatAttempt(
  db: Database,
  subscription: number,
  attempt: ReceiveAttempt,
  times: ClaimTimes,
): { leases: Lease[]; attempt: 'repeated' | 'spent' } | null {
  const s = statements(db);
  s.forget.run(subscription, times.now - attempt.windowMs);
  const found = s.find.get(subscription, attempt.id);
  if (found === undefined) return null;
  const recorded = JSON.parse(found.deliveries) as AttemptDelivery[];
  const ids = JSON.stringify(recorded.map(([id]) => id));
  const live = s.live.all({ subscription, ids, leaseUntil: found.lease_until, now: times.now });
  if (!repeatable(recorded, live)) return { leases: [], attempt: 'spent' };
  s.renew.run({ subscription, ids, leaseUntil: times.leaseUntil });
  s.renewAttempt.run(times.leaseUntil, subscription, attempt.id);
  const byId = new Map(live.map((row) => [row.message_id, row]));
  const leases = loadMessages(db, recorded.map(([id]) => id)).map((message): Lease => {
    const { delivery_count: deliveryCount, first_leased_at: firstDeliveredAt } = byId.get(Number(message.id)) as LiveRow;
    return { message, deliveryCount, firstDeliveredAt };
  });
  return { leases, attempt: 'repeated' };
}

/** Records what a claim under a new receive attempt id leased, for a retry of it. */
export function recordAttempt(db: Database, subscription: number, attempt: ReceiveAttempt, times: ClaimTimes, leases: Lease[]): void {
  statements(db).record.run(subscription, attempt.id, times.now, times.leaseUntil, JSON.stringify(attemptDeliveries(leases)));
}
