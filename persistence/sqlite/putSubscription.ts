import type { Database } from 'better-sqlite3';
import { toSubscriptionRecord } from '../rows/queueRow';
import type { SubscriptionRecord, SubscriptionSettings } from '../store';
import { prepared } from './prepared';
import { deadLetterTopicOf, findSubscriptionRow, loadSubscription } from './queueRow';
import { loadTopicRow } from './topicRow';
import { addWaiting } from './waiting';

const statements = prepared((db) => ({
  insert: db.prepare<[number, string, number, number | null, number | null]>(
    `INSERT INTO subscriptions (topic_id, name, visibility_timeout_ms, max_deliveries, dead_letter_topic_id, delay_ms)
     VALUES (?, ?, ?, ?, ?, 0)`,
  ),
  update: db.prepare<[number, number | null, number | null, number]>(
    'UPDATE subscriptions SET visibility_timeout_ms = ?, max_deliveries = ?, dead_letter_topic_id = ? WHERE id = ?',
  ),
  // Delivery rows only: the bodies stay where they are, shared by every reader of the topic.
  backfill: db.prepare<[number, number, number]>(
    `INSERT INTO deliveries (subscription_id, message_id, available_at, bytes)
     SELECT ?, id, ?, length(value) FROM messages WHERE topic_id = ?`,
  ),
  // What the backfill added: a new subscription's only rows.
  backfilled: db.prepare<[number], { rows: number; bytes: number }>(
    'SELECT count(*) AS rows, coalesce(sum(bytes), 0) AS bytes FROM deliveries WHERE subscription_id = ?',
  ),
  delete: db.prepare<[number]>('DELETE FROM subscriptions WHERE id = ?'),
}));

/** operation: putSubscription — create (from the next message, or every retained one), or update in place. */
export function putSubscription(
  db: Database,
  topic: string,
  name: string,
  settings: SubscriptionSettings,
  fromEarliest: boolean,
  now: number,
): { subscription: SubscriptionRecord; created: boolean } {
  const s = statements(db);
  const { topicId } = loadTopicRow(db, topic);
  const deadLetterTopicId = deadLetterTopicOf(db, settings.deadLetterQueue);
  const existing = findSubscriptionRow(db, topic, name);
  if (existing === null) {
    const id = Number(s.insert.run(topicId, name, settings.visibilityTimeoutMs, settings.maxDeliveries, deadLetterTopicId).lastInsertRowid);
    if (fromEarliest) {
      s.backfill.run(id, now, topicId);
      const added = s.backfilled.get(id) ?? { rows: 0, bytes: 0 };
      addWaiting(db, id, added.rows, added.bytes);
    }
  } else {
    s.update.run(settings.visibilityTimeoutMs, settings.maxDeliveries, deadLetterTopicId, existing.subscriptionId);
  }
  return { subscription: toSubscriptionRecord(loadSubscription(db, { topic, subscription: name })), created: existing === null };
}

/** operation: deleteSubscription — its lease state goes; the topic's messages stay. */
export function deleteSubscription(db: Database, topic: string, name: string): void {
  statements(db).delete.run(loadSubscription(db, { topic, subscription: name }).subscriptionId);
}
