import { StoreError } from '../errors';
import { toSubscriptionRecord } from '../rows/queueRow';
import type { SubscriptionRecord, SubscriptionSettings } from '../store';
import type { Queryable } from './connection';
import { deadLetterTopicOf, findSubscriptionRow, loadSubscription } from './queueRow';

const STATEMENTS = {
  // Appends hold the topic's row key-share locked from before they read its queue subscriptions until they commit
  // (topicTarget): with it locked FOR UPDATE, none is open while the subscriptions change, so each append fans out
  // to exactly the queue subscriptions that exist when it commits.
  lockTopic: { name: 'putSubscription-lockTopic', text: "SELECT id FROM topics WHERE name = $1 AND kind = 'topic' FOR UPDATE" },
  insert: {
    name: 'putSubscription-insert',
    text: `INSERT INTO subscriptions (topic_id, name, visibility_timeout_ms, max_deliveries, dead_letter_topic_id, delay_ms)
           VALUES ($1, $2, $3, $4, $5, 0) RETURNING id`,
  },
  update: {
    name: 'putSubscription-update',
    text: 'UPDATE subscriptions SET visibility_timeout_ms = $2, max_deliveries = $3, dead_letter_topic_id = $4 WHERE id = $1',
  },
  // Delivery rows only: the bodies stay where they are, shared by every reader of the topic.
  backfill: {
    name: 'putSubscription-backfill',
    text: `INSERT INTO deliveries (subscription_id, message_id, available_at, bytes)
           SELECT $1, id, $2, length(value) FROM messages WHERE topic_id = $3`,
  },
  delete: { name: 'putSubscription-delete', text: 'DELETE FROM subscriptions WHERE topic_id = $1 AND name = $2' },
};

/** The topic's id, its row locked against appends until the caller commits; null when there is no such topic. */
async function lockTopic(tx: Queryable, topic: string): Promise<number | null> {
  const { rows } = await tx.query<{ id: number }>({ ...STATEMENTS.lockTopic, values: [topic] });
  return rows.length === 0 ? null : rows[0].id;
}

/**
 * operation: putSubscription — create (from the next message, or every
 * retained one), or update in place. Puts of one topic's subscriptions take
 * turns on the topic's row, so two creating the same name never both insert.
 */
export async function putSubscription(
  tx: Queryable,
  topic: string,
  name: string,
  settings: SubscriptionSettings,
  fromEarliest: boolean,
  now: number,
): Promise<{ subscription: SubscriptionRecord; created: boolean }> {
  const topicId = await lockTopic(tx, topic);
  if (topicId === null) throw new StoreError({ code: 'topic_not_found', topic });
  const deadLetterTopicId = await deadLetterTopicOf(tx, settings.deadLetterQueue);
  const existing = await findSubscriptionRow(tx, topic, name);
  if (existing === null) {
    const { rows } = await tx.query<{ id: number }>({
      ...STATEMENTS.insert,
      values: [topicId, name, settings.visibilityTimeoutMs, settings.maxDeliveries, deadLetterTopicId],
    });
    if (fromEarliest) await tx.query({ ...STATEMENTS.backfill, values: [rows[0].id, now, topicId] });
  } else {
    await tx.query({
      ...STATEMENTS.update,
      values: [existing.subscriptionId, settings.visibilityTimeoutMs, settings.maxDeliveries, deadLetterTopicId],
    });
  }
  return { subscription: toSubscriptionRecord(await loadSubscription(tx, { topic, subscription: name })), created: existing === null };
}

/**
 * operation: deleteSubscription — its lease state goes; the topic's messages
 * stay. Under the topic's lock too: an append open meanwhile would add
 * delivery rows to a subscription that is gone.
 */
export async function deleteSubscription(tx: Queryable, topic: string, name: string): Promise<void> {
  const topicId = await lockTopic(tx, topic);
  const deleted = topicId === null ? 0 : (await tx.query({ ...STATEMENTS.delete, values: [topicId, name] })).rowCount;
  if (deleted === 0) throw new StoreError({ code: 'subscription_not_found', topic, subscription: name });
}
