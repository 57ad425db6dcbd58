import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors';
import type { Listed, PageRequest, QueueRecord, SubscriptionRecord, SubscriptionRef } from '../store';
import type { AppendTarget } from './append';
import { type PageParameters, pageClause, pageOf, pageParameters, prefixEnd } from './page';
import { prepared } from './prepared';

/** The name of the one queue subscription of a queue; user names cannot start with `$`. */
export const QUEUE_SUBSCRIPTION = '$queue';

/**
 * A queue subscription as the other SQLite operations need it: a queue's own
 * (kind 'queue': acked messages are deleted) or one of a topic's (kind
 * 'topic': messages stay for the topic's other readers).
 */
export interface QueueRow extends Omit<QueueRecord, 'tags' | 'subscriptionId'> {
  /** The subscription id, as this backend keeps it: a row id. */
  subscriptionId: number;
  kind: 'queue' | 'topic';
  /** The subscription's name within a topic; null for a queue's own. */
  subscription: string | null;
  topicId: number;
  deadLetterTopicId: number | null;
  produced: number;
  acked: number;
  deadLettered: number;
  /** Delivery rows of the subscription, in every state, and their value bytes (migration 008). */
  waiting: number;
  waitingBytes: number;
}

interface RawQueueRow {
  topic_id: number;
  name: string;
  kind: 'queue' | 'topic';
  subscription_name: string;
  retention_ms: number;
  max_message_bytes: number;
  max_stored_messages: number | null;
  max_stored_bytes: number | null;
  produced: number;
  created_at: number;
  updated_at: number;
  subscription_id: number;
  visibility_timeout_ms: number;
  max_deliveries: number | null;
  dead_letter_topic_id: number | null;
  dead_letter_queue: string | null;
  delay_ms: number;
  acked: number;
  dead_lettered: number;
  waiting: number;
  waiting_bytes: number;
  ordering: 'standard' | 'fifo';
  content_based_deduplication: number;
  receive_wait_ms: number;
}

/** The rows, with `subscriptionIndex` (`INDEXED BY …`) naming the index the subscriptions are read by, if one must be. */
const select = (subscriptionIndex = ''): string => `
  SELECT t.id AS topic_id, t.name, t.kind, s.name AS subscription_name, t.retention_ms, t.max_message_bytes,
         t.max_stored_messages, t.max_stored_bytes,
         t.produced, t.created_at, t.updated_at,
         s.id AS subscription_id, s.visibility_timeout_ms, s.max_deliveries, s.dead_letter_topic_id,
         d.name AS dead_letter_queue, s.delay_ms, s.acked, s.dead_lettered, s.waiting, s.waiting_bytes,
         s.ordering, s.content_based_deduplication, s.receive_wait_ms
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

function toQueueRow(raw: RawQueueRow): QueueRow {
  return {
    name: raw.name,
    kind: raw.kind,
    subscription: raw.kind === 'topic' ? raw.subscription_name : null,
    topicId: raw.topic_id,
    subscriptionId: raw.subscription_id,
    visibilityTimeoutMs: raw.visibility_timeout_ms,
    maxDeliveries: raw.max_deliveries,
    deadLetterQueue: raw.dead_letter_queue,
    deadLetterTopicId: raw.dead_letter_topic_id,
    delayMs: raw.delay_ms,
    retentionMs: raw.retention_ms,
    maxMessageBytes: raw.max_message_bytes,
    maxStoredMessages: raw.max_stored_messages,
    maxStoredBytes: raw.max_stored_bytes,
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
    produced: raw.produced,
    acked: raw.acked,
    deadLettered: raw.dead_lettered,
    waiting: raw.waiting,
    waitingBytes: raw.waiting_bytes,
    ordering: raw.ordering,
    contentBasedDeduplication: raw.content_based_deduplication === 1,
    receiveWaitMs: raw.receive_wait_ms,
  };
}

export function findQueueRow(db: Database, name: string): QueueRow | null {
  const raw = statements(db).byName.get(name);
  return raw === undefined ? null : toQueueRow(raw);
}

export function loadQueueRow(db: Database, name: string): QueueRow {
  const row = findQueueRow(db, name);
  if (row === null) throw new StoreError({ code: 'queue_not_found', queue: name });
  return row;
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

/** The queue subscription a ref names, or `queue_not_found` / `subscription_not_found`. */
export function loadSubscription(db: Database, ref: SubscriptionRef): QueueRow {
  if ('queue' in ref) return loadQueueRow(db, ref.queue);
  const row = findSubscriptionRow(db, ref.topic, ref.subscription);
  if (row === null) {
    throw new StoreError({ code: 'subscription_not_found', topic: ref.topic, subscription: ref.subscription });
  }
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

/** The public face of a queue's row: internal ids and counters stripped. */
export function toQueueRecord(db: Database, row: QueueRow): QueueRecord {
  return {
    name: row.name,
    subscriptionId: String(row.subscriptionId),
    visibilityTimeoutMs: row.visibilityTimeoutMs,
    maxDeliveries: row.maxDeliveries,
    deadLetterQueue: row.deadLetterQueue,
    delayMs: row.delayMs,
    retentionMs: row.retentionMs,
    maxMessageBytes: row.maxMessageBytes,
    maxStoredMessages: row.maxStoredMessages,
    maxStoredBytes: row.maxStoredBytes,
    ordering: row.ordering,
    contentBasedDeduplication: row.contentBasedDeduplication,
    receiveWaitMs: row.receiveWaitMs,
    tags: Object.fromEntries(statements(db).tags.all(row.topicId).map(({ key, value }) => [key, value])),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function toSubscriptionRecord(row: QueueRow): SubscriptionRecord {
  return {
    topic: row.name,
    name: row.subscription ?? QUEUE_SUBSCRIPTION,
    visibilityTimeoutMs: row.visibilityTimeoutMs,
    maxDeliveries: row.maxDeliveries,
    deadLetterQueue: row.deadLetterQueue,
  };
}

/** A queue as a place to append to: its topic and its one subscription; no quota unless the caller adds it. */
export function queueTarget(row: QueueRow): AppendTarget {
  return { name: row.name, topicId: row.topicId, subscriptionIds: [row.subscriptionId], kind: 'queue', quota: null };
}
