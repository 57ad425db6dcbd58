import type { Database } from 'better-sqlite3';
import { prepared } from './prepared';
import { loadPartition } from './readPartition';

const statements = prepared((db) => ({
  // The first retained message at or after an offset, so gaps cannot mislead the search.
  at: db.prepare<[number, number, number], { offset: number; timestamp: number }>(
    `SELECT offset, timestamp FROM messages WHERE topic_id = ? AND partition = ? AND offset >= ?
      ORDER BY offset LIMIT 1`,
  ),
}));

/**
 * operation: offsetForTimestamp — timestamps never decrease along a partition
 * (append keeps them monotonic), so a binary search over offsets finds the
 * first message at or after `timestamp` in O(log n) index probes.
 */
export function offsetForTimestamp(db: Database, topic: string, partition: number, timestamp: number): number {
  const { topicId, info } = loadPartition(db, topic, partition);
  const { at } = statements(db);
  let low = info.startOffset;
  let high = info.endOffset;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const found = at.get(topicId, partition, middle);
    if (found === undefined) {
      high = middle;
    } else if (found.timestamp >= timestamp) {
      high = middle;
    } else {
      low = found.offset + 1;
    }
  }
  return low;
}
