import type { Database } from 'better-sqlite3';
import { deadLetteredMessageId, deadLetterSource, movedMessage, redriveHeaders } from '../rows/deadLetter';
import { type QueueRow, queueTarget } from '../rows/queueRow';
import type { RedriveResult, StoredMessage } from '../store';
import { append } from './append';
import type { WriteContext } from './groupCommit';
import { loadMessages } from './messageRow';
import { prepared } from './prepared';
import { findQueueRow, findSubscriptionRow, loadQueueRow } from './queueRow';
import { removeMessages } from './removeMessages';

const statements = prepared((db) => ({
  ready: db
    .prepare<[number, number, number]>(
      `SELECT message_id FROM deliveries WHERE subscription_id = ? AND available_at <= ?
        ORDER BY available_at, message_id LIMIT ?`,
    )
    .pluck(),
  // The counter the triggers of migration 008 keep: no count of the dead-letter queue's rows.
  remaining: db.prepare<[number]>('SELECT waiting FROM subscriptions WHERE id = ?').pluck(),
  // The topic message is still there (retention may have taken it): deliver it to the subscription again.
  redeliver: db.prepare<[number, number, number, number]>(
    `INSERT OR IGNORE INTO deliveries (subscription_id, message_id, available_at, group_id, bytes)
     SELECT ?, id, ?, group_id, length(value) FROM messages WHERE id = ? AND topic_id = ?`,
  ),
}));

/** Puts one dead letter back where it came from; false when that is not possible (it then stays). */
type Redeliver = (message: StoredMessage, headers: Record<string, string>) => boolean;

/** Appends dead letters to a queue as new messages. */
function appendTo(db: Database, context: WriteContext, queue: QueueRow, now: number): Redeliver {
  return (message, headers) => {
    append(db, context, queueTarget(queue), [movedMessage(message, headers)], { now, idempotencyWindowMs: 0 });
    return true;
  };
}

/** How to redrive to a source: a queue gets the message appended; a topic subscription gets its topic message again. */
function redeliverTo(db: Database, context: WriteContext, source: string, now: number): Redeliver | null {
  const from = deadLetterSource(source);
  if ('queue' in from) {
    const queue = findQueueRow(db, from.queue);
    return queue === null ? null : appendTo(db, context, queue, now);
  }
  const subscription = findSubscriptionRow(db, from.topic, from.subscription);
  if (subscription === null) return null;
  return (message) => {
    const original = deadLetteredMessageId(message);
    const done = statements(db).redeliver.run(subscription.subscriptionId, now, original, subscription.topicId).changes > 0;
    if (done) context.notify(subscription.name);
    return done;
  };
}

/**
 * operation: redrive — moves ready dead letters back to their source: to the
 * queue named in their source header, as new messages with a fresh delivery
 * count and without the dead-letter headers; or, for a topic subscription, by
 * delivering the topic's message to it again. Leased dead letters, ones
 * without a source, and ones whose source (or topic message) is gone stay.
 * With `to`, every ready dead letter goes to that queue instead, as a new
 * message (`queue_not_found` if there is none).
 */
export function redrive(
  db: Database,
  context: WriteContext,
  deadLetterQueue: string,
  max: number,
  now: number,
  to: string | null,
): RedriveResult {
  const dlq = loadQueueRow(db, deadLetterQueue);
  const s = statements(db);
  const destination = to === null ? null : appendTo(db, context, loadQueueRow(db, to), now);
  const targets = new Map<string, Redeliver | null>();
  const redriven: number[] = [];
  for (const message of loadMessages(db, s.ready.all(dlq.subscriptionId, now, max) as number[])) {
    const { source, headers } = redriveHeaders(message);
    if (destination !== null) {
      destination(message, headers);
      redriven.push(Number(message.id));
      continue;
    }
    if (source === undefined) continue;
    if (!targets.has(source)) targets.set(source, redeliverTo(db, context, source, now));
    if (targets.get(source)?.(message, headers) === true) redriven.push(Number(message.id));
  }
  removeMessages(db, dlq, redriven);
  return { redriven: redriven.length, remaining: s.remaining.get(dlq.subscriptionId) as number };
}
