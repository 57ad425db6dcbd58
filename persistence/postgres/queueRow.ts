import { StoreError } from '../errors';
import { pageOf, prefixEnd } from '../rows/page';
import { QUEUE_SUBSCRIPTION, type QueueRow, type RawQueueRow, subscriptionNotFound, toQueueRecord, toQueueRow, toSubscriptionRecord } from '../rows/queueRow';
import type { Listed, PageRequest, QueueRecord, SubscriptionRecord, SubscriptionRef } from '../store';
import type { Queryable } from './connection';
import { pageClause, pageParameters } from './page';

/** The rows, with their subscriptions read from `subscriptions` (the table, or a subquery of it). */
const select = (subscriptions = 'subscriptions'): string => `
  SELECT t.id AS topic_id, t.name, t.kind, s.name AS subscription_name, t.retention_ms, t.max_message_bytes,
         t.max_stored_messages, t.max_stored_bytes,
         t.created_at, t.updated_at,
         s.id AS subscription_id, s.visibility_timeout_ms, s.max_deliveries, s.dead_letter_topic_id,
         d.name AS dead_letter_queue, s.delay_ms, s.acked, s.dead_lettered, s.waiting, s.waiting_bytes,
         s.ordering, s.content_based_deduplication, s.receive_wait_ms,
         s.deduplication_scope, s.redrive_allow_policy, s.sqs_attributes
    FROM topics t
    JOIN ${subscriptions} s ON s.topic_id = t.id
    LEFT JOIN topics d ON d.id = s.dead_letter_topic_id`;
const IS_QUEUE = `t.kind = 'queue' AND s.name = '${QUEUE_SUBSCRIPTION}'`;
const QUEUES = `${select()} WHERE ${IS_QUEUE}`;
const BY_BACKLOG = 'ORDER BY s.waiting DESC, s.topic_id';
// The limit inside: a walk down queues_by_backlog (partial: queues' own
// subscriptions only) whatever the statistics say; without them the planner
// would rather sort every queue.
const MOST_WAITING = `(SELECT * FROM subscriptions WHERE name = '${QUEUE_SUBSCRIPTION}' ORDER BY waiting DESC, topic_id LIMIT $1)`;
const TOPIC_SUBSCRIPTIONS = `${select()} WHERE t.kind = 'topic' AND t.name = $1`;

const STATEMENTS = {
  byName: { name: 'queueRow-byName', text: `${QUEUES} AND t.name = $1` },
  page: { name: 'queueRow-page', text: `${QUEUES} AND ${pageClause('t.name')}` },
  top: { name: 'queueRow-top', text: `${select(MOST_WAITING)} WHERE ${IS_QUEUE} ${BY_BACKLOG}` },
  // Within a prefix, the names that have it, sorted.
  topWithPrefix: { name: 'queueRow-topWithPrefix', text: `${QUEUES} AND t.name >= $1 AND t.name < $2 ${BY_BACKLOG} LIMIT $3` },
  subscription: { name: 'queueRow-subscription', text: `${TOPIC_SUBSCRIPTIONS} AND s.name = $2` },
  subscriptions: { name: 'queueRow-subscriptions', text: `${TOPIC_SUBSCRIPTIONS} AND ${pageClause('s.name', 2)}` },
  subscriptionIds: { name: 'queueRow-subscriptionIds', text: 'SELECT id FROM subscriptions WHERE topic_id = $1' },
  // Apart from the row: produce, fetch and ack load rows and never need the tags.
  tags: { name: 'queueRow-tags', text: 'SELECT key, value FROM queue_tags WHERE topic_id = $1 ORDER BY key' },
  // The tags of a page of queues in one round trip.
  tagsOfMany: {
    name: 'queueRow-tagsOfMany',
    text: 'SELECT topic_id, key, value FROM queue_tags WHERE topic_id = ANY($1::bigint[]) ORDER BY topic_id, key',
  },
};

async function queueRows(db: Queryable, statement: { name: string; text: string }, values: unknown[]): Promise<QueueRow[]> {
  const { rows } = await db.query<RawQueueRow>({ ...statement, values });
  return rows.map(toQueueRow);
}

async function oneQueueRow(db: Queryable, statement: { name: string; text: string }, values: unknown[]): Promise<QueueRow | null> {
  const [row] = await queueRows(db, statement, values);
  return row ?? null;
}

export function findQueueRow(db: Queryable, name: string): Promise<QueueRow | null> {
  return oneQueueRow(db, STATEMENTS.byName, [name]);
}

export function loadQueueRow(db: Queryable, name: string): Promise<QueueRow> {
  return loadSubscription(db, { queue: name });
}

/**
 * The topic id of a dead-letter queue named in settings, or
 * `dead_letter_queue_not_found`; null for none. The queue's row stays
 * key-share locked until the caller commits: a deleteQueue of it (which
 * counts what dead-letters into it under its own lock) waits, and then
 * counts the caller's reference, rather than leave a reference to nothing.
 */
export async function deadLetterTopicOf(tx: Queryable, deadLetterQueue: string | null): Promise<number | null> {
  if (deadLetterQueue === null) return null;
  const { rows } = await tx.query<{ id: number }>({
    name: 'queueRow-lockDeadLetter',
    // A queue is its topic row with its queue subscription: a queue being created in this very transaction is not one yet.
    text: `SELECT t.id FROM topics t JOIN subscriptions s ON s.topic_id = t.id
            WHERE t.name = $1 AND t.kind = 'queue' AND s.name = '${QUEUE_SUBSCRIPTION}' FOR KEY SHARE OF t`,
    values: [deadLetterQueue],
  });
  if (rows.length === 0) throw new StoreError({ code: 'dead_letter_queue_not_found', queue: deadLetterQueue });
  return rows[0].id;
}

export function findSubscriptionRow(db: Queryable, topic: string, subscription: string): Promise<QueueRow | null> {
  return oneQueueRow(db, STATEMENTS.subscription, [topic, subscription]);
}

/** The queue subscription a ref names, or `subscriptionNotFound`. */
export async function loadSubscription(db: Queryable, ref: SubscriptionRef): Promise<QueueRow> {
  const row = 'queue' in ref ? await findQueueRow(db, ref.queue) : await findSubscriptionRow(db, ref.topic, ref.subscription);
  if (row === null) throw subscriptionNotFound(ref);
  return row;
}

export async function queueRowPage(db: Queryable, page: PageRequest): Promise<Listed<QueueRow>> {
  return pageOf(await queueRows(db, STATEMENTS.page, pageParameters(page)), page, (row) => row.name);
}

/** The queues with the most messages waiting. */
export function topQueueRows(db: Queryable, prefix: string, limit: number): Promise<QueueRow[]> {
  return prefix === ''
    ? queueRows(db, STATEMENTS.top, [limit])
    : queueRows(db, STATEMENTS.topWithPrefix, [prefix, prefixEnd(prefix), limit]);
}

export async function subscriptionPage(db: Queryable, topic: string, page: PageRequest): Promise<Listed<SubscriptionRecord>> {
  const records = (await queueRows(db, STATEMENTS.subscriptions, [topic, ...pageParameters(page)])).map(toSubscriptionRecord);
  return pageOf(records, page, (record) => record.name);
}

/** Ids of every queue subscription of a topic, which each appended message gets a delivery row for. */
export async function subscriptionIdsOf(db: Queryable, topicId: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>({ ...STATEMENTS.subscriptionIds, values: [topicId] });
  return rows.map((row) => row.id);
}

/** The public faces of queues' rows, with their tags: one query for all of them. */
export async function queueRecords(db: Queryable, rows: QueueRow[]): Promise<QueueRecord[]> {
  if (rows.length === 0) return [];
  const { rows: tags } = await db.query<{ topic_id: number; key: string; value: string }>({
    ...STATEMENTS.tagsOfMany,
    values: [rows.map((row) => row.topicId)],
  });
  const byQueue = new Map<number, Array<{ key: string; value: string }>>();
  for (const { topic_id, key, value } of tags) byQueue.set(topic_id, [...(byQueue.get(topic_id) ?? []), { key, value }]);
  return rows.map((row) => toQueueRecord(row, byQueue.get(row.topicId) ?? []));
}

/** The public face of a queue's row, with its tags. */
export async function queueRecord(db: Queryable, row: QueueRow): Promise<QueueRecord> {
  const { rows: tags } = await db.query<{ key: string; value: string }>({ ...STATEMENTS.tags, values: [row.topicId] });
  return toQueueRecord(row, tags);
}
