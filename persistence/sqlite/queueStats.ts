import type { Database } from 'better-sqlite3';
import type { QueueStats, SubscriptionRef } from '../store';
import { prepared } from './prepared';
import { loadSubscription } from './queueRow';

interface Depth {
  ready: number;
  in_flight: number;
  delayed: number;
  oldest_ready: number | null;
}

const statements = prepared((db) => ({
  // Counts walk the queue's slice of deliveries_by_availability: linear in the
  // backlog, which is why stats are not on the produce/fetch/ack path.
  depth: db.prepare<{ subscription: number; now: number }, Depth>(
    `SELECT COALESCE(SUM(available_at <= :now), 0)                 AS ready,
            COALESCE(SUM(available_at > :now AND leased = 1), 0)   AS in_flight,
            COALESCE(SUM(available_at > :now AND leased = 0), 0)   AS delayed,
            MIN(CASE WHEN available_at <= :now THEN message_id END) AS oldest_ready
       FROM deliveries WHERE subscription_id = :subscription`,
  ),
  timestamp: db.prepare<[number]>('SELECT timestamp FROM messages WHERE id = ?').pluck(),
}));

/** operation: queueStats */
export function queueStats(db: Database, of: SubscriptionRef, now: number): QueueStats {
  const row = loadSubscription(db, of);
  const s = statements(db);
  const depth = s.depth.get({ subscription: row.subscriptionId, now }) as Depth;
  // Message ids grow with time within a queue, so the smallest ready id is the oldest.
  const oldest = depth.oldest_ready === null ? undefined : (s.timestamp.get(depth.oldest_ready) as number | undefined);
  return {
    ready: depth.ready,
    inFlight: depth.in_flight,
    delayed: depth.delayed,
    oldestReadyAgeMs: oldest === undefined ? null : Math.max(0, now - oldest),
    produced: row.produced,
    acked: row.acked,
    deadLettered: row.deadLettered,
  };
}
