import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors';
import { type AppendMessage, type AppendTarget, checkQuota, deliveryGroup } from '../rows/appendTarget';
import type { AppendResult, ProduceOptions } from '../store';
import { AppendTally, type Head } from './appendTally';
import type { WriteContext } from './groupCommit';
import { prepared } from './prepared';

interface IdempotencyRow {
  message_id: number;
  partition: number;
  offset: number;
  timestamp: number;
}

const statements = prepared((db) => ({
  stored: db.prepare<[number], { messages: number; bytes: number }>(
    'SELECT sum(messages) AS messages, sum(bytes) AS bytes FROM partitions WHERE topic_id = ?',
  ),
  insertMessage: db.prepare<[number, number, number, number, string | null, string, string, Buffer, string | null, number | null]>(
    `INSERT INTO messages (topic_id, partition, offset, timestamp, key, headers, content_type, value, group_id, original_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ),
  // With the value's size, which the delete trigger of migration 008 takes off the counts.
  insertDelivery: db.prepare<[number, number | bigint, number, string | null, number]>(
    'INSERT INTO deliveries (subscription_id, message_id, available_at, group_id, bytes) VALUES (?, ?, ?, ?, ?)',
  ),
  findKey: db.prepare<[number, string, number], IdempotencyRow>(
    `SELECT message_id, partition, offset, timestamp FROM idempotency_keys
      WHERE topic_id = ? AND key = ? AND timestamp >= ?`,
  ),
  recordKey: db.prepare<[number, string, number | bigint, number, number, number]>(
    `INSERT OR REPLACE INTO idempotency_keys (topic_id, key, message_id, partition, offset, timestamp)
     VALUES (?, ?, ?, ?, ?, ?)`,
  ),
}));

/**
 * operation: append — the one way messages enter a topic (produce, dead-letter,
 * redrive). Offsets are dense per partition and timestamps never go backwards
 * within one (a clock step back repeats the last timestamp). A repeated
 * idempotency key inside the window returns the original result and stores
 * nothing. What it changes besides its rows goes to `tally`, a produce's
 * group commit's, written before the commit; without one it is written at
 * its end.
 */
export function append(
  db: Database,
  context: WriteContext,
  target: AppendTarget,
  messages: AppendMessage[],
  options: ProduceOptions,
  tally: AppendTally | null = null,
): AppendResult[] {
  const s = statements(db);
  const counts = tally ?? new AppendTally(db);
  // Quotas count what earlier produces of the same commit added, not written yet.
  const before = target.quota === null ? null : counts.adding(target.topicId);
  const headOf = (partition: number): Head => {
    const head = counts.head(target.topicId, partition);
    if (head === undefined) throw new StoreError({ code: 'partition_not_found', topic: target.name, partition });
    return head;
  };
  let appended = 0;
  let appendedBytes = 0;
  const results = messages.map((message): AppendResult => {
    if (message.idempotencyKey !== null) {
      const seen = s.findKey.get(target.topicId, message.idempotencyKey, options.now - options.idempotencyWindowMs);
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
    const head = headOf(message.partition);
    const offset = head.next;
    head.timestamp = Math.max(options.now, head.timestamp);
    const id = s.insertMessage.run(
      target.topicId,
      message.partition,
      offset,
      head.timestamp,
      message.key,
      JSON.stringify(message.headers),
      message.contentType,
      message.value,
      message.group,
      message.originalId ?? null,
    ).lastInsertRowid;
    for (const subscriptionId of target.subscriptionIds) {
      s.insertDelivery.run(subscriptionId, id, options.now + message.delayMs, deliveryGroup(target.fifo, message.group), message.value.length);
    }
    if (message.idempotencyKey !== null) {
      s.recordKey.run(target.topicId, message.idempotencyKey, id, message.partition, offset, head.timestamp);
    }
    head.next += 1;
    head.messages += 1;
    head.bytes += message.value.length;
    appended += 1;
    appendedBytes += message.value.length;
    return { id: String(message.originalId ?? id), partition: message.partition, offset, timestamp: head.timestamp, duplicate: false };
  });
  if (target.quota !== null && before !== null && appended > 0) {
    const stored = s.stored.get(target.topicId) ?? { messages: 0, bytes: 0 };
    const adding = { messages: appended, bytes: appendedBytes };
    checkQuota(target.name, target.quota, { messages: stored.messages + before.messages, bytes: stored.bytes + before.bytes }, [adding]);
  }
  if (appended > 0) {
    for (const subscriptionId of target.subscriptionIds) counts.addWaiting(subscriptionId, appended, appendedBytes);
    context.notify(target.name);
  }
  if (tally === null) counts.write();
  return results;
}
