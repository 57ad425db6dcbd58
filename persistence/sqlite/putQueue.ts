import type { Database } from 'better-sqlite3';
import { NO_GROUP } from '../rows/appendTarget';
import { QUEUE_SUBSCRIPTION } from '../rows/queueRow';
import { sameQueueSettings } from '../rows/settingsChange';
import type { QueueRecord, QueueSettings } from '../store';
import { prepared } from './prepared';
import { deadLetterTopicOf, findQueueRow, queueRecord } from './queueRow';
import { claimName } from './topicRow';

const statements = prepared((db) => ({
  insertTopic: db.prepare<[string, number, number, number | null, number | null, number, number]>(
    `INSERT INTO topics (name, kind, partitions, retention_ms, max_message_bytes, max_stored_messages, max_stored_bytes,
                         created_at, updated_at)
     VALUES (?, 'queue', 1, ?, ?, ?, ?, ?, ?)`,
  ),
  insertPartition: db.prepare<[number | bigint]>('INSERT INTO partitions (topic_id, partition) VALUES (?, 0)'),
  insertSubscription: db.prepare<[number | bigint, number, number | null, number | null, number, ...FifoColumns]>(
    `INSERT INTO subscriptions (topic_id, name, visibility_timeout_ms, max_deliveries, dead_letter_topic_id, delay_ms,
                                ordering, content_based_deduplication, receive_wait_ms,
                                deduplication_scope, redrive_allow_policy, sqs_attributes)
     VALUES (?, '${QUEUE_SUBSCRIPTION}', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ),
  updateTopic: db.prepare<[number, number, number | null, number | null, number, number]>(
    `UPDATE topics SET retention_ms = ?, max_message_bytes = ?, max_stored_messages = ?, max_stored_bytes = ?, updated_at = ?
      WHERE id = ?`,
  ),
  updateSubscription: db.prepare<[number, number | null, number | null, number, ...FifoColumns, number]>(
    `UPDATE subscriptions SET visibility_timeout_ms = ?, max_deliveries = ?, dead_letter_topic_id = ?, delay_ms = ?,
                              ordering = ?, content_based_deduplication = ?, receive_wait_ms = ?,
                              deduplication_scope = ?, redrive_allow_policy = ?, sqs_attributes = ?
      WHERE id = ?`,
  ),
  // A queue that becomes FIFO gives its deliveries their messages' groups; one that stops being FIFO takes them away (deliveryGroup).
  regroup: db.prepare<{ subscription: number; fifo: number; none: string }>(
    `UPDATE deliveries SET group_id = CASE WHEN :fifo THEN coalesce((SELECT group_id FROM messages WHERE id = deliveries.message_id), :none) END
      WHERE subscription_id = :subscription`,
  ),
  clearTags: db.prepare<[number | bigint]>('DELETE FROM queue_tags WHERE topic_id = ?'),
  insertTag: db.prepare<[number | bigint, string, string]>('INSERT INTO queue_tags (topic_id, key, value) VALUES (?, ?, ?)'),
}));

type FifoColumns = [string, number, number, string, string | null, string];

/** The subscription columns of the settings, in the order both statements take them after the dead-letter queue. */
function fifoColumns(settings: QueueSettings): FifoColumns {
  return [
    settings.ordering,
    settings.contentBasedDeduplication ? 1 : 0,
    settings.receiveWaitMs,
    settings.deduplicationScope,
    settings.redriveAllowPolicy === null ? null : JSON.stringify(settings.redriveAllowPolicy),
    JSON.stringify(settings.sqsAttributes),
  ];
}

/** A queue's tags become exactly `tags`. */
function replaceTags(db: Database, topicId: number | bigint, tags: Record<string, string>): void {
  const s = statements(db);
  s.clearTags.run(topicId);
  for (const [key, value] of Object.entries(tags)) s.insertTag.run(topicId, key, value);
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
      ...fifoColumns(settings),
    );
    replaceTags(db, topicId, settings.tags);
    return { queue: reload(db, name), created: true };
  }
  if (!sameQueueSettings(queueRecord(db, existing), settings)) {
    const { retentionMs, maxMessageBytes, maxStoredMessages, maxStoredBytes } = settings;
    s.updateTopic.run(retentionMs, maxMessageBytes, maxStoredMessages, maxStoredBytes, now, existing.topicId);
    s.updateSubscription.run(
      settings.visibilityTimeoutMs,
      settings.maxDeliveries,
      deadLetterTopicId,
      settings.delayMs,
      ...fifoColumns(settings),
      existing.subscriptionId,
    );
    if (existing.ordering !== settings.ordering) {
      s.regroup.run({ subscription: existing.subscriptionId, fifo: settings.ordering === 'fifo' ? 1 : 0, none: NO_GROUP });
    }
    replaceTags(db, existing.topicId, settings.tags);
  }
  return { queue: reload(db, name), created: false };
}

function reload(db: Database, name: string): QueueRecord {
  const row = findQueueRow(db, name);
  if (row === null) throw new Error(`queue ${name} vanished inside its own transaction`);
  return queueRecord(db, row);
}
