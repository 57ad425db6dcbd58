import { queueAppend } from '../rows/producedMessages';
import type { AppendResult, NewMessage, ProduceOptions, StoreRules } from '../store';
import { append } from './append';
import type { Queryable } from './connection';
import { loadQueueRow } from './queueRow';
import type { WriteContext } from './writeContext';

/**
 * operation: produce — a client's messages into a queue: each checked against
 * the queue's maxMessageBytes, its delay defaulting to the queue's, its
 * idempotency key to its content's when the queue deduplicates by content;
 * then appended within the queue's quota, keys remembered for the window of
 * the queue's ordering. Dead letters and redrives append directly: they are
 * never refused.
 */
export async function produce(
  tx: Queryable,
  context: WriteContext,
  rules: StoreRules,
  queue: string,
  messages: NewMessage[],
  options: ProduceOptions,
): Promise<AppendResult[]> {
  const batch = queueAppend(rules, await loadQueueRow(tx, queue), queue, messages, options);
  return append(tx, context, batch.target, batch.messages, batch.options);
}
