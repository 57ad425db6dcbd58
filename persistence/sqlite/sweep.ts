import type { Database } from 'better-sqlite3';
import type { SweepOptions, SweepResult } from '../store';
import { deleteMessages } from './messageRow';
import { prepared } from './prepared';
import { removeMessages } from './removeMessages';

interface QueueRetention {
  topic_id: number;
  subscription_id: number;
  retention_ms: number;
}

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
  queues: db.prepare<[], QueueRetention>(
    `SELECT t.id AS topic_id, s.id AS subscription_id, t.retention_ms
       FROM topics t JOIN subscriptions s ON s.topic_id = t.id
      WHERE t.kind = 'queue' AND s.name = '$queue'`,
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
 * their topic's age or per-partition size limit, and idempotency keys past the
 * window, oldest first and at most `budget` of each per call, so no tick holds
 * the write lock long.
 */
export function sweep(db: Database, options: SweepOptions): SweepResult {
  const s = statements(db);
  let expiredMessages = 0;
  const budget = (): number => options.budget - expiredMessages;
  for (const queue of s.queues.all()) {
    if (budget() <= 0) break;
    const at = { topicId: queue.topic_id, partition: 0, budget: budget() };
    const expired = expiredHead(db, at, options.now - queue.retention_ms, 0, Infinity);
    removeMessages(db, queue.subscription_id, expired);
    expiredMessages += expired.length;
  }
  for (const p of s.partitions.all()) {
    if (budget() <= 0) break;
    const cutoff = p.retention_ms === null ? -Infinity : options.now - p.retention_ms;
    const at = { topicId: p.topic_id, partition: p.partition, budget: budget() };
    const expired = expiredHead(db, at, cutoff, p.bytes, p.retention_bytes ?? Infinity);
    if (expired.length > 0) deleteMessages(db, expired);
    expiredMessages += expired.length;
  }
  const expiredKeys = s.expireKeys.run(options.now - options.idempotencyWindowMs, options.budget).changes;
  return { expiredMessages, expiredKeys };
}
