import type { Database } from 'better-sqlite3';
import { checkPartitionsGrow, sameTopicSettings } from '../rows/settingsChange';
import { toTopicRecord } from '../rows/topicRow';
import type { TopicRecord, TopicSettings } from '../store';
import { prepared } from './prepared';
import { claimName, findTopicRow, loadTopicRow } from './topicRow';

const statements = prepared((db) => ({
  insert: db.prepare<[string, number, number | null, number | null, number, number | null, number | null, number, number]>(
    `INSERT INTO topics (name, kind, partitions, retention_ms, retention_bytes, max_message_bytes,
                         max_stored_messages, max_stored_bytes, created_at, updated_at)
     VALUES (?, 'topic', ?, ?, ?, ?, ?, ?, ?, ?)`,
  ),
  update: db.prepare<[number, number | null, number | null, number, number | null, number | null, number, number]>(
    `UPDATE topics SET partitions = ?, retention_ms = ?, retention_bytes = ?, max_message_bytes = ?,
                       max_stored_messages = ?, max_stored_bytes = ?, updated_at = ?
      WHERE id = ?`,
  ),
  // Partitions from `from` up to `to` - 1, in one statement.
  addPartitions: db.prepare<[number, number, number | bigint]>(
    `WITH RECURSIVE p(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM p WHERE n + 1 < ?)
     INSERT INTO partitions (topic_id, partition) SELECT ?, n FROM p`,
  ),
}));

/** operation: putTopic — create, or update in place; partitions may grow, never shrink. */
export function putTopic(
  db: Database,
  name: string,
  settings: TopicSettings,
  now: number,
): { topic: TopicRecord; created: boolean } {
  const s = statements(db);
  claimName(db, name, 'topic');
  const existing = findTopicRow(db, name);
  if (existing === null) {
    const topicId = s.insert.run(
      name,
      settings.partitions,
      settings.retentionMs,
      settings.retentionBytes,
      settings.maxMessageBytes,
      settings.maxStoredMessages,
      settings.maxStoredBytes,
      now,
      now,
    ).lastInsertRowid;
    addPartitions(db, topicId, 0, settings.partitions);
    return { topic: toTopicRecord(loadTopicRow(db, name)), created: true };
  }
  checkPartitionsGrow(name, existing, settings);
  if (!sameTopicSettings(existing, settings)) {
    s.update.run(
      settings.partitions,
      settings.retentionMs,
      settings.retentionBytes,
      settings.maxMessageBytes,
      settings.maxStoredMessages,
      settings.maxStoredBytes,
      now,
      existing.topicId,
    );
    addPartitions(db, existing.topicId, existing.partitions, settings.partitions);
  }
  return { topic: toTopicRecord(loadTopicRow(db, name)), created: false };
}

function addPartitions(db: Database, topicId: number | bigint, from: number, to: number): void {
  if (to > from) statements(db).addPartitions.run(from, to, topicId);
}
