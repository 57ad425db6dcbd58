import type { NewMessage } from '../persistence/store';
import { GatewayError, invalidField } from './errors';
import type { Limits } from './limits';
import { encodeValue, messageBytes, type ProduceInput } from './messages';

/** A raw produce: the request body is the message, bytes and content type kept exactly. */
export interface RawMessage {
  body: Buffer;
  contentType: string;
  headers: Record<string, string>;
  key: string | null;
}

/** Sizes are checked here against the server's limit; the store checks the queue's or topic's own. */
function sized(message: Omit<NewMessage, 'bytes'>, limits: Limits): NewMessage {
  const bytes = messageBytes(message.value, message.key, message.headers);
  if (bytes > limits.maxMessageBytes) {
    throw new GatewayError('message_too_large', `A message is ${bytes} bytes; the server accepts at most ${limits.maxMessageBytes}.`);
  }
  return { ...message, bytes };
}

/**
 * The messages of a JSON produce request, all checked before any is stored.
 * An `Idempotency-Key` header stands for the keys `<header>/0`, `<header>/1`,
 * … of the messages in order; a message's own idempotencyKey wins.
 */
export function batchMessages(inputs: ProduceInput[], requestKey: string | null, limits: Limits): NewMessage[] {
  if (inputs.length > limits.maxBatchMessages) {
    throw new GatewayError(
      'batch_too_large',
      `A batch holds at most ${limits.maxBatchMessages} messages; this one has ${inputs.length}.`,
    );
  }
  return inputs.map((input, i) => {
    const encoded = encodeValue(input);
    if (!encoded.ok) throw invalidField(`/body/messages/${i}/value`, encoded.detail);
    return sized(
      {
        key: input.key ?? null,
        headers: input.headers ?? {},
        value: encoded.value,
        contentType: encoded.contentType,
        delayMs: input.delayMs ?? null,
        idempotencyKey: input.idempotencyKey ?? (requestKey === null ? null : `${requestKey}/${i}`),
      },
      limits,
    );
  });
}

/** The one message of a raw produce request. */
export function rawMessage(raw: RawMessage, requestKey: string | null, limits: Limits): NewMessage {
  return sized(
    {
      key: raw.key,
      headers: raw.headers,
      contentType: raw.contentType,
      value: raw.body,
      delayMs: null,
      idempotencyKey: requestKey,
    },
    limits,
  );
}
