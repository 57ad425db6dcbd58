import type { Database } from 'better-sqlite3';
import { deadLetteredMessageId, deadLetterSource, movedMessage, redriveHeaders } from '../rows/deadLetter';
import { type QueueRow, queueTarget } from '../rows/queueRow';
import type { MoveStep, RedriveResult, StoredMessage } from '../store';
import { append } from './append';
import type { WriteContext } from './groupCommit';
import { loadMessages } from './messageRow';
import { prepared } from './prepared';
import { findQueueRow, findSubscriptionRow, loadQueueRow } from './queueRow';
import { removeMessages } from './removeMessages';
import { addWaiting } from './waiting';

const statements = prepared((db) => ({
  ready: db
    .prepare<[number, number, number]>(
      `SELECT message_id FROM deliveries WHERE subscription_id = ? AND available_at <= ?
        ORDER BY available_at, message_id LIMIT ?`,
    )
    .pluck(),
  // The counter of migration 008: no count of the dead-letter queue's rows.
  remaining: db.prepare<[number]>('SELECT waiting FROM subscriptions WHERE id = ?').pluck(),
  // The topic message is still there (retention may have taken it): deliver it to the subscription again
  // (a topic's subscription is never FIFO: its deliveries carry no group, deliveryGroup).
  // Its bytes, for the counts, when the row was added (none when the subscription already holds it).
  redeliver: db
    .prepare<[number, number, number, number]>(
      `INSERT OR IGNORE INTO deliveries (subscription_id, message_id, available_at, bytes)
       SELECT ?, id, ?, length(value) FROM messages WHERE id = ? AND topic_id = ? RETURNING bytes`,
    )
    .pluck(),
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
    const bytes = statements(db).redeliver.get(subscription.subscriptionId, now, original, subscription.topicId) as number | undefined;
    if (bytes === undefined) return false;
    addWaiting(db, subscription.subscriptionId, 1, bytes);
    context.notify(subscription.name);
    return true;
  };
}

/** What became of the ready dead letters a redrive took up: a MoveStep without what it asked for. */
export type Moved = Omit<MoveStep, 'asked'>;

/**
 * Moves up to `max` ready dead letters of `dlq` back to their source: to the
 * queue named in their source header, as messages with a fresh delivery
 * count, their ids and no dead-letter headers; or, for a topic subscription,
 * by delivering the topic's message to it again. With `to`, every one goes
 * to that queue instead. Leased dead letters are not looked at; those without
 * a source (`unsourced`), and those whose source, topic message or `to` is
 * gone (`unplaced`), stay.
 */
export function moveReady(db: Database, context: WriteContext, dlq: QueueRow, max: number, now: number, to: string | null): Moved {
  const s = statements(db);
  const destination = to === null ? null : findQueueRow(db, to);
  const toDestination = destination === null ? null : appendTo(db, context, destination, now);
  const targets = new Map<string, Redeliver | null>();
  const redriven: number[] = [];
  const ready = loadMessages(db, s.ready.all(dlq.subscriptionId, now, max) as number[]);
  let unsourced = 0;
  for (const message of ready) {
    const { source, headers } = redriveHeaders(message);
    let redeliver: Redeliver | null;
    if (to !== null) {
      redeliver = toDestination;
    } else if (source === undefined) {
      unsourced += 1;
      continue;
    } else {
      if (!targets.has(source)) targets.set(source, redeliverTo(db, context, source, now));
      redeliver = targets.get(source) ?? null;
    }
    if (redeliver?.(message, headers) === true) redriven.push(Number(message.id));
  }
  removeMessages(db, dlq, redriven);
  return { found: ready.length, moved: redriven.length, unsourced, unplaced: ready.length - redriven.length - unsourced };
}

/**
 * operation: redrive — moves up to `max` ready dead letters back to their
 * source (moveReady), or with `to` every one to that queue
 * (`queue_not_found` if there is none).
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
  // Refused, where a task's step leaves its dead letters unplaced (and fails).
  if (to !== null) loadQueueRow(db, to);
  const { moved } = moveReady(db, context, dlq, max, now, to);
  return { redriven: moved, remaining: statements(db).remaining.get(dlq.subscriptionId) as number };
}
