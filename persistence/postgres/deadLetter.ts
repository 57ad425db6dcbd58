import type { StoredMessage } from '../store';
import { append } from './append';
import type { Queryable } from './connection';
import { loadQueueRow, type QueueRow, queueTarget } from './queueRow';
import { removeMessages } from './removeMessages';
import type { WriteContext } from './writeContext';

/** Headers a dead letter gains; redrive reads the source back from the first. */
export const DEAD_LETTER_SOURCE_HEADER = 'mqgate-dead-letter-source';
export const DELIVERY_COUNT_HEADER = 'mqgate-delivery-count';
/** A topic subscription's dead letter names the topic message it stands for, which redrive delivers again. */
export const DEAD_LETTER_MESSAGE_HEADER = 'mqgate-dead-letter-message-id';

const STATEMENTS = {
  count: { name: 'deadLetter-count', text: 'UPDATE subscriptions SET dead_lettered = dead_lettered + 1 WHERE id = $1' },
};

/** Where a dead letter goes, and what it says beyond the standard headers. */
interface DeadLetterTarget {
  queue: string;
  headers: Record<string, string>;
}

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
  await append(
    tx,
    context,
    queueTarget(await loadQueueRow(tx, to.queue)),
    [
      {
        key: message.key,
        headers: {
          ...message.headers,
          ...to.headers,
          [DELIVERY_COUNT_HEADER]: String(deliveries),
          // A topic subscription's dead letters name `topic/subscription` ('/' is in no name) and the message.
          ...(source.subscription === null
            ? { [DEAD_LETTER_SOURCE_HEADER]: source.name }
            : { [DEAD_LETTER_SOURCE_HEADER]: `${source.name}/${source.subscription}`, [DEAD_LETTER_MESSAGE_HEADER]: message.id }),
        },
        contentType: message.contentType,
        value: message.value,
        group: message.group,
        delayMs: 0,
        partition: 0,
        idempotencyKey: null,
      },
    ],
    { now, idempotencyWindowMs: 0 },
  );
  await tx.query({ ...STATEMENTS.count, values: [source.subscriptionId] });
}
