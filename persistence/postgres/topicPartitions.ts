import type { PartitionInfo } from '../store';
import type { Queryable } from './connection';
import { loadTopicRow } from './topicRow';

// The start offset is the first retained message: one probe of messages_by_offset per partition.
const INFO = `SELECT p.partition,
                     COALESCE((SELECT m."offset" FROM messages m WHERE m.topic_id = p.topic_id AND m.partition = p.partition
                                ORDER BY m."offset" LIMIT 1), p.next_offset) AS "startOffset",
                     p.next_offset AS "endOffset",
                     p.bytes
                FROM partitions p WHERE p.topic_id = $1`;

const STATEMENTS = {
  all: { name: 'topicPartitions-all', text: `${INFO} ORDER BY p.partition` },
  one: { name: 'topicPartitions-one', text: `${INFO} AND p.partition = $2` },
};

/** operation: topicPartitions — start and end offsets and bytes of each partition. */
export async function topicPartitions(db: Queryable, topic: string): Promise<PartitionInfo[]> {
  const { topicId } = await loadTopicRow(db, topic);
  const { rows } = await db.query<PartitionInfo>({ ...STATEMENTS.all, values: [topicId] });
  return rows;
}

/** The same for one partition; undefined when the topic has no such partition. */
export async function partitionInfo(db: Queryable, topicId: number, partition: number): Promise<PartitionInfo | undefined> {
  const { rows } = await db.query<PartitionInfo>({ ...STATEMENTS.one, values: [topicId, partition] });
  return rows[0];
}
