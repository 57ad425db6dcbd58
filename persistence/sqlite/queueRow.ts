import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors';
import { pageOf, prefixEnd } from '../rows/page';
import { QUEUE_SUBSCRIPTION, type QueueRow, type RawQueueRow, subscriptionNotFound, toQueueRecord, toQueueRow, toSubscriptionRecord } from '../rows/queueRow';
import type { Listed, PageRequest, QueueRecord, SubscriptionRecord, SubscriptionRef } from '../store';
import { type PageParameters, pageClause, pageParameters } from './page';
import { prepared } from './prepared';

/** The rows, with `subscriptionIndex` (`INDEXED BY …`) naming the index the subscriptions are read by, if one must be. */
const select = (subscriptionIndex = ''): string => `
  SELECT t.id AS topic_id, t.name, t.kind, s.name AS subscription_name, t.retention_ms, t.max_message_bytes,
         t.max_stored_messages, t.max_stored_bytes,
         t.created_at, t.updated_at,
         s.id AS subscription_id, s.visibility_timeout_ms, s.max_deliveries, s.dead_letter_topic_id,
         d.name AS dead_letter_queue, s.delay_ms, s.acked, s.dead_lettered, s.waiting, s.waiting_bytes,
         s.ordering, s.content_based_deduplication, s.receive_wait_ms,
         s.deduplication_scope, s.redrive_allow_policy, s.sqs_attributes
    FROM topics t
    JOIN subscriptions s ${subscriptionIndex} ON s.topic_id = t.id
    LEFT JOIN topics d ON d.id = s.dead_letter_topic_id`;
const SELECT = select();
const IS_QUEUE = `t.kind = 'queue' AND s.name = '${QUEUE_SUBSCRIPTION}'`;
const QUEUES = `${SELECT} WHERE ${IS_QUEUE}`;
const BY_BACKLOG = 'ORDER BY s.waiting DESC, s.topic_id LIMIT :limit';
export const TOP_QUEUES = `${select('INDEXED BY queues_by_backlog')} WHERE ${IS_QUEUE} ${BY_BACKLOG}`;
const TOPIC_SUBSCRIPTIONS = `${SELECT} WHERE t.kind = 'topic' AND t.name = ?`;

const statements = prepared((db) => ({
  byName: db.prepare<[string], RawQueueRow>(`${QUEUES} AND t.name = ?`),
  page: db.prepare<[PageParameters], RawQueueRow>(`${QUEUES} AND ${pageClause('t.name')}`),
  // Down queues_by_backlog, named: without statistics (no ANALYZE) the
  // planner would rather walk every name and sort.
  top: db.prepare<[{ limit: number }], RawQueueRow>(TOP_QUEUES),
  // Within a prefix, the names that have it, sorted.
  topWithPrefix: db.prepare<[Omit<PageParameters, 'after'>], RawQueueRow>(`${QUEUES} AND t.name >= :prefix AND t.name < :prefixEnd ${BY_BACKLOG}`),
  subscription: db.prepare<[string, string], RawQueueRow>(`${TOPIC_SUBSCRIPTIONS} AND s.name = ?`),
  subscriptions: db.prepare<[string, PageParameters], RawQueueRow>(`${TOPIC_SUBSCRIPTIONS} AND ${pageClause('s.name')}`),
  subscriptionIds: db.prepare<[number]>('SELECT id FROM subscriptions WHERE topic_id = ?').pluck(),
  // Apart from the row: produce, fetch and ack load rows and never need the tags.
  tags: db.prepare<[number], { key: string; value: string }>('SELECT key, value FROM queue_tags WHERE topic_id = ? ORDER BY key'),
}));

export function findQueueRow(db: Database, name: string): QueueRow | null {
  const raw = statements(db).byName.get(name);
  return raw === undefined ? null : toQueueRow(raw);
}

export function loadQueueRow(db: Database, name: string): QueueRow {
  return loadSubscription(db, { queue: name });
}

/** The topic id of a dead-letter queue named in settings, or `dead_letter_queue_not_found`; null for none. */
export function deadLetterTopicOf(db: Database, deadLetterQueue: string | null): number | null {
  if (deadLetterQueue === null) return null;
  const target = findQueueRow(db, deadLetterQueue);
  if (target === null) {
    throw new StoreError({ code: 'dead_letter_queue_not_found', queue: deadLetterQueue });
  }
  return target.topicId;
}

export function findSubscriptionRow(db: Database, topic: string, subscription: string): QueueRow | null {
  const raw = statements(db).subscription.get(topic, subscription);
  return raw === undefined ? null : toQueueRow(raw);
}

/** The queue subscription a ref names, or `subscriptionNotFound`. */
export function loadSubscription(db: Database, ref: SubscriptionRef): QueueRow {
  const row = 'queue' in ref ? findQueueRow(db, ref.queue) : findSubscriptionRow(db, ref.topic, ref.subscription);
  if (row === null) throw subscriptionNotFound(ref);
  return row;
}

export function queueRowPage(db: Database, page: PageRequest): Listed<QueueRow> {
  return pageOf(statements(db).page.all(pageParameters(page)).map(toQueueRow), page, (row) => row.name);
}

/** The queues with the most messages waiting. */
export function topQueueRows(db: Database, prefix: string, limit: number): QueueRow[] {
  const s = statements(db);
  const rows = prefix === '' ? s.top.all({ limit }) : s.topWithPrefix.all({ prefix, prefixEnd: prefixEnd(prefix), limit });
  return rows.map(toQueueRow);
}

export function subscriptionPage(db: Database, topic: string, page: PageRequest): Listed<SubscriptionRecord> {
  const records = statements(db).subscriptions.all(topic, pageParameters(page)).map((raw) => toSubscriptionRecord(toQueueRow(raw)));
  return pageOf(records, page, (record) => record.name);
}

/** Ids of every queue subscription of a topic, which each appended message gets a delivery row for. */
export function subscriptionIdsOf(db: Database, topicId: number): number[] {
  return statements(db).subscriptionIds.all(topicId) as number[];
}

/** The public face of a queue's row, with its tags. */
export function queueRecord(db: Database, row: QueueRow): QueueRecord {
  return toQueueRecord(row, statements(db).tags.all(row.topicId));
}
