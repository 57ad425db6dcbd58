import type { Database } from 'better-sqlite3';
import type { RedriveResult } from '../store';
import { append } from './append';
import { DEAD_LETTER_SOURCE_HEADER, DELIVERY_COUNT_HEADER } from './deadLetter';
import type { WriteContext } from './groupCommit';
import { loadMessages } from './messageRow';
import { prepared } from './prepared';
import { type QueueRow, findQueueRow, loadQueueRow, queueTarget } from './queueRow';
import { removeMessages } from './removeMessages';

const statements = prepared((db) => ({
  ready: db
    .prepare<[number, number, number]>(
      `SELECT message_id FROM deliveries WHERE subscription_id = ? AND available_at <= ?
        ORDER BY available_at, message_id LIMIT ?`,
    )
    .pluck(),
  remaining: db.prepare<[number]>('SELECT COUNT(*) FROM deliveries WHERE subscription_id = ?').pluck(),
}));

/**
 * operation: redrive — moves ready dead letters back to the queue named in
 * their source header, as new messages with a fresh delivery count and
 * without the dead-letter headers. Leased dead letters, ones without a
 * source, and ones whose source queue is gone stay where they are.
 */
export function redrive(
  db: Database,
  context: WriteContext,
  deadLetterQueue: string,
  max: number,
  now: number,
): RedriveResult {
  const dlq = loadQueueRow(db, deadLetterQueue);
  const s = statements(db);
  const sources = new Map<string, QueueRow | null>();
  const redriven: number[] = [];
  for (const message of loadMessages(db, s.ready.all(dlq.subscriptionId, now, max) as number[])) {
    const { [DEAD_LETTER_SOURCE_HEADER]: sourceName, [DELIVERY_COUNT_HEADER]: _count, ...headers } = message.headers;
    if (sourceName === undefined) continue;
    if (!sources.has(sourceName)) sources.set(sourceName, findQueueRow(db, sourceName));
    const source = sources.get(sourceName);
    if (source === null || source === undefined) continue;
    append(
      db,
      context,
      queueTarget(source),
      [{ key: message.key, headers, contentType: message.contentType, value: message.value, delayMs: 0, partition: 0, idempotencyKey: null }],
      { now, idempotencyWindowMs: 0 },
    );
    redriven.push(Number(message.id));
  }
  removeMessages(db, dlq, redriven);
  return { redriven: redriven.length, remaining: s.remaining.get(dlq.subscriptionId) as number };
}
