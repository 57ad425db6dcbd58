import type { Database } from 'better-sqlite3';
import type { QueueStats, SubscriptionRef } from '../store';
import { prepared } from './prepared';
import { loadSubscription } from './queueRow';

interface NotReady {
  in_flight: number;
  delayed: number;
}

interface Params {
  subscription: number;
  now: number;
}

// The rows not ready now: a range of deliveries_by_availability, as long as
// what is in flight or delayed, whatever the backlog of ready rows.
export const NOT_READY = `SELECT COALESCE(SUM(leased = 1), 0) AS in_flight, COALESCE(SUM(leased = 0), 0) AS delayed
   FROM deliveries WHERE subscription_id = :subscription AND available_at > :now`;

// The primary key in message_id order, past the rows not ready, stops at the
// first ready one. `+available_at` keeps the planner off the availability
// index, which would read every ready row and sort them by id.
export const OLDEST_READY = `SELECT message_id FROM deliveries
  WHERE subscription_id = :subscription AND +available_at <= :now ORDER BY message_id LIMIT 1`;

const statements = prepared((db) => ({
  notReady: db.prepare<Params, NotReady>(NOT_READY),
  oldestReady: db.prepare<Params>(OLDEST_READY).pluck(),
  timestamp: db.prepare<[number]>('SELECT timestamp FROM messages WHERE id = ?').pluck(),
  // What the topic ever took in: its partitions' high watermarks (offsets are dense; migration 016).
  produced: db.prepare<[number]>('SELECT sum(next_offset) FROM partitions WHERE topic_id = ?').pluck(),
}));

/**
 * operation: queueStats — the subscription's counters (migration 008's
 * triggers keep its rows and their bytes, every state) less the rows not
 * ready now. A lease that ran out or a delay that ended is ready without a
 * write: only the clock moved past its available_at.
 */
export function queueStats(db: Database, of: SubscriptionRef, now: number): QueueStats {
  const row = loadSubscription(db, of);
  const s = statements(db);
  const params = { subscription: row.subscriptionId, now };
  const notReady = s.notReady.get(params) as NotReady;
  // Message ids grow with time within a queue, so the smallest ready id is the oldest.
  const oldestId = s.oldestReady.get(params) as number | undefined;
  const oldest = oldestId === undefined ? undefined : (s.timestamp.get(oldestId) as number | undefined);
  return {
    ready: row.waiting - notReady.in_flight - notReady.delayed,
    inFlight: notReady.in_flight,
    delayed: notReady.delayed,
    bytes: row.waitingBytes,
    oldestReadyAgeMs: oldest === undefined ? null : Math.max(0, now - oldest),
    produced: s.produced.get(row.topicId) as number,
    acked: row.acked,
    deadLettered: row.deadLettered,
  };
}
