import type { Database } from 'better-sqlite3';
import type { SweepOptions, SweepResult } from '../store';
import { deleteMessages } from './messageRow';
import { prepared } from './prepared';
import { allQueueRows } from './queueRow';
import { removeMessages } from './removeMessages';

interface PartitionRetention {
  topic_id: number;
  partition: number;
  retention_ms: number | null;
  retention_bytes: number | null;
  bytes: number;
}

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
  partitions: db.prepare<[], PartitionRetention>(
    `SELECT t.id AS topic_id, p.partition, t.retention_ms, t.retention_bytes, p.bytes
       FROM topics t JOIN partitions p ON p.topic_id = t.id
      WHERE t.kind = 'topic' AND (t.retention_ms IS NOT NULL OR t.retention_bytes IS NOT NULL)`,
  ),
  // Oldest first along messages_by_offset: a bounded range read, never a scan.
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

/** The leading messages of a partition to delete: older than `cutoff`, or while it holds more than `maxBytes`. */
function expiredHead(
  db: Database,
  at: { topicId: number; partition: number; budget: number },
  cutoff: number,
  bytes: number,
  maxBytes: number,
): number[] {
  const expired: number[] = [];
  let held = bytes;
  for (const message of statements(db).oldest.all(at.topicId, at.partition, at.budget)) {
    if (message.timestamp >= cutoff && held <= maxBytes) break;
    expired.push(message.id);
    held -= message.bytes;
  }
  return expired;
}

/**
 * operation: sweep — retention. Deletes queue messages older than their
 * queue's retention (acknowledged or not, as SQS does), topic messages past
 * their topic's age or per-partition size limit, idempotency keys past the
 * window, and replies awaited until before `repliesBefore`, oldest first and at most `budget` of each per call, so no tick holds
 * the write lock long.
 */
export function sweep(db: Database, options: SweepOptions): SweepResult {
  const s = statements(db);
  let expiredMessages = 0;
  const budget = (): number => options.budget - expiredMessages;
  for (const queue of allQueueRows(db)) {
    if (budget() <= 0) break;
    const at = { topicId: queue.topicId, partition: 0, budget: budget() };
    const expired = expiredHead(db, at, options.now - queue.retentionMs, 0, Infinity);
    removeMessages(db, queue, expired);
    expiredMessages += expired.length;
  }
  for (const p of s.partitions.all()) {
    if (budget() <= 0) break;
    const cutoff = p.retention_ms === null ? -Infinity : options.now - p.retention_ms;
    const at = { topicId: p.topic_id, partition: p.partition, budget: budget() };
    const expired = expiredHead(db, at, cutoff, p.bytes, p.retention_bytes ?? Infinity);
    if (expired.length > 0) {
      s.deliveries.run(p.topic_id, JSON.stringify(expired));
      deleteMessages(db, expired);
    }
    expiredMessages += expired.length;
  }
  const expiredKeys = s.expireKeys.run(options.now - options.idempotencyWindowMs, options.budget).changes;
  const expiredReplies = s.expireReplies.run(options.repliesBefore, options.budget).changes;
  return { expiredMessages, expiredKeys, expiredReplies };
}
