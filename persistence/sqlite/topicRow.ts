import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors';
import type { AppendTarget } from '../rows/appendTarget';
import { pageOf } from '../rows/page';
import { type RawTopicRow, type TopicRow, toTopicRow } from '../rows/topicRow';
import type { Listed, PageRequest } from '../store';
import { type PageParameters, pageClause, pageParameters } from './page';
import { prepared } from './prepared';
import { subscriptionIdsOf } from './queueRow';

const SELECT = `SELECT id, name, partitions, retention_ms, retention_bytes, max_message_bytes,
                       max_stored_messages, max_stored_bytes, created_at, updated_at
                  FROM topics WHERE kind = 'topic'`;

const statements = prepared((db) => ({
  byName: db.prepare<[string], RawTopicRow>(`${SELECT} AND name = ?`),
  page: db.prepare<[PageParameters], RawTopicRow>(`${SELECT} AND ${pageClause('name')}`),
  kind: db.prepare<[string]>('SELECT kind FROM topics WHERE name = ?').pluck(),
}));

export function findTopicRow(db: Database, name: string): TopicRow | null {
  const raw = statements(db).byName.get(name);
  return raw === undefined ? null : toTopicRow(raw);
}

export function loadTopicRow(db: Database, name: string): TopicRow {
  const row = findTopicRow(db, name);
  if (row === null) throw new StoreError({ code: 'topic_not_found', topic: name });
  return row;
}

export function topicRowPage(db: Database, page: PageRequest): Listed<TopicRow> {
  return pageOf(statements(db).page.all(pageParameters(page)).map(toTopicRow), page, (row) => row.name);
}

/** A topic as a place to append to: every queue subscription of it gets a delivery row. */
export function topicTarget(db: Database, row: TopicRow, quota: AppendTarget['quota']): AppendTarget {
  return { name: row.name, topicId: row.topicId, subscriptionIds: subscriptionIdsOf(db, row.topicId), fifo: false, kind: 'topic', quota };
}

/**
 * Queues and topics share one namespace (a queue is a topic underneath):
 * refuses a name already taken by the other kind.
 */
export function claimName(db: Database, name: string, kind: 'queue' | 'topic'): void {
  const existing = statements(db).kind.get(name) as 'queue' | 'topic' | undefined;
  if (existing !== undefined && existing !== kind) {
    throw new StoreError({ code: 'name_in_use', name, usedBy: existing });
  }
}
