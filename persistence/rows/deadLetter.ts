import { DEAD_LETTER_SOURCE_HEADER, type StoredMessage } from '../store';
import type { AppendMessage } from './appendTarget';
import type { QueueRow } from './queueRow';

/** Headers a dead letter gains beside DEAD_LETTER_SOURCE_HEADER (persistence/store.ts). */
export const DELIVERY_COUNT_HEADER = 'mqgate-delivery-count';
/** A topic subscription's dead letter names the topic message it stands for, which redrive delivers again. */
export const DEAD_LETTER_MESSAGE_HEADER = 'mqgate-dead-letter-message-id';

/** Where a dead letter goes, and what it says beyond the standard headers. */
export interface DeadLetterTarget {
  queue: string;
  headers: Record<string, string>;
}

/** A copy of a message for another queue: a new message there with `headers`, ready at once, with no key to deduplicate by. */
function copiedMessage(message: StoredMessage, headers: Record<string, string>): AppendMessage {
  return {
    key: message.key,
    headers,
    contentType: message.contentType,
    value: message.value,
    group: message.group,
    delayMs: 0,
    partition: 0,
    idempotencyKey: null,
  };
}

/** A message moved to another queue (a dead letter, a redrive): its copy there, which keeps its id, as it leaves where it was. */
export function movedMessage(message: StoredMessage, headers: Record<string, string>): AppendMessage {
  return { ...copiedMessage(message, headers), originalId: Number(message.publicId) };
}

/**
 * The dead letter of `message` of `source`: its body, content type, key and
 * headers, with the target's headers, how often it was delivered and where
 * it came from added. A queue's message moves, keeping its id; a topic's
 * stays in the topic for its other readers, so its dead letter is a second
 * message with an id of its own, which names the topic's message.
 */
export function deadLetterMessage(source: QueueRow, message: StoredMessage, deliveries: number, to: DeadLetterTarget): AppendMessage {
  const headers = { ...message.headers, ...to.headers, [DELIVERY_COUNT_HEADER]: String(deliveries) };
  // A topic subscription's dead letters name `topic/subscription` ('/' is in no name) and the message.
  return source.subscription === null
    ? movedMessage(message, { ...headers, [DEAD_LETTER_SOURCE_HEADER]: source.name })
    : copiedMessage(message, {
        ...headers,
        [DEAD_LETTER_SOURCE_HEADER]: `${source.name}/${source.subscription}`,
        [DEAD_LETTER_MESSAGE_HEADER]: message.id,
      });
}

/** A dead letter's source header read back: a queue, or a topic's queue subscription. */
export function deadLetterSource(source: string): { queue: string } | { topic: string; subscription: string } {
  const slash = source.indexOf('/');
  return slash < 0 ? { queue: source } : { topic: source.slice(0, slash), subscription: source.slice(slash + 1) };
}

/** The source header of a dead letter (undefined for none), and its headers without the dead-letter ones. */
export function redriveHeaders(message: StoredMessage): { source: string | undefined; headers: Record<string, string> } {
  const {
    [DEAD_LETTER_SOURCE_HEADER]: source,
    [DELIVERY_COUNT_HEADER]: _count,
    [DEAD_LETTER_MESSAGE_HEADER]: _id,
    ...headers
  } = message.headers;
  return { source, headers };
}

/** The id of the topic message a topic subscription's dead letter stands for (NaN when it has none). */
export function deadLetteredMessageId(message: StoredMessage): number {
  return Number(message.headers[DEAD_LETTER_MESSAGE_HEADER]);
}
