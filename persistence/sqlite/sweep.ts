import type { Database } from 'better-sqlite3';
import type { SweepOptions, SweepResult } from '../store';
import { prepared } from './prepared';
import { removeMessages } from './removeMessages';

interface QueueRetention {
  topic_id: number;
  subscription_id: number;
  retention_ms: number;
}

interface Oldest {
  id: number;
  timestamp: number;
}

const statements = prepared((db) => ({
  queues: db.prepare<[], QueueRetention>(
    `SELECT t.id AS topic_id, s.id AS subscription_id, t.retention_ms
       FROM topics t JOIN subscriptions s ON s.topic_id = t.id
      WHERE t.kind = 'queue' AND s.name = '$queue'`,
  ),
  // Oldest first along messages_by_offset: a bounded range read, never a scan.
  oldest: db.prepare<[number, number], Oldest>(
    'SELECT id, timestamp FROM messages WHERE topic_id = ? AND partition = 0 ORDER BY offset LIMIT ?',
  ),
  expireKeys: db.prepare<[number, number]>(
    `DELETE FROM idempotency_keys WHERE (topic_id, key) IN
       (SELECT topic_id, key FROM idempotency_keys WHERE timestamp < ? LIMIT ?)`,
  ),
}));

/**
 * operation: sweep — retention. Deletes messages older than their queue's
 * retention (acknowledged or not, as SQS does) and idempotency keys past the
 * window, at most `budget` of each per call so no tick holds the write lock long.
 */
export function sweep(db: Database, options: SweepOptions): SweepResult {
  const s = statements(db);
  let expiredMessages = 0;
  for (const queue of s.queues.all()) {
    const budget = options.budget - expiredMessages;
    if (budget <= 0) break;
    const cutoff = options.now - queue.retention_ms;
    const expired: number[] = [];
    for (const message of s.oldest.all(queue.topic_id, budget)) {
      if (message.timestamp >= cutoff) break;
      expired.push(message.id);
    }
    removeMessages(db, queue.subscription_id, expired);
    expiredMessages += expired.length;
  }
  const expiredKeys = s.expireKeys.run(options.now - options.idempotencyWindowMs, options.budget).changes;
  return { expiredMessages, expiredKeys };
}
