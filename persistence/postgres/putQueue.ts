import { NO_GROUP } from '../rows/appendTarget';
import { QUEUE_SUBSCRIPTION } from '../rows/queueRow';
import { sameQueueSettings } from '../rows/settingsChange';
import type { QueueRecord, QueueSettings } from '../store';
import type { Queryable } from './connection';
import { deadLetterTopicOf, loadQueueRow, queueRecord } from './queueRow';
import { claimName } from './topicRow';

const STATEMENTS = {
  // A queue that becomes FIFO gives its deliveries their messages' groups; one that stops being FIFO takes them away (deliveryGroup).
  regroup: {
    name: 'putQueue-regroup',
    text: `UPDATE deliveries d SET group_id = CASE WHEN $2::boolean THEN coalesce(m.group_id, $3::text) END
             FROM messages m WHERE d.subscription_id = $1 AND m.id = d.message_id`,
  },
  insertPartition: { name: 'putQueue-insertPartition', text: 'INSERT INTO partitions (topic_id, partition) VALUES ($1, 0)' },
  insertSubscription: {
    name: 'putQueue-insertSubscription',
    text: `INSERT INTO subscriptions (topic_id, name, visibility_timeout_ms, max_deliveries, dead_letter_topic_id, delay_ms,
                                      ordering, content_based_deduplication, receive_wait_ms,
                                      deduplication_scope, redrive_allow_policy, sqs_attributes)
           VALUES ($1, '${QUEUE_SUBSCRIPTION}', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
  },
  updateTopic: {
    name: 'putQueue-updateTopic',
    text: `UPDATE topics SET retention_ms = $1, max_message_bytes = $2, max_stored_messages = $3, max_stored_bytes = $4, updated_at = $5
            WHERE id = $6`,
  },
  updateSubscription: {
    name: 'putQueue-updateSubscription',
    text: `UPDATE subscriptions SET visibility_timeout_ms = $2, max_deliveries = $3, dead_letter_topic_id = $4, delay_ms = $5,
                                    ordering = $6, content_based_deduplication = $7, receive_wait_ms = $8,
                                    deduplication_scope = $9, redrive_allow_policy = $10, sqs_attributes = $11
            WHERE id = $1`,
  },
  // The tags become exactly the given ones, in one statement each way.
  clearTags: { name: 'putQueue-clearTags', text: 'DELETE FROM queue_tags WHERE topic_id = $1' },
  insertTags: {
    name: 'putQueue-insertTags',
    text: 'INSERT INTO queue_tags (topic_id, key, value) SELECT $1, key, value FROM unnest($2::text[], $3::text[]) AS t (key, value)',
  },
};

/** The subscription's settings as both statements take them after its id (or topic id): $2 to $11. */
function subscriptionColumns(settings: QueueSettings, deadLetterTopicId: number | null): unknown[] {
  return [
    settings.visibilityTimeoutMs,
    settings.maxDeliveries,
    deadLetterTopicId,
    settings.delayMs,
    settings.ordering,
    settings.contentBasedDeduplication,
    settings.receiveWaitMs,
    settings.deduplicationScope,
    settings.redriveAllowPolicy === null ? null : JSON.stringify(settings.redriveAllowPolicy),
    JSON.stringify(settings.sqsAttributes),
  ];
}

/** A queue's tags become exactly `tags`. */
async function replaceTags(tx: Queryable, topicId: number, tags: Record<string, string>): Promise<void> {
  await tx.query({ ...STATEMENTS.clearTags, values: [topicId] });
  const entries = Object.entries(tags);
  if (entries.length === 0) return;
  await tx.query({ ...STATEMENTS.insertTags, values: [topicId, entries.map(([key]) => key), entries.map(([, value]) => value)] });
}

/**
 * operation: putQueue — create, or update in place; an unchanged PUT changes
 * nothing. The name is claimed first (claimName: inserted, or its row locked),
 * so concurrent puts of one name never both create it and each compares with
 * what the one before it committed.
 */
export async function putQueue(
  tx: Queryable,
  name: string,
  settings: QueueSettings,
  now: number,
): Promise<{ queue: QueueRecord; created: boolean }> {
  const { topicId, created } = await claimName(tx, name, 'queue', { ...settings, partitions: 1, retentionBytes: null }, now);
  const deadLetterTopicId = await deadLetterTopicOf(tx, settings.deadLetterQueue);
  if (created) {
    await tx.query({ ...STATEMENTS.insertPartition, values: [topicId] });
    await tx.query({ ...STATEMENTS.insertSubscription, values: [topicId, ...subscriptionColumns(settings, deadLetterTopicId)] });
  } else {
    const row = await loadQueueRow(tx, name);
    const existing = await queueRecord(tx, row);
    if (sameQueueSettings(existing, settings)) return { queue: existing, created };
    const { retentionMs, maxMessageBytes, maxStoredMessages, maxStoredBytes } = settings;
    await tx.query({ ...STATEMENTS.updateTopic, values: [retentionMs, maxMessageBytes, maxStoredMessages, maxStoredBytes, now, topicId] });
    await tx.query({ ...STATEMENTS.updateSubscription, values: [row.subscriptionId, ...subscriptionColumns(settings, deadLetterTopicId)] });
    if (row.ordering !== settings.ordering) {
      await tx.query({ ...STATEMENTS.regroup, values: [row.subscriptionId, settings.ordering === 'fifo', NO_GROUP] });
    }
  }
  await replaceTags(tx, topicId, settings.tags);
  return { queue: await queueRecord(tx, await loadQueueRow(tx, name)), created };
}
