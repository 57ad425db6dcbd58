import type { Database } from 'better-sqlite3';
import {
  expires,
  type PartitionRetention,
  type RetentionLimits,
  retentionLimits,
  SWEEP_LEASE,
  sweepLeases,
  sweepCursor,
  sweepPosition,
  sweptNothing,
} from '../rows/retention';
import type { SweepOptions, SweepResult } from '../store';
import { holdLeases } from './leases';
import { deleteMessages } from './messageRow';
import { prepared } from './prepared';

interface Oldest {
  id: number;
  timestamp: number;
  bytes: number;
}

const statements = prepared((db) => ({
  // A topic's expired messages take their delivery rows in every queue subscription with them.
  deliveries: db.prepare<[number, string]>(
    `DELETE FROM deliveries WHERE subscription_id IN (SELECT id FROM subscriptions WHERE topic_id = ?)
        AND message_id IN (SELECT value FROM json_each(?))`,
  ),
  // Queues (one partition each, always with an age limit) and topics, in
  // primary key order from where the last call stopped: a range of it, never
  // a walk over every queue.
  partitions: db.prepare<{ topic: number; partition: number; limit: number }, PartitionRetention>(
    `SELECT p.topic_id, p.partition, t.retention_ms, t.retention_bytes, p.bytes
       FROM partitions p JOIN topics t ON t.id = p.topic_id
      WHERE (p.topic_id, p.partition) > (:topic, :partition)
      ORDER BY p.topic_id, p.partition LIMIT :limit`,
  ),
  // Oldest first along messages_by_offset, read lazily: a bounded range read, never a scan.
  oldest: db.prepare<[number, number, number], Oldest>(
    `SELECT id, timestamp, length(value) AS bytes FROM messages
      WHERE topic_id = ? AND partition = ? ORDER BY offset LIMIT ?`,
  ),
  // By deadline: a bounded range of replies_by_deadline, never a scan.
  expireReplies: db.prepare<[number, number]>(
    `DELETE FROM replies WHERE correlation_id IN
       (SELECT correlation_id FROM replies WHERE deadline < ? ORDER BY deadline LIMIT ?)`,
  ),
  expireKeys: db.prepare<[number, number]>(
    `DELETE FROM idempotency_keys WHERE (topic_id, key) IN
       (SELECT topic_id, key FROM idempotency_keys WHERE timestamp < ? LIMIT ?)`,
  ),
}));

/** The leading messages of a partition to delete, at most `budget`: older than the cutoff, or while it holds more than it may. */
function expiredHead(db: Database, p: PartitionRetention, limits: RetentionLimits, budget: number): number[] {
  const expired: number[] = [];
  let held = p.bytes;
  for (const message of statements(db).oldest.iterate(p.topic_id, p.partition, budget)) {
    if (!expires(message.timestamp, held, limits)) break;
    expired.push(message.id);
    held -= message.bytes;
  }
  return expired;
}

/**
 * operation: sweep — retention. Deletes queue messages older than their
 * queue's retention (acknowledged or not, as SQS does), topic messages past
 * their topic's age or per-partition size limit, idempotency keys past the
 * window, and replies awaited until before `repliesBefore`, oldest first and
 * at most `budget` of each per call, so no tick holds the write lock long.
 * Messages are looked for in `partitions` partitions at most, after
 * `resumeAfter`.
 */
export function sweep(db: Database, options: SweepOptions): SweepResult {
  const held = holdLeases(db, { names: sweepLeases(options.holder), holder: options.holder, ttlMs: options.leaseMs, now: options.now });
  if (!held.includes(SWEEP_LEASE)) return sweptNothing(options);
  const s = statements(db);
  let expiredMessages = 0;
  let resumeAfter = options.resumeAfter;
  const slice = s.partitions.all({ ...sweepPosition(resumeAfter), limit: options.partitions });
  // Past the last partition the walk starts again from the first.
  let walked = slice.length < options.partitions;
  for (const p of slice) {
    const budget = options.budget - expiredMessages;
    const expired = expiredHead(db, p, retentionLimits(p, options.now), budget);
    if (expired.length > 0) {
      s.deliveries.run(p.topic_id, JSON.stringify(expired));
      deleteMessages(db, expired);
    }
    expiredMessages += expired.length;
    // Out of budget, this partition may hold more: the next call starts with it.
    if (expired.length === budget) {
      walked = false;
      break;
    }
    resumeAfter = sweepCursor(p);
  }
  const expiredKeys = s.expireKeys.run(options.now - options.idempotencyWindowMs, options.budget).changes;
  const expiredReplies = s.expireReplies.run(options.repliesBefore, options.budget).changes;
  return { expiredMessages, expiredKeys, expiredReplies, resumeAfter: walked ? null : resumeAfter };
}
