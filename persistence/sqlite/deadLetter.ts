import type { Database } from 'better-sqlite3';
import { type DeadLetterTarget, deadLetterMessage } from '../rows/deadLetter';
import { type QueueRow, queueTarget } from '../rows/queueRow';
import type { StoredMessage } from '../store';
import { append } from './append';
import type { WriteContext } from './groupCommit';
import { prepared } from './prepared';
import { loadQueueRow } from './queueRow';
import { removeMessages } from './removeMessages';

const statements = prepared((db) => ({
  count: db.prepare<[number, number]>('UPDATE subscriptions SET dead_lettered = dead_lettered + ? WHERE id = ?'),
}));

/**
 * operation: deadLetter — moves a message that used up its deliveries to a
 * dead-letter queue (the subscription's, unless `to` names another), keeping
 * its body, content type, key and headers and adding where it came from and
 * how often it was delivered.
 */
export function deadLetter(
  db: Database,
  context: WriteContext,
  source: QueueRow,
  message: StoredMessage,
  deliveries: number,
  now: number,
  to: DeadLetterTarget = { queue: source.deadLetterQueue as string, headers: {} },
): void {
  append(db, context, queueTarget(loadQueueRow(db, to.queue)), [deadLetterMessage(source, message, deliveries, to)], { now, idempotencyWindowMs: 0 });
  removeMessages(db, source, [Number(message.id)]);
  statements(db).count.run(1, source.subscriptionId);
}
