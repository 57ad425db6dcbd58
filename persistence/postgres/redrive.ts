import { deadLetteredMessageId, deadLetterSource, movedMessage, redriveHeaders } from '../rows/deadLetter';
import { type QueueRow, queueTarget } from '../rows/queueRow';
import type { MoveStep, RedriveResult, StoredMessage } from '../store';
import { append } from './append';
import type { Queryable } from './connection';
import { loadMessages } from './messageRow';
import { findQueueRow, findSubscriptionRow, loadQueueRow } from './queueRow';
import { removeMessages } from './removeMessages';
import type { WriteContext } from './writeContext';

const STATEMENTS = {
  // Locked, and skipped when a claim holds them: a dead letter is either leased or redriven, never both.
  ready: {
    name: 'redrive-ready',
    text: `SELECT message_id FROM deliveries WHERE subscription_id = $1 AND available_at <= $2
            ORDER BY available_at, message_id LIMIT $3 FOR UPDATE SKIP LOCKED`,
  },
  // The counter the deliveries triggers keep: no count of the dead-letter queue's rows.
  remaining: { name: 'redrive-remaining', text: 'SELECT waiting FROM subscriptions WHERE id = $1' },
  // The topic message is still there (retention may have taken it): deliver it to the subscription again
  // (a topic's subscription is never FIFO: its deliveries carry no group, deliveryGroup).
  redeliver: {
    name: 'redrive-redeliver',
    text: `INSERT INTO deliveries (subscription_id, message_id, available_at, bytes)
           SELECT $1, id, $2, length(value) FROM messages WHERE id = $3 AND topic_id = $4
           ON CONFLICT DO NOTHING`,
  },
};

/** Puts one dead letter back where it came from; false when that is not possible (it then stays). */
type Redeliver = (message: StoredMessage, headers: Record<string, string>) => Promise<boolean>;

/** Appends dead letters to a queue as new messages. */
function appendTo(tx: Queryable, context: WriteContext, queue: QueueRow, now: number): Redeliver {
  return async (message, headers) => {
    await append(tx, context, queueTarget(queue), [movedMessage(message, headers)], { now, idempotencyWindowMs: 0 });
    return true;
  };
}

/** How to redrive to a source: a queue gets the message appended; a topic subscription gets its topic message again. */
async function redeliverTo(tx: Queryable, context: WriteContext, source: string, now: number): Promise<Redeliver | null> {
  const from = deadLetterSource(source);
  if ('queue' in from) {
    const queue = await findQueueRow(tx, from.queue);
    return queue === null ? null : appendTo(tx, context, queue, now);
  }
  const subscription = await findSubscriptionRow(tx, from.topic, from.subscription);
  if (subscription === null) return null;
  return async (message) => {
    const original = deadLetteredMessageId(message);
    if (!Number.isSafeInteger(original)) return false;
    const { rowCount } = await tx.query({ ...STATEMENTS.redeliver, values: [subscription.subscriptionId, now, original, subscription.topicId] });
    const done = rowCount !== null && rowCount > 0;
    if (done) context.notify(subscription.name);
    return done;
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
 *
 * The sources are written before the dead letters leave the dead-letter
 * queue: the order a dead-lettering takes the same two queues' locks in.
 */
export async function moveReady(tx: Queryable, context: WriteContext, dlq: QueueRow, max: number, now: number, to: string | null): Promise<Moved> {
  const destination = to === null ? null : await findQueueRow(tx, to);
  const toDestination = destination === null ? null : appendTo(tx, context, destination, now);
  const targets = new Map<string, Redeliver | null>();
  const redriven: number[] = [];
  const { rows } = await tx.query<{ message_id: number }>({ ...STATEMENTS.ready, values: [dlq.subscriptionId, now, max] });
  const ready = await loadMessages(tx, rows.map((row) => row.message_id));
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
      if (!targets.has(source)) targets.set(source, await redeliverTo(tx, context, source, now));
      redeliver = targets.get(source) ?? null;
    }
    if ((await redeliver?.(message, headers)) === true) redriven.push(Number(message.id));
  }
  await removeMessages(tx, dlq, redriven);
  return { found: ready.length, moved: redriven.length, unsourced, unplaced: ready.length - redriven.length - unsourced };
}

/**
 * operation: redrive — moves up to `max` ready dead letters back to their
 * source (moveReady), or with `to` every one to that queue
 * (`queue_not_found` if there is none).
 */
export async function redrive(
  tx: Queryable,
  context: WriteContext,
  deadLetterQueue: string,
  max: number,
  now: number,
  to: string | null,
): Promise<RedriveResult> {
  const dlq = await loadQueueRow(tx, deadLetterQueue);
  // Refused, where a task's step leaves its dead letters unplaced (and fails).
  if (to !== null) await loadQueueRow(tx, to);
  const { moved } = await moveReady(tx, context, dlq, max, now, to);
  const { rows: remaining } = await tx.query<{ waiting: number }>({ ...STATEMENTS.remaining, values: [dlq.subscriptionId] });
  return { redriven: moved, remaining: remaining[0].waiting };
}
