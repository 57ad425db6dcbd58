import { type DeadLetterTarget, deadLetterMessage } from '../rows/deadLetter';
import { type QueueRow, queueTarget } from '../rows/queueRow';
import type { StoredMessage } from '../store';
import { append } from './append';
import type { Queryable } from './connection';
import { loadQueueRow } from './queueRow';
import { removeMessages } from './removeMessages';
import type { WriteContext } from './writeContext';

const STATEMENTS = {
  count: { name: 'deadLetter-count', text: 'UPDATE subscriptions SET dead_lettered = dead_lettered + 1 WHERE id = $1' },
};

/**
 * operation: deadLetter — moves a message that used up its deliveries to a
 * dead-letter queue (the subscription's, unless `to` names another), keeping
 * its body, content type, key and headers and adding where it came from and
 * how often it was delivered.
 *
 * The message leaves its source before it enters the dead-letter queue: a
 * redrive, which moves messages the other way, appends to the source before
 * it removes from the dead-letter queue, so both lock the source's rows
 * before the dead-letter queue's and never wait for each other in a circle.
 */
export async function deadLetter(
  tx: Queryable,
  context: WriteContext,
  source: QueueRow,
  message: StoredMessage,
  deliveries: number,
  now: number,
  to: DeadLetterTarget = { queue: source.deadLetterQueue as string, headers: {} },
): Promise<void> {
  await removeMessages(tx, source, [Number(message.id)]);
  await append(tx, context, queueTarget(await loadQueueRow(tx, to.queue)), [deadLetterMessage(source, message, deliveries, to)], {
    now,
    idempotencyWindowMs: 0,
  });
  await tx.query({ ...STATEMENTS.count, values: [source.subscriptionId] });
}
