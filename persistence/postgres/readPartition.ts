import { StoreError } from '../errors';
import { type RawMessage, toStoredMessage } from '../rows/messageRow';
import type { PartitionInfo, PartitionRead, ReadOptions, StoredMessage } from '../store';
import type { Queryable } from './connection';
import { messageColumns } from './messageRow';
import { partitionInfo } from './topicPartitions';
import { loadTopicRow } from './topicRow';

const STATEMENTS = {
  // A range of messages_by_offset, at most $4 rows, cut where their value
  // bytes pass $5 (the first row always stays). The running sum reads each
  // value's stored length, not the value: rows past the cut are never sent.
  from: {
    name: 'readPartition-from',
    text: `SELECT ${messageColumns('r')} FROM (
             SELECT page.*, sum(length(page.value)) OVER w AS running, row_number() OVER w AS n
               FROM (SELECT * FROM messages WHERE topic_id = $1 AND partition = $2 AND "offset" >= $3 ORDER BY "offset" LIMIT $4) page
             WINDOW w AS (ORDER BY page."offset")
           ) r
           WHERE r.n = 1 OR r.running <= $5
           ORDER BY r."offset"`,
  },
};

/** The partition, or `partition_not_found`. */
export async function loadPartition(db: Queryable, topic: string, partition: number): Promise<{ topicId: number; info: PartitionInfo }> {
  const { topicId } = await loadTopicRow(db, topic);
  const info = await partitionInfo(db, topicId, partition);
  if (info === undefined) throw new StoreError({ code: 'partition_not_found', topic, partition });
  return { topicId, info };
}

/**
 * operation: readPartition — a stateless read by offset (replay). An offset
 * equal to the end offset reads nothing (yet); one outside
 * [startOffset, endOffset] is `offset_out_of_range`, and the problem says where
 * the range is. The messages are those below the end offset it answers
 * with: an append that commits between its two reads adds none.
 */
export async function readPartition(db: Queryable, topic: string, partition: number, options: ReadOptions): Promise<PartitionRead> {
  const { topicId, info } = await loadPartition(db, topic, partition);
  if (options.offset < info.startOffset || options.offset > info.endOffset) {
    throw new StoreError({ code: 'offset_out_of_range', topic, partition, offset: options.offset, start: info.startOffset, end: info.endOffset });
  }
  const messages = await readRange(db, topicId, partition, options);
  return { messages: messages.filter((message) => message.offset < info.endOffset), startOffset: info.startOffset, endOffset: info.endOffset };
}

/**
 * Up to `max` messages (and about `maxBytes`, the first always) from an
 * offset known to be in range. One statement sees the partition as one
 * commit left it: appends to a partition commit in offset order, so it has
 * no gap below the newest offset it shows.
 */
export async function readRange(db: Queryable, topicId: number, partition: number, options: ReadOptions): Promise<StoredMessage[]> {
  const { rows } = await db.query<RawMessage>({ ...STATEMENTS.from, values: [topicId, partition, options.offset, options.max, options.maxBytes] });
  return rows.map(toStoredMessage);
}
