import { StoreError } from '../errors';
import type { NewMessage, ProduceOptions, StoreRules, TopicMessage } from '../store';
import type { AppendMessage, AppendTarget } from './appendTarget';
import { type QueueRow, queueTarget } from './queueRow';
import type { TopicRow } from './topicRow';

/** All or nothing: `message_too_large` for the first message over the limit. */
function checkSizes(messages: NewMessage[], maxMessageBytes: number, target: string): void {
  const tooLarge = messages.findIndex((message) => message.bytes > maxMessageBytes);
  if (tooLarge >= 0) {
    throw new StoreError({ code: 'message_too_large', name: target, index: tooLarge, bytes: messages[tooLarge].bytes, max: maxMessageBytes });
  }
}

/**
 * A client's messages for queue `row`, as its append takes them: each checked
 * against the queue's maxMessageBytes, its delay defaulting to the queue's,
 * its idempotency key to its content's when the queue deduplicates by
 * content; appended within the queue's quota, keys remembered for the window
 * of the queue's ordering.
 */
export function queueAppend(
  rules: StoreRules,
  row: QueueRow,
  queue: string,
  messages: NewMessage[],
  options: ProduceOptions,
): { target: AppendTarget; messages: AppendMessage[]; options: ProduceOptions } {
  checkSizes(messages, row.maxMessageBytes, queue);
  const appended = messages.map(({ bytes: _bytes, ...message }) => ({
    ...message,
    partition: 0,
    delayMs: message.delayMs ?? row.delayMs,
    idempotencyKey: message.idempotencyKey ?? (row.contentBasedDeduplication ? (options.contentKey?.(message.value) ?? null) : null),
  }));
  const idempotencyWindowMs = rules.deduplicationWindowMs(row.ordering, options);
  return {
    target: { ...queueTarget(row), quota: { caps: row, breach: rules.quotaBreach } },
    messages: appended,
    options: { now: options.now, idempotencyWindowMs },
  };
}

/** A client's messages for topic `row`, as its append takes them: each checked against the topic's maxMessageBytes, no delays on a log; and the topic's quota. */
export function topicAppend(
  rules: StoreRules,
  row: TopicRow,
  topic: string,
  messages: TopicMessage[],
): { quota: AppendTarget['quota']; messages: AppendMessage[] } {
  checkSizes(messages, row.maxMessageBytes, topic);
  return { quota: { caps: row, breach: rules.quotaBreach }, messages: messages.map(({ bytes: _bytes, ...message }) => ({ ...message, delayMs: 0 })) };
}
