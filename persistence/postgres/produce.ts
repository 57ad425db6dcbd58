import { StoreError } from '../errors';
import type { AppendResult, NewMessage, ProduceOptions, StoreRules } from '../store';
import { append } from './append';
import type { Queryable } from './connection';
import { loadQueueRow, queueTarget } from './queueRow';
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
  const row = await loadQueueRow(tx, queue);
  checkSizes(messages, row.maxMessageBytes, queue);
  const appended = messages.map(({ bytes: _bytes, ...message }) => ({
    ...message,
    partition: 0,
    delayMs: message.delayMs ?? row.delayMs,
    idempotencyKey: message.idempotencyKey ?? (row.contentBasedDeduplication ? (options.contentKey?.(message.value) ?? null) : null),
  }));
  const idempotencyWindowMs = rules.deduplicationWindowMs(row.ordering, options);
  return append(tx, context, { ...queueTarget(row), quota: { caps: row, breach: rules.quotaBreach } }, appended, { now: options.now, idempotencyWindowMs });
}

/** All or nothing: `message_too_large` for the first message over the limit. */
export function checkSizes(messages: NewMessage[], maxMessageBytes: number, target: string): void {
  const tooLarge = messages.findIndex((message) => message.bytes > maxMessageBytes);
  if (tooLarge >= 0) {
    throw new StoreError({ code: 'message_too_large', name: target, index: tooLarge, bytes: messages[tooLarge].bytes, max: maxMessageBytes });
  }
}
