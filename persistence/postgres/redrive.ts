import { deadLetteredMessageId, deadLetterSource, movedMessage, redriveHeaders } from '../rows/deadLetter';
import { type QueueRow, queueTarget } from '../rows/queueRow';
import type { RedriveResult, StoredMessage } from '../store';
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
  // The topic message is still there (retention may have taken it): deliver it to the subscription again.
  redeliver: {
    name: 'redrive-redeliver',
    text: `INSERT INTO deliveries (subscription_id, message_id, available_at, group_id, bytes)
           SELECT $1, id, $2, group_id, length(value) FROM messages WHERE id = $3 AND topic_id = $4
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

/**
 * operation: redrive — moves ready dead letters back to their source: to the
 * queue named in their source header, as new messages with a fresh delivery
 * count and without the dead-letter headers; or, for a topic subscription, by
 * delivering the topic's message to it again. Leased dead letters, ones
 * without a source, and ones whose source (or topic message) is gone stay.
 * With `to`, every ready dead letter goes to that queue instead, as a new
 * message (`queue_not_found` if there is none).
 *
 * The sources are written before the dead letters leave the dead-letter
 * queue: the order a dead-lettering takes the same two queues' locks in.
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
  const destination = to === null ? null : appendTo(tx, context, await loadQueueRow(tx, to), now);
  const targets = new Map<string, Redeliver | null>();
  const redriven: number[] = [];
  const { rows } = await tx.query<{ message_id: number }>({ ...STATEMENTS.ready, values: [dlq.subscriptionId, now, max] });
  for (const message of await loadMessages(tx, rows.map((row) => row.message_id))) {
    const { source, headers } = redriveHeaders(message);
    if (destination !== null) {
      await destination(message, headers);
      redriven.push(Number(message.id));
      continue;
    }
    if (source === undefined) continue;
    if (!targets.has(source)) targets.set(source, await redeliverTo(tx, context, source, now));
    if ((await targets.get(source)?.(message, headers)) === true) redriven.push(Number(message.id));
  }
  await removeMessages(tx, dlq, redriven);
  const { rows: remaining } = await tx.query<{ waiting: number }>({ ...STATEMENTS.remaining, values: [dlq.subscriptionId] });
  return { redriven: redriven.length, remaining: remaining[0].waiting };
}
