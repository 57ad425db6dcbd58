import type { Database } from 'better-sqlite3';
import type { AppendResult, NewMessage, ProduceOptions } from '../store';

/** A message as append stores it: its delay already decided. */
export type AppendMessage = Omit<NewMessage, 'delayMs' | 'bytes'> & { delayMs: number };
import type { WriteContext } from './groupCommit';
import { prepared } from './prepared';

/** Where appended messages go: a topic's partition 0 and a delivery row per queue subscription. */
export interface AppendTarget {
  name: string;
  topicId: number;
  subscriptionIds: number[];
}

interface IdempotencyRow {
  message_id: number;
  partition: number;
  offset: number;
  timestamp: number;
}

const statements = prepared((db) => ({
  nextOffset: db
    .prepare<[number]>('SELECT next_offset FROM partitions WHERE topic_id = ? AND partition = 0')
    .pluck(),
  setNextOffset: db.prepare<[number, number]>('UPDATE partitions SET next_offset = ? WHERE topic_id = ? AND partition = 0'),
  countProduced: db.prepare<[number, number]>('UPDATE topics SET produced = produced + ? WHERE id = ?'),
  insertMessage: db.prepare<[number, number, number, string | null, string, string, Buffer]>(
    `INSERT INTO messages (topic_id, partition, offset, timestamp, key, headers, content_type, value)
     VALUES (?, 0, ?, ?, ?, ?, ?, ?)`,
  ),
  insertDelivery: db.prepare<[number, number | bigint, number]>(
    'INSERT INTO deliveries (subscription_id, message_id, available_at) VALUES (?, ?, ?)',
  ),
  findKey: db.prepare<[number, string, number], IdempotencyRow>(
    `SELECT message_id, partition, offset, timestamp FROM idempotency_keys
      WHERE topic_id = ? AND key = ? AND timestamp >= ?`,
  ),
  recordKey: db.prepare<[number, string, number | bigint, number, number]>(
    `INSERT OR REPLACE INTO idempotency_keys (topic_id, key, message_id, partition, offset, timestamp)
     VALUES (?, ?, ?, 0, ?, ?)`,
  ),
}));

/**
 * operation: append — the one way messages enter a topic (produce, dead-letter,
 * redrive). Offsets are dense per partition; a repeated idempotency key inside
 * the window returns the original result and stores nothing.
 */
export function append(
  db: Database,
  context: WriteContext,
  target: AppendTarget,
  messages: AppendMessage[],
  options: ProduceOptions,
): AppendResult[] {
  const s = statements(db);
  const { now } = options;
  let offset = s.nextOffset.get(target.topicId) as number;
  let appended = 0;
  let readyNow = false;
  const results = messages.map((message): AppendResult => {
    if (message.idempotencyKey !== null) {
      const seen = s.findKey.get(target.topicId, message.idempotencyKey, now - options.idempotencyWindowMs);
      if (seen !== undefined) {
        return {
          id: String(seen.message_id),
          partition: seen.partition,
          offset: seen.offset,
          timestamp: seen.timestamp,
          duplicate: true,
        };
      }
    }
    const id = s.insertMessage.run(
      target.topicId,
      offset,
      now,
      message.key,
      JSON.stringify(message.headers),
      message.contentType,
      message.value,
    ).lastInsertRowid;
    for (const subscriptionId of target.subscriptionIds) {
      s.insertDelivery.run(subscriptionId, id, now + message.delayMs);
    }
    if (message.idempotencyKey !== null) s.recordKey.run(target.topicId, message.idempotencyKey, id, offset, now);
    readyNow ||= message.delayMs === 0;
    appended += 1;
    return { id: String(id), partition: 0, offset: offset++, timestamp: now, duplicate: false };
  });
  if (appended > 0) {
    s.setNextOffset.run(offset, target.topicId);
    s.countProduced.run(appended, target.topicId);
  }
  if (readyNow) context.notify(target.name);
  return results;
}
