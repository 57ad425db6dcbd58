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
 * `message` as append stores it, in `partition` after `delayMs`, deduplicated
 * by `idempotencyKey`. Its fields are named one by one: a rest pattern's
 * copy of the message took 2 µs, a twentieth of a batch produce's CPU.
 */
function appendMessage(message: NewMessage, partition: number, delayMs: number, idempotencyKey: string | null): AppendMessage {
  return {
    key: message.key,
    headers: message.headers,
    contentType: message.contentType,
    value: message.value,
    group: message.group,
    partition,
    delayMs,
    idempotencyKey,
  };
}

/** The caps a client's produce into `row` must stay within, and the rule that applies them. */
export function quotaOf(rules: StoreRules, row: QueueRow | TopicRow): NonNullable<AppendTarget['quota']> {
  return { caps: row, breach: rules.quotaBreach };
}

/** Where a client's produce into queue `row` goes: the queue, within its quota. */
export function queueProduceTarget(rules: StoreRules, row: QueueRow): AppendTarget {
  return { ...queueTarget(row), quota: quotaOf(rules, row) };
}

/** A message's idempotency key (its content's when the queue deduplicates by content), as the queue's deduplication scope remembers it. */
function scopedKey(rules: StoreRules, row: QueueRow, message: Pick<NewMessage, 'idempotencyKey' | 'value' | 'group'>, options: ProduceOptions): string | null {
  const key = message.idempotencyKey ?? (row.contentBasedDeduplication ? (options.contentKey?.(message.value) ?? null) : null);
  return key === null ? null : rules.deduplicationKey(row.deduplicationScope, message.group, key);
}

/**
 * A client's messages for queue `row`, as its append takes them: each checked
 * against the queue's maxMessageBytes, its delay defaulting to the queue's,
 * its idempotency key to its content's when the queue deduplicates by
 * content, and scoped to its group when the queue deduplicates per message
 * group; keys remembered for the window of the queue's ordering.
 */
export function queueAppend(
  rules: StoreRules,
  row: QueueRow,
  queue: string,
  messages: NewMessage[],
  options: ProduceOptions,
): { messages: AppendMessage[]; options: ProduceOptions } {
  checkSizes(messages, row.maxMessageBytes, queue);
  const appended = messages.map((message) => appendMessage(message, 0, message.delayMs ?? row.delayMs, scopedKey(rules, row, message, options)));
  return { messages: appended, options: { now: options.now, idempotencyWindowMs: rules.deduplicationWindowMs(row.ordering, options) } };
}

/** A client's messages for topic `row`, as its append takes them: each checked against the topic's maxMessageBytes, no delays on a log. */
export function topicAppend(row: TopicRow, topic: string, messages: TopicMessage[]): AppendMessage[] {
  checkSizes(messages, row.maxMessageBytes, topic);
  return messages.map((message) => appendMessage(message, message.partition, 0, message.idempotencyKey));
}
