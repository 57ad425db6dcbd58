import type { NewMessage } from '../persistence/store';
import { GatewayError, invalidField } from './errors';
import type { Limits } from './limits';
import { encodeValue, isJsonContentType, isJsonDocument, messageBytes, type ProduceInput } from './messages';

/** A raw produce: the request body is the message, bytes and content type kept exactly. */
export interface RawMessage {
  body: Buffer;
  contentType: string;
  headers: Record<string, string>;
  key: string | null;
  /** From `Mqgate-Group`: the message group a FIFO queue orders by. */
  group: string | null;
}

/**
 * A message whose content type says JSON must be JSON, so that it can be
 * delivered as JSON. Values produced with valueEncoding 'json' are by
 * construction; text, base64 and raw bodies are checked.
 */
function checkJson(message: Omit<NewMessage, 'bytes'>, pointer: string): void {
  if (isJsonContentType(message.contentType) && !isJsonDocument(message.value)) {
    throw invalidField(pointer, `The content type is ${message.contentType} but the value is not a UTF-8 JSON document.`);
  }
}

export const RESERVED_HEADER_PREFIX = 'mqgate-';

/**
 * Who produces: a client of /v1, or the SQS face, which keeps what SQS says
 * of a message beyond its body and headers (attribute types, deduplication
 * id, trace header) in headers of its own, `mqgate-sqs-…`, and only those.
 */
export type Producer = 'client' | 'sqs';
export const SQS_HEADER_PREFIX = 'mqgate-sqs-';

/**
 * Headers named `mqgate-…` are the gateway's own: a dead letter's source,
 * delivery count and push outcome. Redrive trusts them, so a client may not
 * write them (it could otherwise send messages into queues it has no access to).
 */
function checkHeaders(headers: Record<string, string>, pointer: (name: string) => string, producer: Producer = 'client'): void {
  const own = (name: string): boolean => producer === 'sqs' && name.startsWith(SQS_HEADER_PREFIX);
  const reserved = Object.keys(headers).find((name) => name.toLowerCase().startsWith(RESERVED_HEADER_PREFIX) && !own(name));
  if (reserved !== undefined) {
    throw invalidField(pointer(reserved), `Header names starting with '${RESERVED_HEADER_PREFIX}' are reserved for the gateway.`);
  }
}

/**
 * Sizes are checked here against the server's limit; the store checks the
 * queue's or topic's own. The fields are named one by one: a spread of the
 * message took more time than the rest of the check (0.7 µs a message).
 */
function sized(message: Omit<NewMessage, 'bytes'>, limits: Limits): NewMessage {
  const bytes = messageBytes(message.value, message.key, message.headers);
  if (bytes > limits.maxMessageBytes) {
    throw new GatewayError('message_too_large', `A message is ${bytes} bytes; the server accepts at most ${limits.maxMessageBytes}.`);
  }
  return {
    key: message.key,
    headers: message.headers,
    contentType: message.contentType,
    value: message.value,
    delayMs: message.delayMs,
    idempotencyKey: message.idempotencyKey,
    group: message.group,
    bytes,
  };
}

/**
 * The messages of a JSON produce request, all checked before any is stored.
 * An `Idempotency-Key` header stands for the keys `<header>/0`, `<header>/1`,
 * … of the messages in order; a message's own idempotencyKey wins.
 * `escapeFree`: the request's JSON had no backslash (encodeValue).
 */
export function batchMessages(inputs: ProduceInput[], requestKey: string | null, limits: Limits, producer: Producer = 'client', escapeFree = false): NewMessage[] {
  if (inputs.length > limits.maxBatchMessages) {
    throw new GatewayError(
      'batch_too_large',
      `A batch holds at most ${limits.maxBatchMessages} messages; this one has ${inputs.length}.`,
    );
  }
  return inputs.map((input, i) => {
    const encoded = encodeValue(input, escapeFree);
    if (!encoded.ok) throw invalidField(`/body/messages/${i}/value`, encoded.detail);
    const message = {
      key: input.key ?? null,
      headers: input.headers ?? {},
      value: encoded.value,
      contentType: encoded.contentType,
      delayMs: input.delayMs ?? null,
      idempotencyKey: input.idempotencyKey ?? (requestKey === null ? null : `${requestKey}/${i}`),
      group: input.group ?? null,
    };
    if ((input.valueEncoding ?? 'json') !== 'json') checkJson(message, `/body/messages/${i}/value`);
    checkHeaders(message.headers, (name) => `/body/messages/${i}/headers/${name}`, producer);
    return sized(message, limits);
  });
}

/**
 * The parsed JSON of each message of a JSON produce request whose value is
 * JSON (valueEncoding 'json'), null for the others: what a schema check
 * validates without parsing the message's bytes again. Those bytes are the
 * value's JSON.stringify, which parses back to an equal value.
 */
export function batchDocuments(inputs: ProduceInput[]): Array<{ value: unknown } | null> {
  return inputs.map((input) => ((input.valueEncoding ?? 'json') === 'json' ? { value: input.value } : null));
}

/** The one message of a raw produce request. */
export function rawMessage(raw: RawMessage, requestKey: string | null, limits: Limits, gatewayHeaders: Record<string, string> = {}): NewMessage {
  const message = {
    key: raw.key,
    headers: raw.headers,
    contentType: raw.contentType,
    value: raw.body,
    delayMs: null,
    idempotencyKey: requestKey,
    group: raw.group,
  };
  checkJson(message, '/body');
  checkHeaders(message.headers, (name) => `/headers/mqgate-header-${name}`);
  // The gateway's own headers (a request's reply address) join after the client's are checked, and count toward the size.
  return sized({ ...message, headers: { ...message.headers, ...gatewayHeaders } }, limits);
}
