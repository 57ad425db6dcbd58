import { checkPartitionsGrow, sameTopicSettings } from '../rows/settingsChange';
import { toTopicRecord } from '../rows/topicRow';
import type { TopicRecord, TopicSettings } from '../store';
import type { Queryable } from './connection';
import { claimName, loadTopicRow } from './topicRow';

const STATEMENTS = {
  update: {
    name: 'putTopic-update',
    text: `UPDATE topics SET partitions = $1, retention_ms = $2, retention_bytes = $3, max_message_bytes = $4,
                             max_stored_messages = $5, max_stored_bytes = $6, updated_at = $7
            WHERE id = $8`,
  },
  // Partitions from `from` up to `to` - 1, in one statement.
  addPartitions: {
    name: 'putTopic-addPartitions',
    text: 'INSERT INTO partitions (topic_id, partition) SELECT $1, n FROM generate_series($2::integer, $3::integer - 1) AS n',
  },
};

/**
 * operation: putTopic — create, or update in place; partitions may grow, never
 * shrink. The name is claimed first (claimName: inserted, or its row locked),
 * so of concurrent growths each starts from the partitions the one before
 * committed.
 */
export async function putTopic(
  tx: Queryable,
  name: string,
  settings: TopicSettings,
  now: number,
): Promise<{ topic: TopicRecord; created: boolean }> {
  const { topicId, created } = await claimName(tx, name, 'topic', settings, now);
  if (created) {
    await addPartitions(tx, topicId, 0, settings.partitions);
  } else {
    const existing = await loadTopicRow(tx, name);
    checkPartitionsGrow(name, existing, settings);
    if (sameTopicSettings(existing, settings)) return { topic: toTopicRecord(existing), created };
    await tx.query({
      ...STATEMENTS.update,
      values: [
        settings.partitions,
        settings.retentionMs,
        settings.retentionBytes,
        settings.maxMessageBytes,
        settings.maxStoredMessages,
        settings.maxStoredBytes,
        now,
        topicId,
      ],
    });
    await addPartitions(tx, topicId, existing.partitions, settings.partitions);
  }
  return { topic: toTopicRecord(await loadTopicRow(tx, name)), created };
}

async function addPartitions(tx: Queryable, topicId: number, from: number, to: number): Promise<void> {
  if (to > from) await tx.query({ ...STATEMENTS.addPartitions, values: [topicId, from, to] });
}
