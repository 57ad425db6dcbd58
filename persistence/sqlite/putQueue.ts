import type { Database } from 'better-sqlite3';
import type { QueueRecord, QueueSettings } from '../store';
import { prepared } from './prepared';
import { QUEUE_SUBSCRIPTION, deadLetterTopicOf, findQueueRow, toQueueRecord } from './queueRow';
import { claimName } from './topicRow';

const statements = prepared((db) => ({
  insertTopic: db.prepare<[string, number, number, number | null, number | null, number, number]>(
    `INSERT INTO topics (name, kind, partitions, retention_ms, max_message_bytes, max_stored_messages, max_stored_bytes,
                         created_at, updated_at)
     VALUES (?, 'queue', 1, ?, ?, ?, ?, ?, ?)`,
  ),
  insertPartition: db.prepare<[number | bigint]>('INSERT INTO partitions (topic_id, partition) VALUES (?, 0)'),
  insertSubscription: db.prepare<[number | bigint, number, number | null, number | null, number]>(
    `INSERT INTO subscriptions (topic_id, name, visibility_timeout_ms, max_deliveries, dead_letter_topic_id, delay_ms)
     VALUES (?, '${QUEUE_SUBSCRIPTION}', ?, ?, ?, ?)`,
  ),
  updateTopic: db.prepare<[number, number, number | null, number | null, number, number]>(
    `UPDATE topics SET retention_ms = ?, max_message_bytes = ?, max_stored_messages = ?, max_stored_bytes = ?, updated_at = ?
      WHERE id = ?`,
  ),
  updateSubscription: db.prepare<[number, number | null, number | null, number, number]>(
    `UPDATE subscriptions SET visibility_timeout_ms = ?, max_deliveries = ?, dead_letter_topic_id = ?, delay_ms = ?
      WHERE id = ?`,
  ),
}));

function sameSettings(a: QueueSettings, b: QueueSettings): boolean {
  return (
    a.visibilityTimeoutMs === b.visibilityTimeoutMs &&
    a.maxDeliveries === b.maxDeliveries &&
    a.deadLetterQueue === b.deadLetterQueue &&
    a.delayMs === b.delayMs &&
    a.retentionMs === b.retentionMs &&
    a.maxMessageBytes === b.maxMessageBytes &&
    a.maxStoredMessages === b.maxStoredMessages &&
    a.maxStoredBytes === b.maxStoredBytes
  );
}

/** operation: putQueue — create, or update in place; an unchanged PUT changes nothing. */
export function putQueue(
  db: Database,
  name: string,
  settings: QueueSettings,
  now: number,
): { queue: QueueRecord; created: boolean } {
  const s = statements(db);
  claimName(db, name, 'queue');
  const deadLetterTopicId = deadLetterTopicOf(db, settings.deadLetterQueue);
  const existing = findQueueRow(db, name);
  if (existing === null) {
    const { retentionMs, maxMessageBytes, maxStoredMessages, maxStoredBytes } = settings;
    const topicId = s.insertTopic.run(name, retentionMs, maxMessageBytes, maxStoredMessages, maxStoredBytes, now, now)
      .lastInsertRowid;
    s.insertPartition.run(topicId);
    s.insertSubscription.run(
      topicId,
      settings.visibilityTimeoutMs,
      settings.maxDeliveries,
      deadLetterTopicId,
      settings.delayMs,
    );
    return { queue: reload(db, name), created: true };
  }
  if (!sameSettings(existing, settings)) {
    const { retentionMs, maxMessageBytes, maxStoredMessages, maxStoredBytes } = settings;
    s.updateTopic.run(retentionMs, maxMessageBytes, maxStoredMessages, maxStoredBytes, now, existing.topicId);
    s.updateSubscription.run(
      settings.visibilityTimeoutMs,
      settings.maxDeliveries,
      deadLetterTopicId,
      settings.delayMs,
      existing.subscriptionId,
    );
  }
  return { queue: reload(db, name), created: false };
}

function reload(db: Database, name: string): QueueRecord {
  const row = findQueueRow(db, name);
  if (row === null) throw new Error(`queue ${name} vanished inside its own transaction`);
  return toQueueRecord(row);
}
