import type { Database } from 'better-sqlite3';
import type { PartitionInfo } from '../store';
import { prepared } from './prepared';
import { loadTopicRow } from './topicRow';

// The start offset is the first retained message: one index probe per partition.
const INFO = `SELECT p.partition,
                     COALESCE((SELECT m.offset FROM messages m WHERE m.topic_id = p.topic_id AND m.partition = p.partition
                                ORDER BY m.offset LIMIT 1), p.next_offset) AS startOffset,
                     p.next_offset AS endOffset,
                     p.bytes
                FROM partitions p WHERE p.topic_id = ?`;

const statements = prepared((db) => ({
  all: db.prepare<[number], PartitionInfo>(`${INFO} ORDER BY p.partition`),
  one: db.prepare<[number, number], PartitionInfo>(`${INFO} AND p.partition = ?`),
}));

/** operation: topicPartitions — start and end offsets and bytes of each partition. */
export function topicPartitions(db: Database, topic: string): PartitionInfo[] {
  return statements(db).all.all(loadTopicRow(db, topic).topicId);
}

/** The same for one partition; undefined when the topic has no such partition. */
export function partitionInfo(db: Database, topicId: number, partition: number): PartitionInfo | undefined {
  return statements(db).one.get(topicId, partition);
}
