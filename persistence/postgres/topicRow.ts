import { StoreError } from '../errors';
import type { AppendTarget } from '../rows/appendTarget';
import { pageOf } from '../rows/page';
import { type RawTopicRow, type TopicRow, toTopicRow } from '../rows/topicRow';
import type { Listed, PageRequest, TopicSettings } from '../store';
import type { Queryable } from './connection';
import { pageClause, pageParameters } from './page';
import { subscriptionIdsOf } from './queueRow';

const SELECT = `SELECT id, name, partitions, retention_ms, retention_bytes, max_message_bytes,
                       max_stored_messages, max_stored_bytes, created_at, updated_at
                  FROM topics WHERE kind = 'topic'`;

const STATEMENTS = {
  byName: { name: 'topicRow-byName', text: `${SELECT} AND name = $1` },
  page: { name: 'topicRow-page', text: `${SELECT} AND ${pageClause('name')}` },
  // A name not taken yet is taken by this insert; one taken (or being taken by a transaction still open, which it waits for) is left alone.
  insert: {
    name: 'topicRow-insert',
    text: `INSERT INTO topics (name, kind, partitions, retention_ms, retention_bytes, max_message_bytes,
                               max_stored_messages, max_stored_bytes, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
           ON CONFLICT (name) DO NOTHING RETURNING id`,
  },
  // No key changes: a dead-letter reference to the row (FOR KEY SHARE) and appends (FK checks) go on meanwhile.
  lock: { name: 'topicRow-lock', text: 'SELECT id, kind FROM topics WHERE name = $1 FOR NO KEY UPDATE' },
  // Against a new queue subscription (putSubscription locks the row FOR UPDATE), which every append from here on must fan out to.
  shareKey: { name: 'topicRow-shareKey', text: 'SELECT 1 FROM topics WHERE id = $1 FOR KEY SHARE' },
};

export async function findTopicRow(db: Queryable, name: string): Promise<TopicRow | null> {
  const { rows } = await db.query<RawTopicRow>({ ...STATEMENTS.byName, values: [name] });
  return rows.length === 0 ? null : toTopicRow(rows[0]);
}

export async function loadTopicRow(db: Queryable, name: string): Promise<TopicRow> {
  const row = await findTopicRow(db, name);
  if (row === null) throw new StoreError({ code: 'topic_not_found', topic: name });
  return row;
}

export async function topicRowPage(db: Queryable, page: PageRequest): Promise<Listed<TopicRow>> {
  const { rows } = await db.query<RawTopicRow>({ ...STATEMENTS.page, values: pageParameters(page) });
  return pageOf(rows.map(toTopicRow), page, (row) => row.name);
}

/**
 * A topic as a place to append to: every queue subscription of it gets a
 * delivery row. The topic stays key-share locked until the append commits, so
 * a queue subscription made meanwhile waits for it (and then backfills or
 * starts after it), and one made before is in the list, which is read after
 * the lock.
 */
export async function topicTarget(tx: Queryable, row: TopicRow, quota: AppendTarget['quota']): Promise<AppendTarget> {
  await tx.query({ ...STATEMENTS.shareKey, values: [row.topicId] });
  return { name: row.name, topicId: row.topicId, subscriptionIds: await subscriptionIdsOf(tx, row.topicId), fifo: false, kind: 'topic', quota };
}

/**
 * Queues and topics share one namespace (a queue is a topic underneath): takes
 * `name` for `kind`, inserting its topics row with `settings` (a queue's: one
 * partition, no size limit) if the name is free, and refuses a name already
 * taken by the other kind. An existing row of the same kind is locked until
 * the caller commits, so concurrent puts of one name take turns, each seeing
 * what the one before committed; of concurrent creates, one inserts and the
 * others wait for its commit and find the row.
 */
export async function claimName(
  tx: Queryable,
  name: string,
  kind: 'queue' | 'topic',
  settings: TopicSettings,
  now: number,
): Promise<{ topicId: number; created: boolean }> {
  const { partitions, retentionMs, retentionBytes, maxMessageBytes, maxStoredMessages, maxStoredBytes } = settings;
  for (;;) {
    const inserted = await tx.query<{ id: number }>({
      ...STATEMENTS.insert,
      values: [name, kind, partitions, retentionMs, retentionBytes, maxMessageBytes, maxStoredMessages, maxStoredBytes, now],
    });
    if (inserted.rows.length > 0) return { topicId: inserted.rows[0].id, created: true };
    const { rows } = await tx.query<{ id: number; kind: 'queue' | 'topic' }>({ ...STATEMENTS.lock, values: [name] });
    if (rows.length > 0) {
      if (rows[0].kind !== kind) throw new StoreError({ code: 'name_in_use', name, usedBy: rows[0].kind });
      return { topicId: rows[0].id, created: false };
    }
    // The row the insert gave way to was deleted before it could be locked: the name is free again.
  }
}
