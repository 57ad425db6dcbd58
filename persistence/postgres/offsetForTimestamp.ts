import type { Queryable } from './connection';
import { loadPartition } from './readPartition';

const STATEMENTS = {
  // The binary search in one statement: each step probes the first retained
  // message at or after the middle offset (so gaps cannot mislead it) along
  // messages_by_offset, and the last row is where low met high.
  search: {
    name: 'offsetForTimestamp-search',
    text: `WITH RECURSIVE search (low, high) AS (
             SELECT $3::bigint, $4::bigint
             UNION ALL
             SELECT CASE WHEN found.timestamp < $5 THEN found."offset" + 1 ELSE s.low END,
                    CASE WHEN found.timestamp < $5 THEN s.high ELSE (s.low + s.high) / 2 END
               FROM search s
               LEFT JOIN LATERAL (
                 SELECT "offset", timestamp FROM messages
                  WHERE topic_id = $1 AND partition = $2 AND "offset" >= (s.low + s.high) / 2
                  ORDER BY "offset" LIMIT 1
               ) found ON true
              WHERE s.low < s.high
           )
           SELECT low FROM search WHERE low >= high`,
  },
};

/**
 * operation: offsetForTimestamp — timestamps never decrease along a partition
 * (append keeps them monotonic), so a binary search over offsets finds the
 * first message at or after `timestamp` in O(log n) index probes.
 */
export async function offsetForTimestamp(db: Queryable, topic: string, partition: number, timestamp: number): Promise<number> {
  const { topicId, info } = await loadPartition(db, topic, partition);
  const { rows } = await db.query<{ low: number }>({ ...STATEMENTS.search, values: [topicId, partition, info.startOffset, info.endOffset, timestamp] });
  return rows[0].low;
}
