import { subscriptionNotFound } from '../rows/queueRow';
import type { QueueStats, SubscriptionRef } from '../store';
import type { Queryable } from './connection';
import { loadSubscription } from './queueRow';

interface Counts {
  waiting: number;
  waiting_bytes: number;
  produced: number;
  acked: number;
  dead_lettered: number;
  in_flight: number;
  delayed: number;
  oldest: number | null;
}

// One statement, so the counters and the rows not ready now come from one
// snapshot (a read runs outside a transaction): ready is their difference.
// The rows not ready are a range of deliveries_by_availability, as long as
// what is in flight or delayed, whatever the backlog of ready rows. Message
// ids grow with time within a queue, so the smallest ready id is the oldest.
const COUNTS = `
  SELECT s.waiting, s.waiting_bytes, t.produced, s.acked, s.dead_lettered,
         n.in_flight, n.delayed,
         (SELECT m.timestamp FROM messages m
           WHERE m.id = (SELECT d.message_id FROM deliveries d WHERE d.subscription_id = s.id AND d.available_at <= $2
                          ORDER BY d.message_id LIMIT 1)) AS oldest
    FROM subscriptions s JOIN topics t ON t.id = s.topic_id
   CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE d.leased) AS in_flight, count(*) FILTER (WHERE NOT d.leased) AS delayed
                         FROM deliveries d WHERE d.subscription_id = s.id AND d.available_at > $2) n
   WHERE s.id = $1`;

/**
 * operation: queueStats — the subscription's counters (the deliveries
 * triggers keep its rows and their bytes, every state) less the rows not
 * ready now. A lease that ran out or a delay that ended is ready without a
 * write: only the clock moved past its available_at.
 */
export async function queueStats(db: Queryable, of: SubscriptionRef, now: number): Promise<QueueStats> {
  const { subscriptionId } = await loadSubscription(db, of);
  const { rows } = await db.query<Counts>({ name: 'queueStats-counts', text: COUNTS, values: [subscriptionId, now] });
  // Deleted between the two statements.
  if (rows.length === 0) throw subscriptionNotFound(of);
  const [counts] = rows;
  return {
    ready: counts.waiting - counts.in_flight - counts.delayed,
    inFlight: counts.in_flight,
    delayed: counts.delayed,
    bytes: counts.waiting_bytes,
    oldestReadyAgeMs: counts.oldest === null ? null : Math.max(0, now - counts.oldest),
    produced: counts.produced,
    acked: counts.acked,
    deadLettered: counts.dead_lettered,
  };
}
